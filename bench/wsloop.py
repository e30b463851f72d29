#!/usr/bin/env python
"""In-process step loop through the simulation consumer: CPU (or instructions) per step, no Daphne.

    .venv/bin/python bench/wsloop.py --sockets 10 --steps 40 --rounds 3
    valgrind --tool=callgrind --instr-atstart=no .venv/bin/python bench/wsloop.py --callgrind --sockets 10 --steps 20

The ASGI application (``orchweb.asgi``: origin check, session and auth middleware, the consumer,
the worker pool and the journal) is driven by Channels' ``WebsocketCommunicator``: `--sockets`
simulations of the sample IPD (``bench/ws.py``'s setup: a fresh SQLite database, a team, the
product's quotas) each send ``--steps`` macrosteps, one after another, restarting a simulation
that ends, as ``bench/ws.py``'s closed loop does. Printed per round: this process's CPU ms per
step over the stepping only (all threads, the test client's share included) and the load average.
Without Daphne, Twisted and the network, the figure moves with the server's own per-step work;
under callgrind (``--callgrind``: collection switched on for the stepping only, with
``callgrind_control``) the instruction count divided by sockets x steps is the steadier figure on
a busy machine. Prints; never asserts.

``--gap SECONDS`` (e.g. ``--sockets 1 --steps 600 --gap 0.012``: under the product's 100 actions
a second per user): each socket waits that long after each answer, so every step arrives with the
threads idle and pays each hand-off alone (event loop, worker, journal, event loop), as a step of
the open loop below saturation does; printed too: each thread's CPU ms a step (the event loop's
includes the test client) and the process's voluntary context switches a step.

Django runs as in ``bench/ws.py``: DEBUG=0 as production (``--debug``: DEBUG=1), printed first;
``REDIS_URL`` and a PostgreSQL ``BENCH_DATABASE_URL`` (its bench simulations are replaced) run the
scaled mode's quotas, channel layer and journal in-process (the servers' own CPU is not counted).

``--digest``: instead of timing, each socket plays a script of every kind of action (steps of
every unit, watches, inject, console, variable edits, advance, breakpoints, snapshot, rewind,
restart; then macrosteps to the end of the call and again) and the SHA-256 of every frame text
received (state keys renumbered: their token is the process id) and of the stored simulations
(rows and operations) is printed: the check that a change of the server's frames, journal or
consumer path leaves what a client receives and what is stored byte for byte the same (run it
before and after).

``--handshakes``: instead of stepping, each round opens `--sockets` sockets of simulations not live
in the process, one after another (the session's user, the access check and stored log, the
runtime built, hello/reset/snapshot), and prints this process's CPU ms a handshake, that of
Channels' database thread, and the database connections opened a handshake (Django's
``connection_created``), Channels' database calls closing connections as under Daphne (its test
communicator skips that). With
``--callgrind`` collection is on for the handshakes of the rounds after the first (a warm-up).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ws import prepare, settings_mode

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
TIMEOUT = 120


async def answer(communicator: object, message_id: int | None) -> dict:
    """The next snapshot (None) or the frame answering `message_id`."""
    while True:
        frame = json.loads(await communicator.receive_from(timeout=TIMEOUT))
        if message_id is None and frame["type"] == "snapshot":
            return frame
        if message_id is not None and frame.get("reply_to") == message_id and frame["type"] in ("snapshot", "delta"):
            return frame
        if frame["type"] == "error":
            raise RuntimeError(frame["message"])


async def open_socket(cookie: str, simulation_id: int) -> object:
    communicator = await open_raw(cookie, simulation_id)
    await answer(communicator, None)
    return communicator


async def open_raw(cookie: str, simulation_id: int) -> object:
    """A connected socket whose first frames were not read yet."""
    from channels.testing import WebsocketCommunicator

    from orchweb.asgi import application

    headers = [*HEADERS, (b"cookie", f"sessionid={cookie}".encode())]
    communicator = WebsocketCommunicator(application, f"/ws/simulations/{simulation_id}/", headers=headers)
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    if not connected:
        raise RuntimeError("handshake refused")
    return communicator


async def step_loop(communicator: object, steps: int, gap: float = 0.0) -> None:
    message_id = 0
    for _ in range(steps):
        message_id += 1
        await communicator.send_to(text_data=json.dumps({"action": "step", "unit": "macrostep", "id": message_id}))
        frame = await answer(communicator, message_id)
        if gap:
            await asyncio.sleep(gap)
        if frame["status"] != "running" or frame["idle"]:
            message_id += 1
            await communicator.send_to(text_data=json.dumps({"action": "restart", "id": message_id}))
            await answer(communicator, message_id)
            if gap:
                await asyncio.sleep(gap)


def thread_cpu() -> dict[str, int]:
    """CPU clock ticks of this process's threads so far by role: the event loop (with the test
    client), the simulation workers, the journal, the rest."""
    ticks: dict[str, int] = {}
    for thread in threading.enumerate():
        try:
            with open(f"/proc/self/task/{thread.native_id}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = thread.name
        role = (
            "loop"
            if thread is threading.main_thread()
            else "journal"
            if name == "simulation-journal"
            else "workers"
            if name.startswith("simulation-")
            else "other"
        )
        ticks[role] = ticks.get(role, 0) + int(fields[11]) + int(fields[12])
    return ticks


#: the process's token in state keys (`<pid>-<serial>.<version>`: simulator.frames)
TOKEN = re.compile(r'"(key|base)":"([0-9a-f]+-[0-9]+)\.')


class Recorder:
    """One socket's frames as texts, each state key's token renumbered in order of appearance."""

    def __init__(self, communicator: object):
        self.communicator = communicator
        self.texts: list[str] = []
        self.tokens: dict[str, str] = {}
        self.ids = 0

    def _renumber(self, match: re.Match) -> str:
        token = self.tokens.setdefault(match.group(2), f"t{len(self.tokens)}")
        return f'"{match.group(1)}":"{token}.'

    async def request(self, action: str, answer: str = "state", **fields: object) -> dict:
        """Send an action; the frames up to its answer (a state frame, an error, or a frame of type
        `answer`) are recorded."""
        self.ids += 1
        await self.communicator.send_to(text_data=json.dumps({"action": action, "id": self.ids, **fields}))
        while True:
            frame = await self.receive()
            if frame.get("reply_to") == self.ids and frame["type"] in ("snapshot", "delta", "error", answer):
                return frame

    async def receive(self) -> dict:
        text = await self.communicator.receive_from(timeout=TIMEOUT)
        self.texts.append(TOKEN.sub(self._renumber, text))
        return json.loads(text)


async def script(recorder: Recorder) -> None:
    """Every kind of action, in an order that reaches the end of the call, a rewind and a restart."""
    while (snapshot := await recorder.receive())["type"] != "snapshot":  # hello, reset, snapshot
        pass
    frames = [await recorder.request("set_watches", watches=["1 + 1", "typeof __orsCall", "Object.keys(this).length"])]
    for unit in ("macrostep", "microstep", "microstep", "macrostep", "block", "next-timer", "macrostep"):
        frames.append(await recorder.request("step", unit=unit))
    frames.append(await recorder.request("inject", kind="event", event="digest.event", data={"a": [1, 2.5, None]}))
    frames.append(await recorder.request("step", unit="macrostep"))
    frames.append(await recorder.request("inject", kind="udata_changed", data={"digest": "x"}))
    frames.append(await recorder.request("eval", expression="[typeof x, 1 / 3, 'é\\u2028']"))
    frames.append(
        await recorder.request("set_variable", name=sorted(snapshot["datamodel"])[0], value={"b": [True, "s", 7]})
    )
    frames.append(await recorder.request("advance", seconds=2.5))
    await recorder.request("set_breakpoints", "breakpoints", breakpoints={"entered": ["MainWorkflow.playMain"]})
    frames.append(await recorder.request("snapshot"))
    seqs = [f["seq"] for f in frames if "seq" in f]
    frames.append(await recorder.request("rewind", seq=seqs[len(seqs) // 2]))
    for _ in range(300):
        frame = await recorder.request("step", unit="macrostep")
        if frame["type"] != "error" and (frame.get("status", "running") != "running" or frame.get("idle")):
            break
    await recorder.request("restart")
    for _ in range(10):
        await recorder.request("step", unit="macrostep")


def stored_digest(ids: list[int]) -> str:
    """SHA-256 of the stored simulations (revision, log length, recipe) and their operations."""
    from simulator.models import Simulation, SimulationOp

    h = hashlib.sha256()
    for number, simulation_id in enumerate(ids):
        row = Simulation.objects.values("revision", "log_length", "fakes", "seed").get(pk=simulation_id)
        ops = SimulationOp.objects.filter(simulation_id=simulation_id).order_by("index")
        h.update(json.dumps([number, row, list(ops.values_list("index", "revision", "op"))]).encode())
    return h.hexdigest()


async def digest(cookies: list[str], ids: list[int], sockets: int) -> None:
    from channels.db import database_sync_to_async

    recorders = [Recorder(await open_raw(cookies[i], ids[i])) for i in range(sockets)]
    await asyncio.gather(*(script(r) for r in recorders))
    for recorder in recorders:
        await recorder.communicator.disconnect()
    frames = hashlib.sha256()
    for recorder in recorders:
        frames.update("\n".join(recorder.texts).encode() + b"\n\n")
    result = {
        "sockets": sockets,
        "frames": sum(len(r.texts) for r in recorders),
        "frames_sha256": frames.hexdigest(),
        "stored_sha256": await database_sync_to_async(stored_digest)(ids[:sockets]),
    }
    print(json.dumps(result), flush=True)


def callgrind(switch: str) -> None:
    subprocess.run(["callgrind_control", "-i", switch, str(os.getpid())], capture_output=True, check=False)


async def measure(
    cookies: list[str], ids: list[int], sockets: int, steps: int, rounds: int, cg: bool, gap: float = 0.0
) -> None:
    for r in range(rounds):
        chosen = range(r * sockets, (r + 1) * sockets)
        communicators = [await open_socket(cookies[i], ids[i]) for i in chosen]
        if cg:
            callgrind("on")
        cpu, usage, ticks = time.process_time(), resource.getrusage(resource.RUSAGE_SELF), thread_cpu()
        await asyncio.gather(*(step_loop(c, steps, gap) for c in communicators))
        cpu = time.process_time() - cpu
        if cg:
            callgrind("off")
        count = sockets * steps
        result: dict[str, object] = {"sockets": sockets, "steps": count}
        result["cpu_ms_per_step"] = round(1000 * cpu / count, 3)
        if gap:
            after, now = resource.getrusage(resource.RUSAGE_SELF), thread_cpu()
            tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
            result["gap_s"] = gap
            spent = {role: tick_ms * (n - ticks.get(role, 0)) / count for role, n in now.items()}
            result["threads_cpu_ms_per_step"] = {role: round(ms, 3) for role, ms in spent.items()}
            result["voluntary_switches_per_step"] = round((after.ru_nvcsw - usage.ru_nvcsw) / count, 2)
        print(json.dumps({**result, "load": round(os.getloadavg()[0], 1)}), flush=True)
        for communicator in communicators:
            await communicator.disconnect()


async def handshakes(cookies: list[str], ids: list[int], sockets: int, rounds: int, cg: bool) -> None:
    import channels.testing.application
    from asgiref.sync import SyncToAsync
    from django.db import close_old_connections
    from django.db.backends.signals import connection_created

    # Channels' test communicator makes `database_sync_to_async` skip closing connections while it
    # waits (its `no_op`): Daphne closes them, so do that here too, or the handshakes' connections
    # are neither opened nor counted.
    channels.testing.application.no_op = close_old_connections  # type: ignore[assignment]

    opened: list[object] = []

    def count(sender: object, connection: object, **kwargs: object) -> None:
        opened.append(connection)

    connection_created.connect(count)
    database_thread_time = SyncToAsync(time.thread_time)  # Channels' database thread (thread-sensitive)
    for r in range(rounds):
        chosen = range(r * sockets, (r + 1) * sockets)
        opened.clear()
        if cg and r > 0:  # the first round warms the process up (imports, caches, the zone table)
            callgrind("on")
        database = await database_thread_time()
        cpu = time.process_time()
        communicators = [await open_socket(cookies[i], ids[i]) for i in chosen]
        cpu = time.process_time() - cpu
        database = await database_thread_time() - database
        if cg:
            callgrind("off")
        result = {
            "handshakes": sockets,
            "cpu_ms_per_handshake": round(1000 * cpu / sockets, 3),
            "database_thread_cpu_ms_per_handshake": round(1000 * database / sockets, 3),
            "connections_per_handshake": round(len(opened) / sockets, 2),
        }
        print(json.dumps({**result, "load": round(os.getloadavg()[0], 1)}), flush=True)
        for communicator in communicators:
            await communicator.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=10)
    parser.add_argument("--steps", type=int, default=40, help="macrosteps per socket and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each on fresh simulations")
    parser.add_argument("--callgrind", action="store_true", help="instructions of the stepping (or handshakes) only")
    parser.add_argument("--handshakes", action="store_true", help="time the handshakes instead of the stepping")
    parser.add_argument("--digest", action="store_true", help="the SHA-256 of a scripted session's frames and rows")
    parser.add_argument("--debug", action="store_true", help="run Django with DEBUG=1 (default: DEBUG=0)")
    parser.add_argument(
        "--gap", type=float, default=0.0, help="seconds each socket waits after an answer (steps that arrive alone)"
    )
    args = parser.parse_args()
    print(f"Django: {settings_mode(args.debug)}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        cookies, ids = prepare(database_url, args.sockets * args.rounds)
        if args.digest:
            asyncio.run(digest(cookies, ids, args.sockets))
            return
        if args.handshakes:
            asyncio.run(handshakes(cookies, ids, args.sockets, args.rounds, args.callgrind))
            return
        asyncio.run(measure(cookies, ids, args.sockets, args.steps, args.rounds, args.callgrind, args.gap))


if __name__ == "__main__":
    main()
