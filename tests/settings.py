"""Settings for the test suite: the project's settings plus a fast password hasher.

Also used by the Daphne processes the tests start (live server, scaled test), so a user created
in a test can log in through them.
"""

import os
import uuid

from orchweb.settings import *  # noqa: F403

# Hashing with the default PBKDF2 takes ~0.5 s per password on the CI machine; tests create many.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Redis outlives a scaled run and both xdist workers share it, while each worker has a database
# of its own (with the same user names): login failure counters and group messages (a ping
# broadcast, an access change) of one worker's tests must not reach the other's. Each run and
# worker, and the Daphne and Celery processes its tests start (they inherit the variables), use a
# namespace of their own for cache keys and channel names.
os.environ.setdefault("ORCHWEB_TEST_CACHE_PREFIX", f"orchweb-test-{uuid.uuid4().hex[:12]}")
TEST_NAMESPACE = f"{os.environ['ORCHWEB_TEST_CACHE_PREFIX']}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
CACHES["default"]["KEY_PREFIX"] = TEST_NAMESPACE  # noqa: F405
if CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer":  # noqa: F405
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"asgi-{TEST_NAMESPACE}"  # noqa: F405

# The suite makes hundreds of requests per user in a minute (schemathesis, the permission matrix,
# browser tests): rates no test reaches, except where a test sets its own (override_settings, or
# the ORCHWEB_RATE_* environment of the servers it starts: tests/hostile/test_rate_limits.py).
for _scope, (_variable, _default) in THROTTLE_RATE_VARIABLES.items():  # noqa: F405
    if _variable not in os.environ:
        REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][_scope] = "1000000/minute"  # noqa: F405

# Server layouts of new versions (designer/serverlayouts.py) run in a background thread and post
# font tables from every diagram page: off for the suite, on where a test starts its own server
# with ORCHWEB_DIAGRAM_SERVER_LAYOUTS=1 (tests/e2e/test_server_layout.py) or overrides it.
DIAGRAM_SERVER_LAYOUTS = env_bool("ORCHWEB_DIAGRAM_SERVER_LAYOUTS", False)  # noqa: F405
