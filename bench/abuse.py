#!/usr/bin/env python
"""Abuse benchmark: what one hostile user's floods do to health checks and to other users.

    .venv/bin/python bench/abuse.py                    # every flood, 15 s each
    .venv/bin/python bench/abuse.py --seconds 10 --floods lint simulations

Setup (outside the measurement): a fresh SQLite database in a temporary folder, two users
(alice floods, bob works), the sample project ``../shared/ors-samples/crd-gvp-wf`` as bob's
version, and one Daphne process (tests/servers.py, test settings, per-user websocket quotas as
configured; the test settings' request rates, which no flood reaches, unless ORCHWEB_RATE_* are
set in the environment). During each flood, two probes run side by side:

- `/healthz` every 0.2 s (latency p50/p99/max, failures: what a load balancer sees);
- bob stepping his own simulation in a closed loop over the websocket (step -> snapshot latency).

Floods (alice, concurrently for --seconds):
- ``json``: 8 clients posting 30 MB JSON bodies to the API (bytes sent, answers);
- ``lint``: 4 clients asking lint and graph of a 200,000-state document in alice's draft;
- ``simulations``: 5 websockets running simulations of a strategy with a large datamodel to the
  end, again and again (what one heavy user does to the shared worker pool);
- ``login``: wrong passwords for bob's account as fast as one client can (answers by status:
  200 form shown again, 429 locked), then bob's right password (302 = let in).

Printed figures: one JSON line per phase (``baseline``, each flood, ``after``) with healthz and
bob's step latency, the server's RSS at the end of the phase, and the flood's own counters.
Prints; never asserts. Figures depend on the machine's load: quote ``uptime`` with them.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.charts import heavy_chart  # noqa: E402  (importable once ROOT is on the path)

SHARED = Path(os.environ.get("ORCHWEB_SHARED", ROOT.parent / "shared"))
SAMPLE = SHARED / "ors-samples" / "crd-gvp-wf"

HEAVY = heavy_chart(50000)


def big_chart(states: int) -> bytes:
    head = '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="s0">'
    body = "\n".join(f'<state id="s{i}"><transition event="e" target="s{i + 1}"/></state>' for i in range(states))
    return f'{head}\n{body}\n<final id="s{states}"/>\n</scxml>\n'.encode()


def prepare(database: Path) -> dict[str, Any]:
    """Migrate a fresh database; users, projects, simulations, tokens and session cookies."""
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from designer import history
    from designer.models import Membership, Project, Role, Team
    from simulator.models import Simulation
    from simulator.ors.project import find_entry, load_project

    call_command("migrate", verbosity=0)
    users = {}
    for name in ("alice", "bob"):
        user = get_user_model().objects.create_user(name, password=f"pw-{name}-bench-1")
        team = Team.objects.create(name=f"{name}'s team")
        Membership.objects.create(team=team, user=user, role=Role.OWNER)
        users[name] = (user, team)
    bob, bob_team = users["bob"]
    crd = Project.objects.create(team=bob_team, name="CRD", created_by=bob)
    files = load_project(SAMPLE)
    version = history.create_version(crd, files, author=bob, message="sample", parent=None, entry=find_entry(files))
    alice, alice_team = users["alice"]
    heavy = Project.objects.create(team=alice_team, name="Heavy", created_by=alice)
    heavy_version = history.create_version(
        heavy, {"main.scxml": HEAVY}, author=alice, message="heavy", parent=None, entry="main.scxml"
    )
    big = Project.objects.create(team=alice_team, name="Big", created_by=alice)
    history.create_version(
        big, {"main.scxml": big_chart(200_000)}, author=alice, message="big", parent=None, entry="main.scxml"
    )
    history.get_or_start_draft(big, alice)
    cookies = {}
    for name, (user, _) in users.items():
        client = Client()
        client.force_login(user)
        cookies[name] = client.cookies["sessionid"].value
    return {
        "bob_simulation": Simulation.objects.create(owner=bob, version=version).pk,
        "heavy_version": heavy_version.pk,
        "big_project": big.pk,
        "cookies": cookies,
        "alice_token": Token.objects.create(user=alice).key,
    }


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return -1.0


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)

    return {
        "n": len(ordered),
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


def request(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 60
) -> tuple[int, int]:
    """(status, bytes sent) of one request; 0 for a connection failure or timeout."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(
            method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=headers or {}
        )
        response = connection.getresponse()
        response.read()
        return response.status, len(body or b"")
    except OSError:
        return 0, len(body or b"")
    finally:
        connection.close()


