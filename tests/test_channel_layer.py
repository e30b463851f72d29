"""The Redis channel layer as configured: a cancelled receive ends.

Channels cancels a consumer's pending `receive()` when the socket closes, Daphne cancels every
application on SIGTERM, and a test's event loop cancels what is left when it closes. On Python
3.11, `asyncio.wait_for` returns the result instead of raising when the cancellation arrives as the
awaited operation completes (CPython gh-86296, fixed in 3.12), and redis-py wraps every write in it
when the connection has a `socket_timeout`: the cancelled receive then went on popping its channel
for ever, and whatever waited for it (the shutdown, the loop's close) waited with it. The scaled
CI hung on it now and then (settings.CHANNEL_LAYERS says how the layer avoids it).

Runs in the scaled pass (REDIS_URL set); an embedded run deselects it (tests/conftest.py).
"""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import channel_layers

pytestmark = pytest.mark.scaled

#: cancellations at this many points of a receive's first commands (connecting included)
POINTS = 200


async def test_a_cancelled_receive_ends_wherever_the_cancellation_lands() -> None:
    went_on = []
    for point in range(POINTS):
        layer = channel_layers.make_backend("default")  # a new connection: its handshake's writes too
        receive = asyncio.ensure_future(layer.receive(await layer.new_channel()))
        # loop iterations, then (from 100 on) short real waits: the cancellation lands before,
        # during and after each write and read of the connection's first commands
        for _ in range(point % 100):
            await asyncio.sleep(0)
        if point >= 100:
            await asyncio.sleep((point - 100) * 0.00005)
        receive.cancel()
        done, _ = await asyncio.wait([receive], timeout=2)
        if not done:
            went_on.append(point)
            receive.cancel()
            await asyncio.wait([receive], timeout=10)
        await layer.close_pools()
    assert not went_on, f"cancelled receives went on at points {went_on}"
