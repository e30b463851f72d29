"""Settings for the test suite: the project's settings plus a fast password hasher.

Also used by the Daphne processes the tests start (live server, scaled test), so a user created
in a test can log in through them.
"""

from orchweb.settings import *  # noqa: F403

# Hashing with the default PBKDF2 takes ~0.5 s per password on the CI machine; tests create many.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
