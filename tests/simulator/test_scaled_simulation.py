"""Scaled mode: a simulation lives in the process holding its websocket, yet any process can serve it.

Two Daphne processes share PostgreSQL and Redis (the `two_servers` fixture of tests/test_scaled.py):
a teammate connected to one process watches a shared simulation driven through the other, and a
simulation left on one process resumes on the other by replay.
"""

from __future__ import annotations

import json
from asyncio import timeout as asyncio_timeout

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import ClientConnection, connect

from simulator.frames import ClientState
from tests.servers import RunningServer
from tests.test_scaled import two_servers  # noqa: F401  (fixture)

from .conftest import SimWorld

pytestmark = [pytest.mark.scaled, pytest.mark.django_db(transaction=True)]


async def open_socket(server: RunningServer, world: SimWorld, user, path: str) -> ClientConnection:
    headers = dict((k.decode(), v.decode()) for k, v in await database_sync_to_async(world.headers)(user))
    return await connect(
        f"{server.ws_url}{path}",
        origin=server.url,
        additional_headers={"Cookie": headers["cookie"]},
        open_timeout=20,
        max_size=None,
    )


#: the state each socket's client holds, rebuilt from its snapshot and delta frames
STATES: dict[int, ClientState] = {}


async def frame_of(ws: ClientConnection, type_: str, **fields) -> dict:
    """The next frame of `type_` ("state": a snapshot or a delta, returned as the whole state
    after it) whose fields equal `fields`."""
    state = STATES.setdefault(id(ws), ClientState())
    types = ("snapshot", "delta") if type_ == "state" else (type_,)
    async with asyncio_timeout(20):
        while True:
            frame = json.loads(await ws.recv())
            assert state.apply(frame), frame
            if type_ == "state" and frame["type"] in types:
                frame = {**state.snapshot(), "type": frame["type"], "reply_to": frame.get("reply_to")}
            if frame["type"] in types and all(frame.get(k) == v for k, v in fields.items()):
                return frame


async def step(ws: ClientConnection, message_id: int) -> dict:
    await ws.send(json.dumps({"action": "step", "unit": "macrostep", "id": message_id}))
    return await frame_of(ws, "state", reply_to=message_id)


async def start(server: RunningServer, world: SimWorld) -> tuple[ClientConnection, int]:
    ws = await open_socket(server, world, world.owner, "/ws/simulations/")
    await ws.send(json.dumps({"action": "start", "version": world.version.pk, "id": "s"}))
    started = await frame_of(ws, "started")
    await frame_of(ws, "snapshot")
    return ws, started["simulation"]


async def test_a_teammate_on_one_process_watches_a_simulation_driven_through_the_other(sim_world, two_servers):  # noqa: F811
    first, second = two_servers
    owner, simulation_id = await start(first, sim_world)
    await owner.send(json.dumps({"action": "share", "shared": True, "id": "share"}))
    await frame_of(owner, "shared", reply_to="share")
    watcher = await open_socket(second, sim_world, sim_world.teammate, f"/ws/simulations/{simulation_id}/")
    hello = await frame_of(watcher, "hello")
    await frame_of(watcher, "snapshot")

    stepped = await step(owner, 1)
    seen = await frame_of(watcher, "state", seq=stepped["seq"])

    assert hello["readonly"] is True
    assert seen["configuration"] == stepped["configuration"]
    await watcher.close()
    await owner.close()


async def leave_and_reopen(
    owner: ClientConnection, server: RunningServer, world: SimWorld, simulation_id: int
) -> tuple[ClientConnection, dict, dict]:
    """Pause (answered once saved), close, and open the simulation on `server`: (socket, reset, snapshot)."""
    await owner.send(json.dumps({"action": "pause", "id": "pause"}))
    await frame_of(owner, "state", reply_to="pause")
    await owner.close()
    again = await open_socket(server, world, world.owner, f"/ws/simulations/{simulation_id}/")
    reset = await frame_of(again, "reset")
    return again, reset, await frame_of(again, "snapshot")


async def test_a_simulation_left_on_one_process_resumes_on_the_other_by_replay(sim_world, two_servers):  # noqa: F811
    first, second = two_servers
    owner, simulation_id = await start(first, sim_world)
    for n in range(5):
        last = await step(owner, n)

    again, reset, resumed = await leave_and_reopen(owner, second, sim_world, simulation_id)

    assert (resumed["seq"], resumed["step"], resumed["configuration"]) == (last["seq"], 5, last["configuration"])
    assert reset["records"][-1]["seq"] == last["seq"]
    assert (await step(again, 99))["seq"] > last["seq"]
    await again.close()


async def test_console_and_edit_operations_replay_on_the_other_process(sim_world, two_servers):  # noqa: F811
    first, second = two_servers
    owner, simulation_id = await start(first, sim_world)
    for n in range(12):
        await step(owner, n)
    await owner.send(json.dumps({"action": "set_variable", "name": "varCustLevel", "value": "vip", "id": "edit"}))
    await frame_of(owner, "state", reply_to="edit")
    await owner.send(json.dumps({"action": "eval", "expression": "var fromConsole = 42", "id": "eval"}))
    await frame_of(owner, "eval", reply_to="eval")
    last = await frame_of(owner, "state", reply_to="eval")

    again, reset, resumed = await leave_and_reopen(owner, second, sim_world, simulation_id)

    assert (resumed["seq"], resumed["datamodel"]["varCustLevel"], resumed["datamodel"]["fromConsole"]) == (
        last["seq"],
        "vip",
        42,
    )
    assert [r["expression"] for r in reset["records"] if r["type"] == "console"] == [
        'varCustLevel = "vip"',
        "var fromConsole = 42",
    ]
    await again.close()
