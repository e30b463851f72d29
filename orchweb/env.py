"""Small parsers for settings read from the environment.

Each raises ImproperlyConfigured naming the variable, so a bad deployment fails at start-up with
a message that says what to fix instead of failing later on the first request.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    """The boolean in environment variable `name` (1/0, true/false, yes/no, on/off), or `default`."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off.")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    """The integer in environment variable `name` (at least `minimum`), or `default`."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """The comma-separated list in environment variable `name`, or `default`."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


_RATE = re.compile(r"([1-9][0-9]*)/(s|sec|second|m|min|minute|h|hour|d|day)")


def env_rate(name: str, default: str) -> str:
    """The request rate in environment variable `name` (`N/second`, `N/minute`, `N/hour` or
    `N/day`, as DRF's throttles read it), or `default`."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if not _RATE.fullmatch(raw.strip()):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a rate; use N/second, N/minute, N/hour or N/day (N >= 1).")
    return raw.strip()


#: seconds a thread waits for a pooled database connection before the query fails
POOL_WAIT_SECONDS = 5


def database_from_url(name: str, url: str, conn_max_age: int = 0, pool_size: int = 0) -> dict[str, Any]:
    """Translate a database URL to a DATABASES entry.

    Accepted: `postgres://user:password@host:port/dbname` (also `postgresql://`) and
    `sqlite:///relative/path.sqlite3` or `sqlite:////absolute/path.sqlite3` (the dj-database-url
    convention: the path is everything after the third slash). PostgreSQL connections come from a
    pool of at most `pool_size` per process (0: none), or are kept `conn_max_age` seconds per thread.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name}={url!r} has an invalid port.") from None
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        if not parts.hostname:
            raise ImproperlyConfigured(f"{name}={url!r} names no host (expected postgres://user@host:port/dbname).")
        if not parts.path.strip("/"):
            raise ImproperlyConfigured(f"{name}={url!r} names no database (expected postgres://user@host:port/dbname).")
        if pool_size and conn_max_age:
            raise ImproperlyConfigured(
                f"CONN_MAX_AGE={conn_max_age} and a connection pool ({pool_size}) exclude each other: "
                "set ORCHWEB_DB_POOL_SIZE=0 to keep connections per thread instead."
            )
        # Under ASGI, Channels runs every consumer's queries on one thread and Django each request
        # on a thread of its own, and both close the connection after the call: without a pool each
        # call opens a connection (a forked PostgreSQL backend, ~4 ms; 3 per websocket handshake,
        # one after another), which made a burst of handshakes outlast Daphne's 5 s timeout.
        # A caller waits at most POOL_WAIT_SECONDS for a connection: while the database is down, a
        # save fails (and is retried) after that instead of the pool's 30 s.
        options = {"pool": {"min_size": 1, "max_size": pool_size, "timeout": POOL_WAIT_SECONDS}} if pool_size else {}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname,
            "PORT": str(port or ""),
            # Under ASGI, sync code runs in worker threads; persistent connections would outlive
            # them, so they stay opt-in (CONN_MAX_AGE) and are health-checked when enabled.
            "CONN_MAX_AGE": conn_max_age,
            # a kept or pooled connection is checked before use (one may have died with the server)
            "CONN_HEALTH_CHECKS": conn_max_age > 0 or pool_size > 0,
            "OPTIONS": options,
        }
    if parts.scheme == "sqlite":
        path = parts.path[1:]
        if not path or parts.netloc:
            raise ImproperlyConfigured(f"{name}={url!r} names no file (expected sqlite:///path/to/db.sqlite3).")
        # IMMEDIATE: a transaction takes the write lock when it begins, so two concurrent writers
        # queue (up to `timeout`) instead of failing with "database is locked" on lock upgrade.
        # WAL: a commit appends to `<file>-wal` and syncs it once, instead of writing, syncing and
        # deleting a rollback journal beside the file (the journal thread's CPU a websocket step
        # -25-50%, docs/performance.md), and readers no longer wait for a writer.
        # synchronous=FULL keeps a committed step durable through a power loss, as before. The
        # database is then the file with its `-wal` and `-shm` beside it: back it up with
        # `sqlite3 db.sqlite3 ".backup copy.sqlite3"` or `manage.py dumpdata`, not a file copy (README).
        options = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL",
        }
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(path), "OPTIONS": options}
    raise ImproperlyConfigured(
        f"{name}={url!r} is not a database URL; expected postgres://user@host:port/dbname or sqlite:///path."
    )


def redis_url(name: str, url: str) -> str:
    """Validate a channels-redis URL (`redis://host:port/db`, `rediss://...` or `unix:///path`)."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name}={url!r} has an invalid port.") from None
    is_unix = parts.scheme == "unix"
    if not (parts.path if is_unix else parts.scheme in {"redis", "rediss"} and parts.hostname):
        raise ImproperlyConfigured(f"{name}={url!r} is not a Redis URL; expected redis://host:port/db.")
    db = parts.path.strip("/")
    if not is_unix and db and not db.isdigit():
        raise ImproperlyConfigured(f"{name}={url!r} names Redis database {db!r}; expected a number.")
    return url


def local_secret_key(path: Path) -> str:
    """A random key generated once and kept beside the project, for the embedded (DEBUG) mode only.

    Several processes may start at once on a fresh clone (test workers, Daphne), so the key is
    written to a private temporary file and linked into place atomically: the first one wins and
    everybody reads a complete file.
    """
    if not path.exists():
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50) + "\n")
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
    key = path.read_text().strip()
    if not key:
        raise ImproperlyConfigured(f"{path} is empty; delete it to generate a new SECRET_KEY.")
    return key
