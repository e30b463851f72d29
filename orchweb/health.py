"""Health and readiness checks behind /healthz and /readyz.

Liveness (/healthz): cheap checks a busy process can still answer, each None when fine or a short
reason when not. The database check runs on a thread of its own, so it never queues behind the
request threads or the simulation pool of a busy process, and answers only the error's class:
driver messages name hosts and ports, which a public endpoint must not reveal (they are logged).

Readiness (/readyz): may a load balancer send more work here? Not when the simulation pool
already has READY_MAX_BACKLOG_PER_WORKER jobs queued per worker (settings), or when liveness fails.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from simulator.sessions import pool_load

logger = logging.getLogger("orchweb.health")

# A check that takes longer than this is as good as down for a load balancer.
CHECK_TIMEOUT_SECONDS = 3.0

# One thread for the database check: a hung database ties up this thread only, and later checks
# time out behind it (an honest "down") instead of piling up threads.
_DATABASE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="healthz")


def _query_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            if cursor.fetchone() != (1,):
                raise RuntimeError("SELECT 1 returned something else")
    finally:
        connection.close()  # this thread's own connection: never left open between checks


def _reason(check: str, error: BaseException) -> str:
    logger.warning("health check %s failed: %s: %s", check, type(error).__name__, error)
    return f"{type(error).__name__}: unreachable"


async def check_database() -> str | None:
    """Run `SELECT 1` on the default database."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):  # not wait_for: see settings.ASYNC_REDIS_OPTIONS
            await loop.run_in_executor(_DATABASE_THREAD, _query_database)
    except TimeoutError:
        return "timed out"
    except Exception as error:  # any failure is a health answer, not a server error
        return _reason("database", error)
    return None


async def check_channel_layer() -> str | None:
    """Send a message to a fresh channel of the configured layer and receive it back."""
    layer = get_channel_layer()
    if layer is None:
        return "no channel layer configured"
    try:
        channel = await layer.new_channel("healthz.")
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await layer.send(channel, {"type": "healthz.ping"})
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            message = await layer.receive(channel)
    except TimeoutError:
        return "timed out"
    except Exception as error:
        return _reason("channel_layer", error)
    if message.get("type") != "healthz.ping":
        return "received another message than the one sent"
    return None


CHECKS = {"database": check_database, "channel_layer": check_channel_layer}


async def run_checks() -> dict[str, str | None]:
    """Run every check concurrently; map check name to its failure reason (None when healthy)."""
    names = list(CHECKS)
    results = await asyncio.gather(*(CHECKS[name]() for name in names))
    return dict(zip(names, results, strict=True))


def pool_readiness() -> tuple[str | None, dict[str, int]]:
    """(None or why not ready, figures) of the simulation pool of this process."""
    workers, pending = pool_load()
    limit = workers * int(settings.READY_MAX_BACKLOG_PER_WORKER)
    queued = max(0, pending - workers)
    figures = {"workers": workers, "busy": min(pending, workers), "queued": queued, "max_queued": limit}
    return (f"{queued} simulation jobs queued (limit {limit})" if queued > limit else None), figures