async def probe_health(url: str, stop: asyncio.Event, out: dict[str, Any]) -> None:
    latencies: list[float] = []
    failures = 0
    while not stop.is_set():
        started = time.perf_counter()
        status, _ = await asyncio.to_thread(request, f"{url}/healthz", timeout=10)
        latencies.append(time.perf_counter() - started)
        failures += status != 200
        await asyncio.sleep(0.2)
    out["healthz"] = {**percentiles(latencies), "failures": failures}


async def connect(url: str, cookie: str) -> Any:
    import websockets

    return await websockets.connect(
        url,
        additional_headers={"Cookie": f"sessionid={cookie}", "Origin": "http" + url[2:].split("/ws/")[0]},
        max_size=None,
        open_timeout=120,
        ping_interval=None,
    )


async def frame_until(ws: Any, predicate: Any) -> dict:
    while True:
        frame = json.loads(await ws.recv())
        if predicate(frame):
            return frame


REPLIES = ("snapshot", "delta", "error")


async def probe_bob(ws_url: str, env: dict[str, Any], stop: asyncio.Event, out: dict[str, Any]) -> None:
    latencies: list[float] = []
    errors = 0
    ws = await connect(f"{ws_url}/ws/simulations/{env['bob_simulation']}/", env["cookies"]["bob"])
    await frame_until(ws, lambda f: f["type"] in ("snapshot", "error"))
    message_id = 0
    while not stop.is_set():
        message_id += 1
        started = time.perf_counter()
        await ws.send(json.dumps({"action": "step", "unit": "macrostep", "id": message_id}))
        frame = await frame_until(ws, lambda f, m=message_id: f.get("reply_to") == m and f["type"] in REPLIES)
        latencies.append(time.perf_counter() - started)
        if frame["type"] == "error":
            errors += 1
        elif frame["status"] != "running" or frame.get("idle"):
            message_id += 1
            await ws.send(json.dumps({"action": "restart", "id": message_id}))
            await frame_until(ws, lambda f, m=message_id: f.get("reply_to") == m)
        await asyncio.sleep(0.05)
    await ws.close()
    out["bob_step"] = {**percentiles(latencies), "errors": errors}


async def flood_json(url: str, env: dict[str, Any], stop: asyncio.Event, out: dict[str, Any]) -> None:
    body = b'{"name": "' + b"x" * (30 * 1024 * 1024) + b'"}'
    headers = {"Content-Type": "application/json", "Authorization": f"Token {env['alice_token']}"}
    answers: dict[str, int] = {}
    sent = 0

    async def one() -> None:
        nonlocal sent
        while not stop.is_set():
            status, size = await asyncio.to_thread(request, f"{url}/api/projects", "POST", body, headers)
            answers[str(status)] = answers.get(str(status), 0) + 1
            sent += size

    await asyncio.gather(*(one() for _ in range(8)))
    out["flood"] = {"answers": answers, "mb_sent": round(sent / 1024 / 1024)}


