"""No lost steps, one owner copy: real Daphne processes on PostgreSQL and Redis.

An operation is stored before its frame is sent, so a process killed (SIGKILL) or stopped
(SIGTERM) right after a step loses nothing: a reconnect to another process resumes there, with the
same dates and random numbers (the strategy reads both). The owner connected through two processes
drives one simulation: operations are ordered by the database, both sockets converge. A process
that cannot reach the database keeps the simulation in memory until it can save it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import ClientConnection

from designer import history
from designer.models import Project
from simulator.frames import ClientState
from simulator.models import Simulation
from tests.servers import RunningServer, daphne_server, database_url
from tests.test_scaled import two_servers  # noqa: F401  (fixture)

from .conftest import SimWorld
from .test_scaled_simulation import open_socket
from .test_time_reconnect import CLOCKED

pytestmark = [pytest.mark.scaled, pytest.mark.django_db(transaction=True)]

CLOCK_FAKES = {"time": {"now": "2026-03-29T00:30:00Z", "zone": "ECT"}}


def scaled_env(database: str | None = None) -> dict[str, str]:
    from django.db import connection

    return {"DATABASE_URL": database or database_url(connection.settings_dict), "REDIS_URL": os.environ["REDIS_URL"]}


@pytest.fixture
def clocked_version(sim_world: SimWorld):
    project = Project.objects.create(team=sim_world.project.team, name="Clocked", created_by=sim_world.owner)
    return history.create_version(
        project, {"clocked.scxml": CLOCKED}, author=sim_world.owner, message="clock", parent=None, entry="clocked.scxml"
    )


#: frames that carry the state: a whole snapshot, or what changed since (simulator/frames.py)
STATE = ("snapshot", "delta")


class Watched:
    """A socket, every trace record it was sent and the state rebuilt from its frames; a state
    frame (snapshot or delta) is returned as the whole state after it."""

    def __init__(self, ws: ClientConnection):
        self.ws = ws
        self.client = ClientState()

    @property
    def records(self) -> list[dict]:
        return self.client.records

    async def frame(self, type_: str, **fields) -> dict:
        """The next frame of `type_` ("snapshot": any state frame) whose fields equal `fields`."""
        types = STATE if type_ == "snapshot" else (type_,)
        async with asyncio.timeout(30):
            while True:
                frame = await self.frame_any()
                if frame["type"] in types and all(frame.get(k) == v for k, v in fields.items()):
                    return frame

    async def request(self, action: str, message_id: str, **fields) -> dict:
        """The state answering the action (or the error frame refusing it)."""
        await self.ws.send(json.dumps({"action": action, "id": message_id, **fields}))
        async with asyncio.timeout(30):
            while True:
                frame = await self.frame_any()
                if frame.get("reply_to") == message_id and frame["type"] in (*STATE, "error"):
                    return frame

    async def frame_any(self) -> dict:
        frame = json.loads(await self.ws.recv())
        assert self.client.apply(frame), frame
        if frame["type"] in STATE:
            return {**self.client.snapshot(), "type": frame["type"], "reply_to": frame.get("reply_to")}
        return frame


async def start_clocked(server: RunningServer, world: SimWorld, version) -> tuple[Watched, int]:
    ws = Watched(await open_socket(server, world, world.owner, "/ws/simulations/"))
    await ws.ws.send(json.dumps({"action": "start", "version": version.pk, "fakes": CLOCK_FAKES, "seed": 4, "id": "s"}))
    started = await ws.frame("started")
    await ws.frame("snapshot")
    return ws, started["simulation"]


async def reopen(server: RunningServer, world: SimWorld, simulation_id: int) -> tuple[Watched, dict]:
    ws = Watched(await open_socket(server, world, world.owner, f"/ws/simulations/{simulation_id}/"))
    return ws, await ws.frame("snapshot")


async def drive(ws: Watched) -> dict:
    """Steps and a clock move: the strategy logs dates and random numbers; the last snapshot."""
    for n in range(3):
        await ws.request("step", f"step{n}", unit="macrostep")
    return await ws.request("advance", "later", seconds=7200)


def logged(records: list[dict]) -> list[str]:
    return [r["value"] for r in records if r["type"] == "log"]


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
async def test_a_process_stopped_right_after_a_step_loses_nothing(sim_world, clocked_version, two_servers, stop):  # noqa: F811
    _, survivor = two_servers
    with daphne_server(f"doomed-{stop.name}", scaled_env()) as doomed:
        ws, simulation_id = await start_clocked(doomed, sim_world, clocked_version)
        last = await drive(ws)
        doomed.process.send_signal(stop)
        code = await asyncio.to_thread(doomed.process.wait, 30)
        log = doomed.log_tail(200)

    again, resumed = await reopen(survivor, sim_world, simulation_id)

    assert (resumed["seq"], resumed["step"], resumed["time"]) == (last["seq"], 4, last["time"])
    assert again.records == ws.records and len(set(logged(again.records))) >= 3
    if stop == signal.SIGTERM:  # a clean shutdown: the open socket was closed by the server, no traceback
        assert code == 0 and "Traceback" not in log, log
    await again.ws.close()


async def test_the_owner_on_two_processes_drives_one_simulation(sim_world, clocked_version, two_servers):  # noqa: F811
    first, second = two_servers
    a, simulation_id = await start_clocked(first, sim_world, clocked_version)
    b, _ = await reopen(second, sim_world, simulation_id)

    through_a = await a.request("step", "a1", unit="macrostep")
    seen_by_b = await b.frame("snapshot", seq=through_a["seq"])
    through_b = await b.request("advance", "b1", seconds=3600)
    seen_by_a = await a.frame("snapshot", seq=through_b["seq"])
    assert (seen_by_b["step"], seen_by_a["step"], seen_by_a["time"]) == (1, 2, through_b["time"])

    # Both windows click at once: each operation is applied exactly once, in one order, or
    # refused with a reason; none is lost.
    for n in range(4):
        await a.ws.send(json.dumps({"action": "advance", "seconds": 3600, "id": f"a-{n}"}))
        await b.ws.send(json.dumps({"action": "advance", "seconds": 3600, "id": f"b-{n}"}))
    answers = await collect_answers(a, "a") + await collect_answers(b, "b")
    applied = [f for f in answers if f["type"] in STATE]
    refused = [f for f in answers if f["type"] == "error"]
    assert all("changed at the same time from another window" in f["message"] for f in refused), refused
    assert len(applied) + len(refused) == 8
    assert len({f["step"] for f in applied}) == len(applied)  # each got a place of its own in the log

    final_a = await a.request("snapshot", "fa")
    final_b = await b.request("snapshot", "fb")
    stored = await database_sync_to_async(lambda: Simulation.objects.get(pk=simulation_id).log_length)()
    # a snapshot asked of either window is the stored state, even before the other process's
    # notice of its last operation arrived
    assert (final_a["step"], final_b["step"], stored) == (2 + len(applied),) * 3
    assert (final_a["seq"], final_a["time"], final_a["datamodel"]) == (
        final_b["seq"],
        final_b["time"],
        final_b["datamodel"],
    )
    assert a.records == b.records
    await a.ws.close()
    await b.ws.close()


async def collect_answers(ws: Watched, name: str) -> list[dict]:
    """The answer (snapshot or error) to each of the 4 operations `name-0..3` sent on `ws`."""
    found: dict[str, dict] = {}
    async with asyncio.timeout(60):
        while len(found) < 4:
            frame = await ws.frame_any()
            reply = frame.get("reply_to")
            if isinstance(reply, str) and reply.startswith(f"{name}-") and frame["type"] in (*STATE, "error"):
                found.setdefault(reply, frame)
    return list(found.values())


# ---- the database goes away -----------------------------------------------------------------------


class Proxy:
    """A TCP proxy to PostgreSQL, on an event loop of its own thread, that the test can cut: the
    database is down for the server process behind it (`down`) and back (`up`, same port)."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.server: asyncio.Server | None = None
        self.port = 0
        self.pipes: set[asyncio.StreamWriter] = set()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def _call(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def up(self) -> None:
        self._call(self._up())

    def down(self) -> None:
        self._call(self._down())

    def close(self) -> None:
        self.down()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def _up(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _down(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.pipes):
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.pipes |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.transport.abort()
                self.pipes.discard(dst)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@contextmanager
def proxied_database() -> Iterator[tuple[Proxy, str]]:
    """A proxy to the test database and the DATABASE_URL through it."""
    from django.db import connection

    settings = dict(connection.settings_dict)
    proxy = Proxy(settings.get("HOST") or "127.0.0.1", int(settings.get("PORT") or 5432))
    proxy.up()
    settings["HOST"], settings["PORT"] = "127.0.0.1", str(proxy.port)
    try:
        yield proxy, database_url(settings)
    finally:
        proxy.close()


async def test_a_socket_closed_while_the_database_is_down_keeps_its_steps_until_it_is_back(sim_world, clocked_version):
    with proxied_database() as (proxy, database), daphne_server("flaky", scaled_env(database)) as server:
        ws, simulation_id = await start_clocked(server, sim_world, clocked_version)
        await ws.request("step", "saved", unit="macrostep")

        proxy.down()
        unsaved = []
        for n in range(3):
            await ws.ws.send(json.dumps({"action": "advance", "seconds": 3600, "id": f"down{n}"}))
            unsaved.append((await ws.frame("error"))["unsaved"])
            last = await ws.frame("snapshot", reply_to=f"down{n}")
        await ws.ws.close()
        proxy.up()

        again, resumed = await reopen(server, sim_world, simulation_id)
        stored = await stored_length_becomes(simulation_id, 4)
        await again.ws.close()

    assert unsaved == [1, 2, 3]
    assert (resumed["step"], resumed["seq"], resumed["time"]) == (4, last["seq"], last["time"])
    assert stored == 4


async def stored_length_becomes(simulation_id: int, length: int) -> int:
    """The stored log length once it reaches `length` (the server retries with backoff)."""
    async with asyncio.timeout(60):
        while True:
            stored = await database_sync_to_async(lambda: Simulation.objects.get(pk=simulation_id).log_length)()
            if stored >= length:
                return stored
            await asyncio.sleep(0.2)
