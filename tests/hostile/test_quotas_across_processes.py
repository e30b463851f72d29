"""Per-user websocket quotas hold across processes (issue 11): with Redis, the simulations a
user has open and their actions per second are counted once for all Daphne processes, not once
per process (two real Daphne processes on the test database and Redis)."""

from __future__ import annotations

import json
import os
from asyncio import timeout as asyncio_timeout
from collections.abc import Iterator
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from websockets.asyncio.client import ClientConnection

from simulator.models import Simulation
from tests.hostile.test_websocket_live import close_code, open_socket
from tests.servers import RunningServer, daphne_server, database_url
from tests.simulator.conftest import SimWorld, build_sim_world

pytestmark = [pytest.mark.scaled, pytest.mark.django_db(transaction=True)]

RATE = 3  # actions per second; a burst of twice as many


@pytest.fixture(scope="module")
def two_servers(django_db_setup: None) -> Iterator[tuple[RunningServer, RunningServer]]:
    """Two Daphne processes with a quota of one open simulation and RATE actions per second."""
    env = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": os.environ["REDIS_URL"],
        "ORCHWEB_SIM_MAX_OPEN_PER_USER": "1",
        "ORCHWEB_SIM_STEPS_PER_SECOND": str(RATE),
    }
    with daphne_server("quota-a", env) as first, daphne_server("quota-b", env) as second:
        yield first, second


@pytest.fixture
def sim_world(transactional_db: None, shared_dir: Path) -> SimWorld:
    return build_sim_world(shared_dir)


async def opened(server: RunningServer, world: SimWorld, simulation_id: int) -> ClientConnection:
    ws = await open_socket(server, world, world.owner, f"/ws/simulations/{simulation_id}/")
    async with asyncio_timeout(20):
        while json.loads(await ws.recv())["type"] != "snapshot":
            pass
    return ws


async def answers(ws: ClientConnection, count: int) -> list[dict]:
    """The replies (snapshot or error) to `count` snapshot actions sent at once."""
    for n in range(count):
        await ws.send(json.dumps({"action": "snapshot", "id": n}))
    replies: dict[int, dict] = {}
    async with asyncio_timeout(20):
        while len(replies) < count:
            frame = json.loads(await ws.recv())
            if frame.get("reply_to") in range(count) and frame["type"] in ("snapshot", "error"):
                replies[frame["reply_to"]] = frame
    return [replies[n] for n in range(count)]


async def test_a_second_simulation_on_another_process_is_refused_over_the_quota(sim_world, two_servers):
    first, second = two_servers
    one, other = [
        await database_sync_to_async(Simulation.objects.create)(owner=sim_world.owner, version=sim_world.version)
        for _ in range(2)
    ]
    ws = await opened(first, sim_world, one.pk)

    refused = await open_socket(second, sim_world, sim_world.owner, f"/ws/simulations/{other.pk}/")
    frames, code = await close_code(refused)
    same = await opened(second, sim_world, one.pk)  # the same simulation in another tab counts once

    assert code == 4429 and "the limit is 1" in frames[-1]["message"]
    await ws.close()
    await same.close()
    for _ in range(50):  # until the first process has released the closed sockets
        attempt = await open_socket(second, sim_world, sim_world.owner, f"/ws/simulations/{other.pk}/")
        frame = json.loads(await attempt.recv())
        await attempt.close()
        if frame["type"] == "hello":
            break
    assert frame["type"] == "hello"


async def test_the_rate_of_actions_is_shared_by_the_users_sockets_on_both_processes(sim_world, two_servers):
    first, second = two_servers
    simulation = await database_sync_to_async(Simulation.objects.create)(
        owner=sim_world.owner, version=sim_world.version
    )
    here, there = await opened(first, sim_world, simulation.pk), await opened(second, sim_world, simulation.pk)

    replies = await answers(here, 2 * RATE + 2) + await answers(there, 2 * RATE + 2)

    applied = [r for r in replies if r["type"] == "snapshot"]
    refused = [r for r in replies if r["type"] == "error"]
    # per process, each socket would get its own burst of 2 x RATE (12 in all); shared, one burst
    # for both, plus what one more second allows if the flood crossed into the next ones
    assert len(applied) <= 3 * RATE, [r["type"] for r in replies]
    assert refused and "too many actions: at most 3 per second" in refused[0]["message"]
    await here.close()
    await there.close()
