"""Settings for the test suite: the project's settings plus a fast password hasher.

Also used by the Daphne processes the tests start (live server, scaled test), so a user created
in a test can log in through them.
"""

import os
import uuid

from orchweb.settings import *  # noqa: F403

# Hashing with the default PBKDF2 takes ~0.5 s per password on the CI machine; tests create many.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Login failure counters live in the cache, which is Redis in a scaled run and outlives it: each
# test run (and the servers it starts, which inherit the variable) counts in a namespace of its own.
os.environ.setdefault("ORCHWEB_TEST_CACHE_PREFIX", f"orchweb-test-{uuid.uuid4().hex[:12]}")
CACHES["default"]["KEY_PREFIX"] = os.environ["ORCHWEB_TEST_CACHE_PREFIX"]  # noqa: F405
