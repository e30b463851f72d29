#!/usr/bin/env python
"""Websocket simulation benchmark: N concurrent clients stepping the sample IPD on Daphne.

    .venv/bin/python bench/ws.py                      # N = 50, 200, 500; 20 s of stepping each
    .venv/bin/python bench/ws.py --clients 50 200 --seconds 15
    .venv/bin/python bench/ws.py --clients 500 --rate 1         # open loop: 1 step/s per client
    REDIS_URL=redis://127.0.0.1:6379/0 BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_ws \
        .venv/bin/python bench/ws.py --clients 100 --processes 1 2  # one vs two Daphne processes

Closed loop (default): each client sends a step, waits for its answer, sends the next one.
Open loop (``--rate R``): each client sends R steps per second on a fixed schedule whether or not
the answers came (at most 50 unanswered per client), as a team of users would; the figures are
the achieved rate (answers/s) and the step->frame latency of every answered step.
Two processes (``--processes 1 2``): the same N clients split between two Daphne processes
sharing the database and the Redis channel layer (REDIS_URL and a PostgreSQL BENCH_DATABASE_URL are
required: SQLite is not shared between processes; create the database first, e.g.
``createdb -h 127.0.0.1 -U postgres bench_ws``; its simulations are replaced), measured right
after one process in the same sitting, and the ratio printed.

Setup (outside the measurement): a fresh SQLite database in a temporary folder (migrated; or
BENCH_DATABASE_URL, e.g. an empty PostgreSQL database), one
user, the sample project ``../shared/ors-samples/crd-gvp-wf`` as a version, and one simulation per
client. One Daphne process (tests/servers.py: the test settings, in-memory channel layer unless
REDIS_URL is set) serves them. Every client connects to ``ws/simulations/<id>/`` with the user's
session cookie and waits for its first snapshot; then all clients step together: each sends
``{"action": "step", "unit": "macrostep"}``, waits for the snapshot frame answering it (its
``reply_to``), and sends the next one. A simulation that ends (or goes idle) is restarted (not
timed). Figures: steps/s over the whole measurement and the latency from ``step`` sent to its
snapshot frame received (p50, p99, max), plus connect time, errors and Daphne's CPU ms per step. Prints; never asserts.
Goal to report against (issue 6): p99 < 50 ms at N = 500 on the 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("ORCHWEB_SHARED", ROOT.parent / "shared"))
SAMPLE = SHARED / "ors-samples" / "crd-gvp-wf"


def prepare(database_url: str, clients: int) -> tuple[str, list[int]]:
    """Migrate the database; create the user, the version and `clients` simulations.

    Returns the session cookie of the user and the simulation ids.
    """
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from designer import history
    from designer.models import Membership, Project, Role, Team
    from simulator.models import Simulation
    from simulator.ors.project import find_entry, load_project

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    team, _ = Team.objects.get_or_create(name="Bench")
    Membership.objects.get_or_create(team=team, user=user, defaults={"role": Role.OWNER})
    project, created = Project.objects.get_or_create(team=team, name="CRD")
    if created:
        files = load_project(SAMPLE)
        history.create_version(project, files, author=user, message="sample", parent=None, entry=find_entry(files))
    version = project.latest_version
    Simulation.objects.filter(owner=user).delete()
    ids = [Simulation.objects.create(owner=user, version=version).pk for _ in range(clients)]
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value, ids


async def connect(url: str, cookie: str) -> object:
    import websockets

    ws = await websockets.connect(
        url,
        additional_headers={"Cookie": f"sessionid={cookie}", "Origin": "http" + url[2:].split("/ws/")[0]},
        max_size=None,
        open_timeout=120,
        ping_interval=None,
    )
    while True:  # hello, reset, snapshot
        frame = json.loads(await ws.recv())
        if frame["type"] == "snapshot":
            return ws
        if frame["type"] == "error":
            raise RuntimeError(frame["message"])


REPLIES = ("snapshot", "delta", "error")


async def answer(ws: object, message_id: int) -> dict:
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("reply_to") == message_id and frame["type"] in REPLIES:
            return frame


async def open_loop_client(ws: object, rate: float, stop_at: float, latencies: list[float], errors: list[str]) -> int:
    """Steps sent every 1/rate s on a fixed schedule; answers read as they come. Returns answers."""
    sent: dict[int, float] = {}
    answered = 0
    done = asyncio.Event()
    restarting: set[int] = set()

    async def reader() -> None:
        nonlocal answered
        while not (done.is_set() and not sent):
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
            except TimeoutError:
                return
            reply = frame.get("reply_to")
            if reply in restarting or frame["type"] not in REPLIES or reply not in sent:
                restarting.discard(reply)
                continue
            latencies.append(time.perf_counter() - sent.pop(reply))
            if frame["type"] == "error":
                errors.append(frame["message"])
                continue
            answered += 1
            if frame.get("status", "running") != "running":  # the call ended: start it again (not timed)
                restarting.add(-reply)
                await ws.send(json.dumps({"action": "restart", "id": -reply}))

    task = asyncio.create_task(reader())
    interval = 1.0 / rate
    # clients start spread over one interval, not all at once
    next_at = time.perf_counter() + interval * (hash(id(ws)) % 1000) / 1000
    message_id = 0
    while next_at < stop_at:
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        next_at += interval
        if len(sent) >= 50:
            continue  # the server is far behind: do not pile up more
        message_id += 1
        sent[message_id] = time.perf_counter()
        await ws.send(json.dumps({"action": "step", "unit": "macrostep", "id": message_id}))
    done.set()
    await task
    return answered


async def client_loop(ws: object, stop_at: float, latencies: list[float], errors: list[str]) -> int:
    steps = 0
    message_id = 0
    while time.perf_counter() < stop_at:
        message_id += 1
        sent = time.perf_counter()
        await ws.send(json.dumps({"action": "step", "unit": "macrostep", "id": message_id}))
        frame = await answer(ws, message_id)
        latencies.append(time.perf_counter() - sent)
        if frame["type"] == "error":
            errors.append(frame["message"])
            continue
        steps += 1
        if frame["status"] != "running" or frame["idle"]:
            message_id += 1
            await ws.send(json.dumps({"action": "restart", "id": message_id}))
            await answer(ws, message_id)
    return steps


async def measure(ws_urls: list[str], cookie: str, ids: list[int], seconds: float, rate: float | None) -> dict:
    started = time.perf_counter()
    semaphore = asyncio.Semaphore(50)  # connect in waves (each connect replays/builds a session)

    async def open_one(n: int, sim_id: int) -> object:
        async with semaphore:  # clients split between the processes
            return await connect(f"{ws_urls[n % len(ws_urls)]}/ws/simulations/{sim_id}/", cookie)

    sockets = await asyncio.gather(*(open_one(n, i) for n, i in enumerate(ids)))
    connect_seconds = time.perf_counter() - started
    latencies: list[float] = []
    errors: list[str] = []
    begin = time.perf_counter()
    if rate is None:
        loops = (client_loop(ws, begin + seconds, latencies, errors) for ws in sockets)
    else:
        loops = (open_loop_client(ws, rate, begin + seconds, latencies, errors) for ws in sockets)
    counts = await asyncio.gather(*loops)
    elapsed = time.perf_counter() - begin
    await asyncio.gather(*(ws.close() for ws in sockets))
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "processes": len(ws_urls),
        "mode": "closed" if rate is None else f"open {rate:g}/s per client",
        "clients": len(ids),
        "connect_s": round(connect_seconds, 2),
        "steps": sum(counts),
        "steps_per_s": round(sum(counts) / elapsed, 1),
        "p50_ms": round(pct(0.50), 1),
        "p99_ms": round(pct(0.99), 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
        "errors": len(errors),
        **({"offered_per_s": round(rate * len(ids), 1)} if rate is not None else {}),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--seconds", type=float, default=20.0, help="stepping time per N")
    parser.add_argument("--rate", type=float, default=None, help="open loop: steps per second per client")
    parser.add_argument("--processes", type=int, nargs="+", default=[1], choices=[1, 2], help="Daphne processes")
    args = parser.parse_args()
    from tests.servers import daphne_server

    if 2 in args.processes and not (
        os.environ.get("REDIS_URL") and os.environ.get("BENCH_DATABASE_URL", "").startswith("postgres")
    ):
        sys.exit("two processes need REDIS_URL and a PostgreSQL BENCH_DATABASE_URL (see the docstring)")
    with tempfile.TemporaryDirectory() as tmp:
        database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        cookie, _ = prepare(database_url, 0)
        layer = "redis" if os.environ.get("REDIS_URL") else "in-memory"
        workers = os.environ.get("ORCHWEB_SIMULATION_WORKERS", "4")
        print(f"{layer} channel layer, {workers} simulation workers per process, {os.cpu_count()} CPUs")
        print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
        for n in args.clients:
            by_processes = {}
            for processes in args.processes:
                _, ids = prepare(database_url, n)
                # All clients are one user: lift the per-user quotas, which would refuse most of them.
                env = {
                    "DATABASE_URL": database_url,
                    # (claims of an earlier run's processes may linger in Redis: far above n)
                    "ORCHWEB_SIM_MAX_OPEN_PER_USER": str(100 * n),
                    "ORCHWEB_SIM_STEPS_PER_SECOND": "1000000",
                    "ORCHWEB_SIM_WORKERS_PER_USER": workers,
                }
                with contextlib.ExitStack() as stack:
                    servers = [stack.enter_context(daphne_server(f"bench-{n}-{p}", env)) for p in range(processes)]
                    cpu = sum(cpu_seconds(server.process.pid) for server in servers)
                    result = asyncio.run(measure([s.ws_url for s in servers], cookie, ids, args.seconds, args.rate))
                    # Daphne's CPU time per step (connects included): steadier than steps/s on a busy machine
                    spent = sum(cpu_seconds(server.process.pid) for server in servers) - cpu
                    result["cpu_ms_per_step"] = round(spent * 1000 / max(result["steps"], 1), 2)
                by_processes[processes] = result
                print(json.dumps(result), flush=True)
            if 1 in by_processes and 2 in by_processes:
                ratio = by_processes[2]["steps_per_s"] / max(by_processes[1]["steps_per_s"], 0.1)
                print(f"N={n}: two processes serve {ratio:.2f}x the steps/s of one", flush=True)
        print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
