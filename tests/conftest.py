"""Fixtures shared by every test package.

`shared_dir` locates the read-only test inputs (W3C suite, ORS samples, bench charts) in
ORCHWEB_SHARED or ../shared. In CI (CI=true) their absence is a failure, never a skip.

The SQLite test database is a file in this run's temporary directory (not the in-memory default)
so that server processes started by the tests (browser tests' live server, the scaled test) can
share it; each run and each xdist worker gets its own file, so concurrent runs never collide.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from channels.layers import channel_layers

ROOT = Path(__file__).resolve().parent.parent


def after_loading_the_asgi_application(code: str) -> str:
    """What `code` prints in a fresh interpreter that imported orchweb.asgi first (the shims and
    settings the ASGI application applies when Daphne loads it)."""
    done = subprocess.run(
        [sys.executable, "-c", "import orchweb.asgi\n" + code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def in_ci() -> bool:
    """True when running in CI (CI=true), where a missing service or input is a failure."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def skip_or_fail(message: str) -> None:
    """Skip on a developer machine, fail in CI: CI must never pass by skipping."""
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def locate_shared() -> Path | None:
    candidate = Path(os.environ.get("ORCHWEB_SHARED", ROOT.parent / "shared"))
    return candidate if (candidate / "w3c-scxml" / "manifest.json").exists() else None


def require_shared() -> Path:
    """The shared folder, or fail (CI) / skip (a developer machine without it)."""
    found = locate_shared()
    if found is not None:
        return found
    skip_or_fail("shared test data not found: set ORCHWEB_SHARED or place it at ../shared")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return require_shared()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Put the SQLite test database in a file of this run (see the module docstring)."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> Iterator[None]:
    """pytest-django's, with every connection this process's threads keep closed before the test
    databases are dropped: DROP DATABASE waits 5 s for another session and then fails ("is being
    accessed by other users"; pytest.ini makes that an error).

    - The journal writer's thread holds a connection checked out of Django's pool until it has
      been idle for 2 s (longer while writes keep coming).
    - asgiref's one thread for thread-sensitive calls made from an event loop (Channels'
      `database_sync_to_async` from async tests) keeps its last connection: Channels' test
      communicators switch off the `close_old_connections` around those calls that a server runs
      (channels.testing.ApplicationCommunicator), so that a test's transaction survives them.
    """
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    from simulator.persistence import journal

    journal().stop()
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


def pytest_report_header(config: pytest.Config) -> str:
    import simulator.ors  # noqa: F401  (decides on the ORS layer's build)
    from simulator.scxml import compiled

    return (
        f"engine: {compiled.state} (mypyc build of simulator.scxml: {', '.join(compiled.MODULES)}); "
        f"ORS layer: {compiled.states['simulator.ors']}"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave `scaled` tests out of a fully embedded run (no DATABASE_URL/REDIS_URL), and
    `embedded` tests (of the SQLite database) out of a run on another database.

    Scaled tests need Redis shared between processes, which the embedded mode by definition lacks;
    they are deselected (not skipped), and .ci/run's second pass runs them. A half-configured scaled
    run (one of the two variables) keeps them, so they fail loudly instead of passing by omission.
    """
    from django.conf import settings

    left_out: set[str] = set()
    if not (os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL")):
        left_out.add("scaled")
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        left_out.add("embedded")
    kept: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        (deselected if any(item.get_closest_marker(name) for name in left_out) else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> None:
    """Each test gets its own channel layer instance. pytest-asyncio gives every test an event
    loop of its own, and channels-redis ties a layer's receive lock to the loop that first
    received: a consumer still receiving when its test's loop ended would make every later test
    of this process fail with "bound to a different event loop"."""
    channel_layers.backends.clear()
