#!/usr/bin/env python
"""Websocket simulation benchmark: N concurrent clients stepping the sample IPD on Daphne.

    .venv/bin/python bench/ws.py                      # N = 50, 200, 500; 20 s of stepping each
    .venv/bin/python bench/ws.py --clients 50 200 --seconds 15
    .venv/bin/python bench/ws.py --clients 500 --rate 1         # open loop: 1 step/s per client
    REDIS_URL=redis://127.0.0.1:6379/0 BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_ws \
        .venv/bin/python bench/ws.py --clients 100 --processes 1 2  # one vs two Daphne processes

Closed loop (default): each client sends a step, waits for its answer, sends the next one.
Open loop (``--rate R``): client k's steps are due at start + k/(N R) + i/R, and each is sent when
due whether or not earlier ones were answered, as a team of users would; a step's latency runs
from when it was *due* (a client or server that falls behind cannot hide the delay: no coordinated
omission), and steps still unanswered 10 s after the end count as slower than any answer. Before
the measurement client k takes k % 12 steps (``--stagger``, not timed): each user is at a
different point of their own call, where clients all at its first step would all end the sample's
~12-step call, and restart it, in the same second (``--stagger 0`` measures that). Printed:
offered and achieved rate (answers/s), p50/p99/max step->frame, unanswered steps.
Two processes (``--processes 1 2``): the same N clients on one port served by two Daphne processes,
as ``python -m orchweb.serve --processes 2`` runs them (a SO_REUSEPORT socket each: the kernel
spreads the connections; the split is printed), sharing the database and the Redis channel layer
(REDIS_URL and a PostgreSQL BENCH_DATABASE_URL are required: SQLite is not shared between
processes; create the database first, e.g. ``createdb -h 127.0.0.1 -U postgres bench_ws``; its
bench simulations are replaced), measured right after one process in the same sitting, and the
ratio printed.

Setup (outside the measurement): a fresh SQLite database in a temporary folder (migrated; or
BENCH_DATABASE_URL, e.g. an empty PostgreSQL database), the sample project
``../shared/ors-samples/crd-gvp-wf`` as a version, and a team: one simulation per client,
``--per-user`` (2) of them per member, so the product's per-user quotas (open simulations, actions
per second, workers) apply unchanged. Daphne (tests/servers.py: the test settings, in-memory channel
layer unless REDIS_URL is set) serves them, as production runs it: DEBUG=0 (no debug cursor
logging every query) with a SECRET_KEY generated for the run and plain HTTP (ORCHWEB_HTTPS=0, as
the README's scaled mode allows behind a proxy that terminates TLS); the mode is printed, and
``--debug`` runs the development default (DEBUG=1) instead. The test settings add nothing on a
step's path (a faster password hasher, key namespaces, lifted HTTP request rates). Every client
connects to ``ws/simulations/<id>/`` with its owner's session cookie (at most 50 handshakes at a
time) and waits for its first snapshot; then all clients step together: each sends
``{"action": "step", "unit": "macrostep"}``, waits for the frame answering it (its ``reply_to``),
and sends the next one. A simulation that ends (or goes
idle) is restarted (not timed). Figures: steps/s over the whole measurement and the latency from
``step`` sent to its frame received (p50, p99, max), plus connect time, errors, the load average
and Daphne's CPU ms per step, and this client's own (it shares the cores), with its own event loop's
lag while it measures (``client_lag_p99_ms``, ``client_lag_max_ms``: how late a 5 ms sleep of the
client wakes up; a latency includes the client's stalls, which these say). Daphne's CPU is also
split by phase: ``connect_cpu_ms_per_client`` (the handshakes, runtimes and first frames) and
``stepping_cpu_ms_per_step`` (the stepping alone). ``cpu_ms_per_step`` counts the connects too,
so it rises whenever each client steps fewer times (an open loop of 15 s at 1/s: ~15 steps a
client against ~70 in the closed loop of 50); compare steps with ``stepping_cpu_ms_per_step``.
Prints; never asserts.
``--pin``: each Daphne process's threads on one CPU of its own, as ``orchweb.serve --pin`` runs
them (orchweb/affinity.py); without it the operating system places them on any CPU.
Goal to report against (issue 12): open loop, 500 clients x 1 step/s, p99 < 50 ms on the 2-core
machine; two processes close to twice the steps/s of one.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("ORCHWEB_SHARED", ROOT.parent / "shared"))
SAMPLE = SHARED / "ors-samples" / "crd-gvp-wf"


def settings_mode(debug: bool) -> str:
    """Set the environment this process and the Daphne processes it starts (they inherit it) run
    Django with, before `prepare`: production's DEBUG=0, or with `debug` the development default.
    Returns the line that says which."""
    if debug:
        os.environ["DEBUG"] = "1"
        return "DEBUG=1 (the development default; --debug)"
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))  # this run's; sessions are signed with it
    os.environ.setdefault("ORCHWEB_HTTPS", "0")  # plain HTTP on the loopback, as behind a TLS proxy
    return "DEBUG=0 (as production runs; ORCHWEB_HTTPS=0, a generated SECRET_KEY; --debug for DEBUG=1)"


def prepare(database_url: str, clients: int, per_user: int = 2, tag: str = "") -> tuple[list[str], list[int]]:
    """Migrate the database; create the team, the version and `clients` simulations, `per_user` of
    them for each member (users named after `tag`, so claims of an earlier round never count).

    Returns, per simulation, the session cookie of its owner, and the simulation ids.
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
    owner, _ = get_user_model().objects.get_or_create(username="bench")
    team, _ = Team.objects.get_or_create(name="Bench")
    Membership.objects.get_or_create(team=team, user=owner, defaults={"role": Role.OWNER})
    project, created = Project.objects.get_or_create(team=team, name="CRD")
    if created:
        files = load_project(SAMPLE)
        history.create_version(project, files, author=owner, message="sample", parent=None, entry=find_entry(files))
    version = project.latest_version
    Simulation.objects.filter(version__project=project).delete()
    cookies: list[str] = []
    ids: list[int] = []
    for member in range(-(-clients // per_user)):
        user, _ = get_user_model().objects.get_or_create(username=f"bench{tag}-{member}")
        Membership.objects.get_or_create(team=team, user=user, defaults={"role": Role.EDITOR})
        client = Client()
        client.force_login(user)
        for _ in range(min(per_user, clients - len(ids))):
            ids.append(Simulation.objects.create(owner=user, version=version).pk)
            cookies.append(client.cookies["sessionid"].value)
    return cookies, ids


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
        frame = orjson.loads(await ws.recv(decode=False))
        if frame["type"] == "snapshot":
            return ws
        if frame["type"] == "error":
            raise RuntimeError(frame["message"])


REPLIES = ("snapshot", "delta", "error")
# The client reads each frame's bytes with orjson (~19 us for the sample's 7.8 KB delta, against
# ~47 us for `json.loads` of the decoded text): it shares the cores with the servers it measures,
# and it reads only fields orjson and `json` parse alike (type, reply_to, status, idle, message).
#: open loop: how long the last unanswered steps are waited for (then counted as never answered)
DRAIN_SECONDS = 10.0
#: open loop: client k first takes k % STAGGER steps, not timed (``--stagger``). The sample's call
#: lasts ~12 macrosteps whatever the client, so clients that all start at its first step all end
#: it, and restart it, within the same second: a burst of ~500 restarts every ~12 s that no team's
#: users, each on their own call, make.
STAGGER = 12
#: the period of the client's own lag probe (`own_lag`)
LAG_TICK = 0.005


async def answer(ws: object, message_id: int) -> dict:
    while True:
        frame = orjson.loads(await ws.recv(decode=False))
        if frame.get("reply_to") == message_id and frame["type"] in REPLIES:
            return frame


async def open_loop_client(
    ws: object, rate: float, start: float, stop_at: float, latencies: list[float], errors: list[str]
) -> tuple[int, int]:
    """Steps due every 1/rate s from `start`, each sent when due whether or not earlier ones were
    answered; a step's latency runs from when it was due (a client that falls behind does not
    hide the delay: no coordinated omission). Returns (answered in time, never answered)."""
    due: dict[int, float] = {}
    answered = 0
    restarting: set[int] = set()
    done = asyncio.Event()

    async def reader() -> None:
        nonlocal answered
        while not (done.is_set() and not due):
            try:
                frame = orjson.loads(await asyncio.wait_for(ws.recv(decode=False), timeout=DRAIN_SECONDS))
            except TimeoutError:
                return  # the rest is unanswered
            reply = frame.get("reply_to")
            if reply in restarting or frame["type"] not in REPLIES or reply not in due:
                restarting.discard(reply)
                continue
            latencies.append(time.perf_counter() - due.pop(reply))
            if frame["type"] == "error":
                errors.append(frame["message"])
                continue
            answered += 1
            if frame.get("status", "running") != "running":  # the call ended: start it again (not timed)
                restarting.add(-reply)
                await ws.send(json.dumps({"action": "restart", "id": -reply}))

    task = asyncio.create_task(reader())
    message_id = 0
    while (at := start + message_id / rate) < stop_at:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        message_id += 1
        due[message_id] = at
        await ws.send(json.dumps({"action": "step", "unit": "macrostep", "id": message_id}))
    done.set()
    await task
    return answered, len(due)


async def stagger(ws: object, steps: int) -> None:
    """Take `steps` steps, restarting the call when it ends, each answered before the next (not
    timed): the open loop's clients then start their measured steps at different points of their
    calls, as a team's users do (``--stagger``)."""
    for i in range(steps):
        message_id = -1_000_000 - 2 * i  # apart from the measured steps' ids and their restarts'
        await ws.send(json.dumps({"action": "step", "unit": "macrostep", "id": message_id}))
        frame = await answer(ws, message_id)
        if frame["type"] != "error" and frame.get("status", "running") != "running":
            await ws.send(json.dumps({"action": "restart", "id": message_id - 1}))
            await answer(ws, message_id - 1)


async def own_lag(stop_at: float, lags: list[float]) -> None:
    """This client's own event loop lag until `stop_at`: how late a 5 ms sleep wakes up, every 5 ms.
    A step's latency is timed by this loop, so a stall of the client (its CPU taken by the servers
    or the neighbours) shows in it as if the server were slow: the lag says how much."""
    while (before := time.perf_counter()) < stop_at:
        await asyncio.sleep(LAG_TICK)
        lags.append(time.perf_counter() - before - LAG_TICK)


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


def servers_cpu(servers: list) -> float:
    """The Daphne processes' CPU seconds so far."""
    return sum(cpu_seconds(server.process.pid) for server in servers)


async def measure(
    servers: list, cookies: list[str], ids: list[int], seconds: float, rate: float | None, phases: int = 0
) -> dict:
    url = servers[0].port_url  # the one port all processes share
    connect_cpu = servers_cpu(servers)
    started = time.perf_counter()
    semaphore = asyncio.Semaphore(50)  # a team opening its pages, not everyone in the same instant

    async def open_one(cookie: str, sim_id: int) -> object:
        async with semaphore:
            return await connect(f"ws{url.removeprefix('http')}/ws/simulations/{sim_id}/", cookie)

    sockets = await asyncio.gather(*(open_one(cookie, i) for cookie, i in zip(cookies, ids, strict=True)))
    connect_seconds = time.perf_counter() - started
    connect_cpu = servers_cpu(servers) - connect_cpu
    from tests.servers import live_simulations

    held = [await asyncio.to_thread(live_simulations, server.url) for server in servers]
    if rate is not None and phases > 1:
        await asyncio.gather(*(stagger(ws, k % phases) for k, ws in enumerate(sockets)))
    latencies: list[float] = []
    errors: list[str] = []
    unanswered = 0
    client_cpu = time.process_time()
    step_cpu = servers_cpu(servers)
    begin = time.perf_counter()
    lags: list[float] = []
    lag_task = asyncio.create_task(own_lag(begin + seconds, lags))
    if rate is None:
        counts = await asyncio.gather(*(client_loop(ws, begin + seconds, latencies, errors) for ws in sockets))
    else:
        # client k's schedule starts k/N of an interval in: the offered load is even over time
        spread = 1 / (len(sockets) * rate)
        outcomes = await asyncio.gather(
            *(
                open_loop_client(ws, rate, begin + k * spread, begin + seconds, latencies, errors)
                for k, ws in enumerate(sockets)
            )
        )
        counts = [answered for answered, _ in outcomes]
        unanswered = sum(missing for _, missing in outcomes)
    elapsed = time.perf_counter() - begin
    await lag_task
    client_cpu = time.process_time() - client_cpu
    step_cpu = servers_cpu(servers) - step_cpu
    await asyncio.gather(*(ws.close() for ws in sockets))
    mean = statistics.fmean(latencies)
    latencies.extend([math.inf] * unanswered)  # in the percentiles, as slower than any answer
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    result = {
        "processes": len(servers),
        "sockets_per_process": held,
        "mode": "closed" if rate is None else f"open {rate:g}/s per client",
        "clients": len(ids),
        "connect_s": round(connect_seconds, 2),
        "steps": sum(counts),
        "steps_per_s": round(sum(counts) / elapsed, 1),
        "p50_ms": round(pct(0.50), 1),
        "p99_ms": round(pct(0.99), 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "mean_ms": round(mean * 1000, 1),
        "errors": len(errors),
        # this bench client's own CPU (it shares the machine's cores with the servers)
        "client_cpu_ms_per_step": round(client_cpu * 1000 / max(sum(counts), 1), 2),
        # and its own event loop's lag (`own_lag`): a latency's share that is the client's, not the server's
        "client_lag_p99_ms": round(sorted(lags)[int(0.99 * len(lags))] * 1000, 1) if lags else None,
        "client_lag_max_ms": round(max(lags, default=0.0) * 1000, 1),
        # Daphne's CPU by phase: the handshakes and first snapshots, then the stepping alone
        "connect_cpu_ms_per_client": round(connect_cpu * 1000 / len(ids), 2),
        "stepping_cpu_ms_per_step": round(step_cpu * 1000 / max(sum(counts), 1), 2),
    }
    if errors:  # what the server refused, most frequent first
        result["error_messages"] = dict(collections.Counter(errors).most_common(3))
    if rate is not None:
        result.update(offered_per_s=round(rate * len(ids), 1), unanswered=unanswered)
    return result


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
    parser.add_argument("--per-user", type=int, default=2, help="clients (simulations) per team member (2)")
    parser.add_argument("--debug", action="store_true", help="run Django with DEBUG=1 (default: DEBUG=0)")
    parser.add_argument("--pin", action="store_true", help="each Daphne process on one CPU (serve --pin)")
    parser.add_argument(
        "--stagger",
        type=int,
        default=STAGGER,
        metavar="P",
        help=f"open loop: client k first takes k %% P steps, not timed ({STAGGER}; 0: every call in step)",
    )
    args = parser.parse_args()
    mode = settings_mode(args.debug)
    from tests.servers import daphne_servers

    if 2 in args.processes and not (
        os.environ.get("REDIS_URL") and os.environ.get("BENCH_DATABASE_URL", "").startswith("postgres")
    ):
        sys.exit("two processes need REDIS_URL and a PostgreSQL BENCH_DATABASE_URL (see the docstring)")
    with tempfile.TemporaryDirectory() as tmp:
        database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        prepare(database_url, 0)
        layer = "redis" if os.environ.get("REDIS_URL") else "in-memory"
        workers = os.environ.get("ORCHWEB_SIMULATION_WORKERS", "4")
        print(f"{layer} channel layer, {workers} simulation workers per process, {os.cpu_count()} CPUs")
        print("each Daphne process on one CPU (--pin)" if args.pin else "Daphne's threads on any CPU (--pin: one each)")
        print(f"Django: {mode}")
        print(f"team members with {args.per_user} simulations open each; the product's quotas")
        if args.rate is not None:
            print(
                f"open loop: client k first takes k % {args.stagger} steps (not timed): calls at different points"
                if args.stagger > 1
                else "open loop: every call in step (--stagger 0): they all end, and restart, in the same second"
            )
        print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
        for n in args.clients:
            by_processes = {}
            for processes in args.processes:
                cookies, ids = prepare(database_url, n, args.per_user, tag=f"-{n}-{processes}-{os.getpid()}")
                env = {"DATABASE_URL": database_url}
                with daphne_servers(f"bench-{n}", env, processes, pin=args.pin) as servers:
                    cpu = servers_cpu(servers)
                    result = asyncio.run(measure(servers, cookies, ids, args.seconds, args.rate, args.stagger))
                    # Daphne's CPU time per step (connects, closes and --stagger's steps included): steadier than
                    # steps/s on a busy machine
                    spent = servers_cpu(servers) - cpu
                    result["cpu_ms_per_step"] = round(spent * 1000 / max(result["steps"], 1), 2)
                result["load"] = round(os.getloadavg()[0], 1)
                by_processes[processes] = result
                print(json.dumps(result), flush=True)
            if 1 in by_processes and 2 in by_processes and args.rate is None:  # open loop: compare the p99s
                ratio = by_processes[2]["steps_per_s"] / max(by_processes[1]["steps_per_s"], 0.1)
                print(f"N={n}: two processes serve {ratio:.2f}x the steps/s of one", flush=True)
        print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
