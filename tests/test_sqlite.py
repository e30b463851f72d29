"""orchweb.sqlite: the SQLite connection of Channels' database thread is kept, no other."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from orchweb.sqlite import keep_connections

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]


def _maximum_age_left() -> float | None:
    """Open this thread's connection; the time until Django closes it (None: never)."""
    connection.ensure_connection()
    return connection.close_at


def test_the_executors_thread_keeps_its_connection_and_others_do_not() -> None:
    kept, other = ThreadPoolExecutor(max_workers=1), ThreadPoolExecutor(max_workers=1)
    try:
        keep_connections(kept)

        assert kept.submit(_maximum_age_left).result() is None
        assert other.submit(_maximum_age_left).result() is not None  # CONN_MAX_AGE=0: the next check closes it
    finally:
        for executor in (kept, other):
            executor.submit(lambda: connection.close()).result()
            executor.shutdown()
