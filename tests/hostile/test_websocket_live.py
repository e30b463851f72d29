"""Websocket refusals and withdrawn access as a real client sees them, through Daphne.

The close codes of docs/simulation-protocol.md must reach the client: a close before the handshake
is an HTTP 403 for a browser (code 1006), so the server accepts, says why, then closes. Withdrawn
access closes watchers' sockets on every process (the scaled tests: two Daphne processes, Redis).
"""

from __future__ import annotations

import json
from asyncio import timeout as asyncio_timeout
from collections.abc import Iterator
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from designer.models import Membership
from simulator.models import Simulation
from tests.servers import RunningServer, daphne_server, database_url
from tests.simulator.conftest import SimWorld, build_sim_world
from tests.simulator.test_scaled_simulation import frame_of
from tests.test_scaled import two_servers  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sim_world(transactional_db: None, shared_dir: Path) -> SimWorld:
    return build_sim_world(shared_dir)


@pytest.fixture(scope="module")
def one_server(django_db_setup: None) -> Iterator[RunningServer]:
    with daphne_server("ws-codes", {"DATABASE_URL": database_url(connection.settings_dict)}) as server:
        yield server


async def open_socket(server: RunningServer, world: SimWorld, user, path: str) -> ClientConnection:
    headers = dict((k.decode(), v.decode()) for k, v in await database_sync_to_async(world.headers)(user))
    cookie = {"Cookie": headers["cookie"]} if "cookie" in headers else {}
    return await connect(f"{server.ws_url}{path}", origin=server.url, additional_headers=cookie, open_timeout=20)


async def close_code(ws: ClientConnection) -> tuple[list[dict], int]:
    """The frames until the server closes the socket, and its close code."""
    frames = []
    async with asyncio_timeout(20):
        try:
            while True:
                frames.append(json.loads(await ws.recv()))
        except ConnectionClosed as closed:
            return frames, closed.rcvd.code


async def test_the_documented_close_codes_reach_a_real_client(sim_world, one_server):
    simulation = await database_sync_to_async(Simulation.objects.create)(
        owner=sim_world.owner, version=sim_world.version
    )

    anonymous = await close_code(await open_socket(one_server, sim_world, None, "/ws/simulations/"))
    missing = await close_code(await open_socket(one_server, sim_world, sim_world.owner, "/ws/simulations/999999/"))
    unshared = await close_code(
        await open_socket(one_server, sim_world, sim_world.teammate, f"/ws/simulations/{simulation.pk}/")
    )

    assert [code for _, code in (anonymous, missing, unshared)] == [4401, 4404, 4403]
    assert anonymous[0][-1] == {"type": "error", "message": "log in to use simulations", "fatal": True, "code": 4401}


async def shared_and_watched(
    owner_server: RunningServer, watcher_server: RunningServer, world: SimWorld
) -> tuple[ClientConnection, ClientConnection]:
    owner = await open_socket(owner_server, world, world.owner, "/ws/simulations/")
    await owner.send(json.dumps({"action": "start", "version": world.version.pk}))
    simulation_id = (await frame_of(owner, "started"))["simulation"]
    await owner.send(json.dumps({"action": "share", "shared": True, "id": "share"}))
    await frame_of(owner, "shared", reply_to="share")
    watcher = await open_socket(watcher_server, world, world.teammate, f"/ws/simulations/{simulation_id}/")
    await frame_of(watcher, "snapshot")
    return owner, watcher


@pytest.mark.scaled
async def test_unsharing_on_one_process_closes_a_watcher_on_the_other(sim_world, two_servers):  # noqa: F811
    first, second = two_servers
    owner, watcher = await shared_and_watched(first, second, sim_world)

    await owner.send(json.dumps({"action": "share", "shared": False, "id": "unshare"}))
    frames, code = await close_code(watcher)

    assert code == 4403 and "withdrawn" in frames[-1]["message"]
    await owner.close()


@pytest.mark.scaled
async def test_removing_a_member_closes_their_socket_on_every_process(sim_world, two_servers):  # noqa: F811
    first, second = two_servers
    owner, watcher = await shared_and_watched(first, second, sim_world)
    other_owner, other_watcher = await shared_and_watched(second, first, sim_world)

    await database_sync_to_async(Membership.objects.filter(user=sim_world.teammate).delete)()

    assert (await close_code(watcher))[1] == 4404
    assert (await close_code(other_watcher))[1] == 4404
    await owner.close()
    await other_owner.close()
