"""Health checks behind /healthz: each answers None when fine, or a short reason when not."""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection

# A check that takes longer than this is as good as down for a load balancer.
CHECK_TIMEOUT_SECONDS = 3.0


def _query_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("SELECT 1 returned something else")


async def check_database() -> str | None:
    """Run `SELECT 1` on the default database (in Django's thread, as the ORM requires)."""
    try:
        await asyncio.wait_for(sync_to_async(_query_database)(), CHECK_TIMEOUT_SECONDS)
    except Exception as error:  # any failure is a health answer, not a server error
        return f"{type(error).__name__}: {error}"
    return None


async def check_channel_layer() -> str | None:
    """Send a message to a fresh channel of the configured layer and receive it back."""
    layer = get_channel_layer()
    if layer is None:
        return "no channel layer configured"
    try:
        channel = await layer.new_channel("healthz.")
        await asyncio.wait_for(layer.send(channel, {"type": "healthz.ping"}), CHECK_TIMEOUT_SECONDS)
        message = await asyncio.wait_for(layer.receive(channel), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return "timed out"
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    if message.get("type") != "healthz.ping":
        return f"received {message!r} instead of the message sent"
    return None


CHECKS = {"database": check_database, "channel_layer": check_channel_layer}


async def run_checks() -> dict[str, str | None]:
    """Run every check concurrently; map check name to its failure reason (None when healthy)."""
    names = list(CHECKS)
    results = await asyncio.gather(*(CHECKS[name]() for name in names))
    return dict(zip(names, results, strict=True))
