"""The embedded SQLite database: the connection of Channels' database thread is kept.

With CONN_MAX_AGE=0 (the default) Django closes a thread's connection at the end of each request,
and Channels' `database_sync_to_async` before and after each call. That is right for requests:
under ASGI each one runs on a thread of its own, which a kept connection would outlive (closed only
when the garbage collector finds it, its files open meanwhile). But Channels runs every consumer's
database call on one thread that lives as long as the process, and there each call opened a SQLite
connection and closed it again: the file, its `-wal` and `-shm` opened and locked, the pragmas run,
the schema parsed (two a websocket handshake, ~25% of its instructions; docs/performance.md,
helper "handshake2"). That thread's SQLite connection is kept: SQLite has no server that could drop
it and, in autocommit, a kept connection holds no lock and no snapshot between calls. PostgreSQL's
connections are left to the pool (orchweb.env), where a kept one would be checked out for good.
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created

_thread = threading.local()


def _keep(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite" and getattr(_thread, "keeps", False):
        connection.close_at = None  # Django's mark of a connection without a maximum age


def _keep_on_this_thread() -> None:
    _thread.keeps = True
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            _keep(None, connection)


def keep_connections(executor: Executor) -> None:
    """Keep the SQLite connections of `executor`'s one thread (once per process, at start-up)."""
    connection_created.connect(_keep, dispatch_uid="orchweb.sqlite.keep")
    executor.submit(_keep_on_this_thread).result()
