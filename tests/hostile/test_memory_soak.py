"""Memory returns after a simulation closes.

A Daphne process, started as run.sh and the README start it, serves simulations opened, run to the
end and closed over a real websocket, round after round; its resident memory must stay bounded.
The strategy (``heavy_chart``) holds thousands of objects in its datamodel, as a real one holding
a large web service answer does, so each simulation costs megabytes while it is open.

The leaks this guards against: a closed runtime, its run and its sessions refer to each other,
so their trace and datamodel copies waited for a full cycle collection, which a busy server runs
rarely (the server grew by hundreds of megabytes, down only now and then); an idle worker thread
kept the last runtime it built; and earlier, ORS platforms were kept in a process-wide dictionary
whose values referred back to their sessions, so no engine session was ever freed (checked in
this process, where the objects can be counted).
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Iterator

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect

from designer import history
from designer.models import Membership, Project, Role, Team
from simulator import sessions
from simulator.scxml.interpreter import Session
from tests.charts import heavy_chart
from tests.hostile.conftest import http, json_of, server_env
from tests.servers import RunningServer, daphne_server
from tests.simulator.client import SimClient
from tests.simulator.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)

HEAVY = heavy_chart(5000)
#: rounds before the first figure: the allocator's heaps and the process's caches fill up
WARM_UP = 5
ROUNDS = 50
#: growth allowed after the warm-up (fixed: under 10 MB; before: 6 MB more per round, freed
#: only when a full collection happened to run)
MAX_GROWTH_MB = 50
#: bound on waiting for the last socket's close to be processed (seconds)
CLOSE_BOUND = 30


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid`, as `ps` and a container's memory limit see it."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def heavy_version() -> tuple[object, int]:
    """(owner, version id) of a project whose strategy holds a large datamodel."""
    owner = make_user("soak-owner")
    team = Team.objects.create(name="Soak")
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    project = Project.objects.create(team=team, name="Heavy", created_by=owner)
    version = history.create_version(
        project, {"main.scxml": HEAVY}, author=owner, message="heavy", parent=None, entry="main.scxml"
    )
    return owner, version.pk


def session_cookie(user: object) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def headers_of(user: object) -> list[tuple[bytes, bytes]]:
    from tests.simulator.conftest import ORIGIN

    return [*ORIGIN, (b"cookie", f"sessionid={session_cookie(user)}".encode())]


@pytest.fixture
def soak_server(django_db_setup: None) -> Iterator[RunningServer]:
    """A Daphne process of its own: its memory is the figure."""
    with daphne_server("soak", server_env()) as server:
        yield server


async def frame_of(ws, type_: str) -> dict:
    """The next frame of `type_` (or an error frame)."""
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] in (type_, "error"):
            return frame


async def server_round(server: RunningServer, version_id: int, cookie: str) -> None:
    """Open a simulation over a websocket, run it to its end and close the socket."""
    async with asyncio.timeout(120):
        async with connect(
            f"{server.ws_url}/ws/simulations/",
            origin=server.url,
            additional_headers={"Cookie": f"sessionid={cookie}"},
            max_size=None,
        ) as ws:
            await ws.send(json.dumps({"action": "start", "version": version_id, "id": 1}))
            started = await frame_of(ws, "started")
            assert started["type"] == "started", started
            await ws.send(json.dumps({"action": "run", "id": 2}))
            stopped = await frame_of(ws, "paused")
            assert stopped.get("reason") == "finished", stopped


async def closed_rss_mb(server: RunningServer) -> float:
    """The server's RSS once it has closed every simulation: the close of a socket runs after the
    client is gone; /readyz counts the open simulations and the pool's jobs (the close is one)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLOSE_BOUND
    while True:
        _, _, body = await asyncio.to_thread(http, f"{server.url}/readyz")
        ready = json_of(body)
        if ready["simulations"] == 0 and ready["pool"]["busy"] == ready["pool"]["queued"] == 0:
            return rss_mb(server.process.pid)
        assert loop.time() < deadline, f"the server did not close its simulations: {ready}"
        await asyncio.sleep(0.05)


async def test_a_server_process_keeps_its_memory_bounded_over_fifty_simulations(soak_server) -> None:
    owner, version_id = await database_sync_to_async(heavy_version)()
    cookie = await database_sync_to_async(session_cookie)(owner)
    for _ in range(WARM_UP):
        await server_round(soak_server, version_id, cookie)
    before = await closed_rss_mb(soak_server)
    figures = []
    for number in range(ROUNDS):
        await server_round(soak_server, version_id, cookie)
        if number % 10 == 9:
            figures.append(round(await closed_rss_mb(soak_server) - before, 1))

    print(f"server RSS {before:.0f} MB after {WARM_UP} rounds; growth every 10 rounds (MB): {figures}")
    assert max(figures) < MAX_GROWTH_MB, f"server RSS growth (MB) every 10 rounds: {figures}"


async def local_round(version_id: int, headers: list[tuple[bytes, bytes]]) -> None:
    client, connected, _ = await SimClient.open("/ws/simulations/", headers)
    assert connected
    await client.receive()  # hello
    answer = await client.request("start", expect="started", version=version_id)
    assert answer["type"] == "started", answer
    await client.until("snapshot")
    await client.request("run", expect="running")
    stopped = await client.until("paused")
    assert stopped["reason"] == "finished"
    await client.close()  # returns once the consumer's disconnect (save, runtime closed) ended


def live_sessions() -> list[Session]:
    gc.collect()
    # issubclass(type(o)): isinstance would evaluate lazy proxies left by earlier tests (a request's
    # SimpleLazyObject user, a database query Django refuses in this async context)
    return [o for o in gc.get_objects() if issubclass(type(o), Session)]


async def test_every_engine_session_is_freed_once_its_simulations_are_closed() -> None:
    owner, version_id = await database_sync_to_async(heavy_version)()
    headers = await database_sync_to_async(headers_of)(owner)
    for _ in range(3):
        await local_round(version_id, headers)

    assert sessions.registry.entries == {}
    # The worker thread that ran the last close lets go of its job (which refers to the runtime)
    # just after handing back the result: wait for that, within a generous bound.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLOSE_BOUND
    while live_sessions() and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert live_sessions() == []