async def flood_lint(url: str, env: dict[str, Any], stop: asyncio.Event, out: dict[str, Any]) -> None:
    headers = {"Authorization": f"Token {env['alice_token']}"}
    answers: dict[str, int] = {}
    durations: list[float] = []

    async def one(kind: str) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            status, _ = await asyncio.to_thread(
                request, f"{url}/api/projects/{env['big_project']}/draft/{kind}", "GET", None, headers, 60
            )
            durations.append(time.perf_counter() - started)
            answers[f"{kind} {status}"] = answers.get(f"{kind} {status}", 0) + 1

    await asyncio.gather(*(one(kind) for kind in ("lint", "graph", "lint", "graph")))
    out["flood"] = {"answers": answers, "request": percentiles(durations)}


async def flood_simulations(ws_url: str, env: dict[str, Any], stop: asyncio.Event, out: dict[str, Any]) -> None:
    runs = 0
    refused = 0

    async def one() -> None:
        nonlocal runs, refused
        while not stop.is_set():
            ws = await connect(f"{ws_url}/ws/simulations/", env["cookies"]["alice"])
            await frame_until(ws, lambda f: f["type"] == "hello")
            await ws.send(json.dumps({"action": "start", "version": env["heavy_version"], "id": 1}))
            frame = await frame_until(ws, lambda f: f.get("reply_to") == 1 or f["type"] == "error")
            if frame["type"] == "error":
                refused += 1
                await ws.close()
                await asyncio.sleep(0.5)
                continue
            await ws.send(json.dumps({"action": "run", "id": 2}))
            await frame_until(ws, lambda f: f["type"] in ("paused", "error"))
            runs += 1
            await ws.close()

    await asyncio.gather(*(one() for _ in range(5)))
    out["flood"] = {"runs": runs, "refused": refused}


def login_attempt(url: str, password: str) -> int:
    """One log-in through the form as a browser does it (CSRF cookie and token); the status."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("GET", "/accounts/login/")
        response = connection.getresponse()
        page = response.read().decode()
        cookie = (response.getheader("Set-Cookie") or "").split(";")[0]
        token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
        body = f"csrfmiddlewaretoken={token}&username=bob&password={password}".encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, "Referer": url}
        connection.request("POST", "/accounts/login/", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, IndexError):
        return 0
    finally:
        connection.close()


async def flood_login(url: str, env: dict[str, Any], stop: asyncio.Event, out: dict[str, Any]) -> None:
    answers: dict[str, int] = {}
    while not stop.is_set():
        status = await asyncio.to_thread(login_attempt, url, "guess")
        answers[str(status)] = answers.get(str(status), 0) + 1
    # Bob's right password afterwards: refused while his account is locked.
    out["flood"] = {
        "answers": answers,
        "bob_right_password": await asyncio.to_thread(login_attempt, url, "pw-bob-bench-1"),
    }


FLOODS = {"json": flood_json, "lint": flood_lint, "simulations": flood_simulations, "login": flood_login}


async def phase(server: Any, env: dict[str, Any], name: str, seconds: float) -> dict[str, Any]:
    stop = asyncio.Event()
    out: dict[str, Any] = {"phase": name}
    tasks = [probe_health(server.url, stop, out), probe_bob(server.ws_url, env, stop, out)]
    if name in FLOODS:
        target = server.ws_url if name == "simulations" else server.url
        tasks.append(FLOODS[name](target, env, stop, out))

    async def stopper() -> None:
        await asyncio.sleep(seconds)
        stop.set()

    await asyncio.gather(stopper(), *tasks)
    out["rss_mb"] = rss_mb(server.process.pid)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--floods", nargs="+", default=list(FLOODS), choices=list(FLOODS))
    args = parser.parse_args()
    from tests.servers import daphne_server

    with tempfile.TemporaryDirectory() as tmp:
        env = prepare(Path(tmp) / "abuse.sqlite3")
        print(f"one Daphne process, {os.cpu_count()} CPUs, load average {os.getloadavg()}", flush=True)
        with daphne_server("abuse", {"DATABASE_URL": f"sqlite:///{Path(tmp) / 'abuse.sqlite3'}"}) as server:
            for name in ["baseline", *args.floods, "after"]:
                result = asyncio.run(phase(server, env, name, args.seconds))
                print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
