#!/usr/bin/env python
"""Websocket simulation benchmark: N concurrent clients stepping the sample IPD on one Daphne.

    .venv/bin/python bench/ws.py                      # N = 50, 200, 500; 20 s of stepping each
    .venv/bin/python bench/ws.py --clients 50 200 --seconds 15

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


def prepare(database: Path, clients: int) -> tuple[str, list[int]]:
    """Migrate a fresh database; create the user, the version and `clients` simulations.

    Returns the session cookie of the user and the simulation ids.
    """
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{database}"
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
    Simulation.objects.all().delete()
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


async def answer(ws: object, message_id: int) -> dict:
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("reply_to") == message_id and frame["type"] in ("snapshot", "error"):
            return frame


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


async def measure(ws_url: str, cookie: str, ids: list[int], seconds: float) -> dict:
    started = time.perf_counter()
    semaphore = asyncio.Semaphore(50)  # connect in waves (each connect replays/builds a session)

    async def open_one(sim_id: int) -> object:
        async with semaphore:
            return await connect(f"{ws_url}/ws/simulations/{sim_id}/", cookie)

    sockets = await asyncio.gather(*(open_one(i) for i in ids))
    connect_seconds = time.perf_counter() - started
    latencies: list[float] = []
    errors: list[str] = []
    begin = time.perf_counter()
    counts = await asyncio.gather(*(client_loop(ws, begin + seconds, latencies, errors) for ws in sockets))
    elapsed = time.perf_counter() - begin
    await asyncio.gather(*(ws.close() for ws in sockets))
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "clients": len(ids),
        "connect_s": round(connect_seconds, 2),
        "steps": sum(counts),
        "steps_per_s": round(sum(counts) / elapsed, 1),
        "p50_ms": round(pct(0.50), 1),
        "p99_ms": round(pct(0.99), 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
        "errors": len(errors),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--seconds", type=float, default=20.0, help="stepping time per N")
    args = parser.parse_args()
    from tests.servers import daphne_server

    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "bench.sqlite3"
        cookie, _ = prepare(database, 0)
        layer = "redis" if os.environ.get("REDIS_URL") else "in-memory"
        workers = os.environ.get("ORCHWEB_SIMULATION_WORKERS", "4")
        print(f"one Daphne process, {layer} channel layer, {workers} simulation workers, {os.cpu_count()} CPUs")
        for n in args.clients:
            _, ids = prepare(database, n)
            # All clients are one user: lift the per-user quotas, which would refuse most of them.
            quotas = {"ORCHWEB_SIM_MAX_OPEN_PER_USER": str(n + 1), "ORCHWEB_SIM_STEPS_PER_SECOND": "1000000"}
            url = os.environ["DATABASE_URL"]
            with daphne_server(f"bench-{n}", {"DATABASE_URL": url, **quotas}) as server:
                cpu = cpu_seconds(server.process.pid)
                result = asyncio.run(measure(server.ws_url, cookie, ids, args.seconds))
                # Daphne's CPU time per step (connects included): steadier than steps/s on a busy machine
                result["cpu_ms_per_step"] = round((cpu_seconds(server.process.pid) - cpu) * 1000 / result["steps"], 2)
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
