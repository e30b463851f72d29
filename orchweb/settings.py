"""orchweb settings: one file, driven by the environment, runnable with no configuration.

Embedded default (nothing set): SQLite beside the project, in-memory channel layer, DEBUG on and a
generated SECRET_KEY kept in `.secret_key`. Scaled: DATABASE_URL (PostgreSQL), REDIS_URL
(channels-redis), ALLOWED_HOSTS, SECRET_KEY, DEBUG=0. Bad values raise ImproperlyConfigured naming
the variable (see orchweb/env.py).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from designer.authoring.edits import STATE_KINDS
from designer.changes import FILE_CHANGES
from orchweb.env import database_from_url, env_bool, env_int, env_list, env_rate, local_secret_key, redis_url
from simulator.batchstatus import BatchStatus

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0.")
    SECRET_KEY = local_secret_key(BASE_DIR / ".secret_key")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served locally (no CDN)
    "designer",
    "simulator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "orchweb.security.ContentSecurityPolicyMiddleware",
    "orchweb.errors.ErrorPagesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "orchweb.throttling.RequestRateMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "orchweb.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "designer.context_processors.font_report",
            ],
        },
    },
]

WSGI_APPLICATION = None
ASGI_APPLICATION = "orchweb.asgi.application"

# Embedded: a SQLite file beside the project. Scaled: DATABASE_URL (PostgreSQL).
DATABASES = {
    "default": database_from_url(
        "DATABASE_URL",
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 0),
        pool_size=env_int("ORCHWEB_DB_POOL_SIZE", 0 if env_int("CONN_MAX_AGE", 0) else 10),
    )
}

#: How the asyncio Redis clients (the channel layer's, simulator.quotas') connect. No
#: socket_timeout (redis-py's default is 5 s): with one, redis-py bounds every write with
#: asyncio.wait_for, which on Python 3.11 loses a cancellation arriving as the write completes
#: (CPython gh-86296, fixed in 3.12). A consumer's cancelled receive then went on popping its
#: channel for ever, and Daphne's shutdown (and a test loop's close) waited for it
#: (tests/test_channel_layer.py). A dead Redis is told by TCP instead: keepalive probes after 10 s
#: idle, every 5 s, 3 of them; unacknowledged writes fail after 30 s (options this platform lacks
#: are left out). The channel layer's reads return within its 5 s blocking pops otherwise.
ASYNC_REDIS_OPTIONS = {
    "socket_timeout": None,
    "socket_connect_timeout": 10,
    "socket_keepalive": True,
    "socket_keepalive_options": {
        getattr(socket, name): value
        for name, value in (
            ("TCP_KEEPIDLE", 10),
            ("TCP_KEEPINTVL", 5),
            ("TCP_KEEPCNT", 3),
            ("TCP_USER_TIMEOUT", 30_000),
        )
        if hasattr(socket, name)
    },
}

# Embedded: one process, so the in-memory layer is enough. Scaled: Redis joins the processes.
if os.environ.get("REDIS_URL"):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8's asyncio pool holds at most 100 connections and then fails ("Too many
            # connections") instead of waiting: a burst of 200 handshakes' group_add/group_discard
            # on one process failed.
            "CONFIG": {
                "hosts": [
                    {
                        "address": redis_url("REDIS_URL", os.environ["REDIS_URL"]),
                        **ASYNC_REDIS_OPTIONS,
                        "max_connections": env_int("ORCHWEB_REDIS_MAX_CONNECTIONS", 1000, minimum=10),
                    }
                ]
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Login: the model backend behind a failed-login rate limit (orchweb/ratelimit.py, README).
AUTHENTICATION_BACKENDS = ["orchweb.ratelimit.RateLimitedModelBackend"]
LOGIN_FAILURES_PER_ACCOUNT = env_int("ORCHWEB_LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=1)
LOGIN_FAILURES_PER_ADDRESS = env_int("ORCHWEB_LOGIN_FAILURES_PER_ADDRESS", 30, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("ORCHWEB_LOGIN_LOCKOUT_SECONDS", 15 * 60, minimum=1)

# The cache holds the login counters and request-rate windows (and cached graphs): shared through
# Redis when there is one, so every process sees the same counts; per process otherwise (embedded
# mode is one process).
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "orchweb",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/projects/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves static files in both modes from the same process (no proxy needed); in DEBUG it
# reads the finders directly (autorefresh), otherwise the collected, compressed files.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

#: scope -> (environment variable, default rate): every request of a user (API and pages), the
#: expensive work among them, log-in attempts per client address (README, "Configuration").
THROTTLE_RATE_VARIABLES = {
    "requests": ("ORCHWEB_RATE_REQUESTS", "600/minute"),
    "work": ("ORCHWEB_RATE_WORK", "60/minute"),
    "login": ("ORCHWEB_RATE_LOGIN", "20/minute"),
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "designer.openapi.AutoSchema",
    # Request rates (orchweb/throttling.py): per user, or per client address when anonymous.
    "DEFAULT_THROTTLE_CLASSES": ["orchweb.throttling.RequestRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        scope: env_rate(variable, default) for scope, (variable, default) in THROTTLE_RATE_VARIABLES.items()
    },
    # The client address is REMOTE_ADDR (Daphne --proxy-headers sets it from the proxy's
    # X-Forwarded-For); a client's own X-Forwarded-For must never pick its rate-limit key.
    "NUM_PROXIES": 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "orchweb API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get their own components (`...Request`), so input-only constraints such as
    # "not blank" (minLength) are stated for requests and not claimed of responses.
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # The add-state and set-kind operations share one choice set: one named enum, not a hashed name.
    "ENUM_NAME_OVERRIDES": {
        "StateKindEnum": list(STATE_KINDS),
        "FileChangeStatusEnum": list(FILE_CHANGES),
        "BatchStatusEnum": BatchStatus.choices,
    },
}

# Upload and simulation limits (bytes / seconds); see README.
MAX_UPLOAD_BYTES = env_int("ORCHWEB_MAX_UPLOAD_BYTES", 20 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES
JS_MEMORY_LIMIT = env_int("ORCHWEB_JS_MEMORY_MB", 64, minimum=8) * 1024 * 1024
JS_TIME_LIMIT_MS = env_int("ORCHWEB_JS_TIME_LIMIT_MS", 1000, minimum=10)
SIMULATION_WORKERS = env_int("ORCHWEB_SIMULATION_WORKERS", 4, minimum=1)
# The one CPU a Daphne process's threads run on: an index into the CPUs it may use (modulo their
# number; `orchweb.serve --pin` gives the k-th process k). Unset: any of them (orchweb/affinity.py).
PROCESS_CPU = env_int("ORCHWEB_CPU", 0) if os.environ.get("ORCHWEB_CPU", "").strip() else None
# Jobs of one user running at once in that pool (0: half the workers); see simulator/scheduling.py.
SIMULATION_WORKERS_PER_USER = env_int("ORCHWEB_SIM_WORKERS_PER_USER", 0)
# Bounds of one live simulation (docs/simulation-protocol.md, "Limits"): wall-clock time of one
# operation, trace records kept, operations in its inputs log.
SIMULATION_STEP_BUDGET_MS = env_int("ORCHWEB_SIM_STEP_BUDGET_MS", 5_000, minimum=10)
SIMULATION_MAX_TRACE_RECORDS = env_int("ORCHWEB_SIM_MAX_TRACE_RECORDS", 20_000, minimum=100)
SIMULATION_MAX_OPERATIONS = env_int("ORCHWEB_SIM_MAX_OPERATIONS", 200_000, minimum=10)
# Stored simulations (simulator/retention.py): at most this many per user; those not updated for
# this many days are deleted (0: never) by `manage.py expire_simulations` and, at most once an
# hour, when a simulation list is shown or a simulation created.
SIMULATION_MAX_STORED_PER_USER = env_int("ORCHWEB_SIM_MAX_STORED_PER_USER", 500, minimum=1)
SIMULATION_EXPIRE_DAYS = env_int("ORCHWEB_SIM_EXPIRE_DAYS", 90)

# Batch simulations: "local" (this process or a local process pool) or "celery" (chunks run by
# `celery -A orchweb worker` processes on any machine sharing the broker and REDIS_URL).
BATCH_EXECUTOR = os.environ.get("ORCHWEB_BATCH_EXECUTOR", "local")
if BATCH_EXECUTOR not in ("local", "celery"):
    raise ImproperlyConfigured("ORCHWEB_BATCH_EXECUTOR must be 'local' or 'celery'")
# New versions' diagrams laid out by the server for the font tables its users' browsers reported
# (designer/serverlayouts.py: a Celery task when BATCH_EXECUTOR is "celery", else a thread).
DIAGRAM_SERVER_LAYOUTS = env_bool("ORCHWEB_DIAGRAM_SERVER_LAYOUTS", True)
# Batch jobs of the web app (simulator.batches, docs/scenarios.md "Batches in the browser").
BATCH_MAX_COUNT = env_int("ORCHWEB_BATCH_MAX_COUNT", 1_000_000, minimum=1)
BATCH_MAX_CONCURRENT_PER_USER = env_int("ORCHWEB_BATCH_MAX_CONCURRENT_PER_USER", 2, minimum=1)
# Runs one web process drives at a time (more wait, queued); local pool processes per run.
BATCH_RUNNING_PER_PROCESS = env_int("ORCHWEB_BATCH_RUNNING_PER_PROCESS", 2, minimum=1)
BATCH_POOL_WORKERS = env_int("ORCHWEB_BATCH_POOL_WORKERS", min(2, os.cpu_count() or 1), minimum=1)
# Celery worker processes a batch plans its chunks for (a few chunks in flight per worker).
BATCH_CELERY_WORKERS = env_int("ORCHWEB_BATCH_CELERY_WORKERS", 2, minimum=1)
# The driving process refreshes its runs' heartbeat this often; a run whose heartbeat is older
# than 6 of these is marked interrupted (its process died).
BATCH_HEARTBEAT_SECONDS = env_int("ORCHWEB_BATCH_HEARTBEAT_SECONDS", 10, minimum=1)
CELERY_BROKER_URL = os.environ.get("ORCHWEB_CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or "memory://"
CELERY_RESULT_BACKEND = os.environ.get("REDIS_URL") or "cache+memory://"
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("ORCHWEB_CELERY_QUEUE", "orchweb")
# A chunk is acknowledged only once it ran, so a worker that dies mid-chunk loses nothing: the
# broker hands the chunk to another worker, which computes the same result (seeded) under the
# same task id.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Websocket limits (docs/simulation-protocol.md, "Limits"): the largest text frame read (checked
# before it is parsed), and per user and process the simulations open at once and the actions
# per second (a burst of twice as many is allowed).
WS_MAX_MESSAGE_BYTES = env_int("ORCHWEB_WS_MAX_MESSAGE_BYTES", 1024 * 1024, minimum=1024)
SIMULATION_MAX_OPEN_PER_USER = env_int("ORCHWEB_SIM_MAX_OPEN_PER_USER", 10, minimum=1)
SIMULATION_STEPS_PER_SECOND = env_int("ORCHWEB_SIM_STEPS_PER_SECOND", 100, minimum=1)

# Every request body (JSON, forms, uploads) is refused past this size before it is read or parsed
# (orchweb/limits.py): the upload limit plus room for the form around the file.
MAX_REQUEST_BYTES = env_int("ORCHWEB_MAX_REQUEST_BYTES", MAX_UPLOAD_BYTES + 1024 * 1024, minimum=1024)

# /readyz answers 503 (send work elsewhere) past this many queued simulation jobs per worker.
READY_MAX_BACKLOG_PER_WORKER = env_int("ORCHWEB_READY_MAX_BACKLOG_PER_WORKER", 4)

# HTTPS (README, "Running scaled"): on by default when DEBUG=0; ORCHWEB_HTTPS=0 serves plain HTTP.
# It turns on the redirect to https (health endpoints exempt: load balancers probe over HTTP),
# secure session and CSRF cookies and HSTS. Daphne --proxy-headers reads X-Forwarded-Proto.
HTTPS = env_bool("ORCHWEB_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("ORCHWEB_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("ORCHWEB_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("ORCHWEB_HSTS_PRELOAD", False)
# Preloading commits the domain in browsers' built-in lists for months: opt-in, not a warning.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Content-Security-Policy (orchweb/security.py): no inline script anywhere. On by default when
# DEBUG=0; off in development, where browser automation evaluates strings in the page.
CONTENT_SECURITY_POLICY = env_bool("ORCHWEB_CSP", not DEBUG)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
