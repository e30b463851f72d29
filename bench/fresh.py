#!/usr/bin/env python
"""Interleaved A/B of the simulation page's opens on two source trees (Playwright + Debian chromium).

    .venv/bin/python bench/fresh.py --trees /path/to/before /path/to/after --rounds 6

The figures `bench/browser.py` prints once per run swing by 100 ms between runs on the shared
2-core machine; this compares two trees opening the same pages alternately, many times, and
prints medians. Each tree (a checkout with its own `.venv` and collected static files) gets its own
SQLite database, prepared by its own Python, and its own Daphne process (DEBUG=0, as production
runs: `collectstatic` is run in each tree first). Setup per tree: `bench/browser.py`'s 100-state
chain, its owner, `--rounds` readers of the team (viewers) with a simulation each; the owner's first
open lays the chart out (ELK) and posts the layout; then a simulation of the owner's gets >= 300
trace records (100 `next` events injected, then Run).

Per round, each tree in turn (the order alternates by round):
- fresh: a reader's first open of the version, in a fresh browser context (nothing cached; the
  owner's layout served): navigation start -> "sim-ready";
- reopen: the owner's simulation with >= 300 records, reopened in the owner's context (its static
  files cached), once the server has saved and released it;
- elk (only with `--only elk`): the reader's first open of a version nobody laid out (a project of
  its own, a chart of its own: no layout served, ELK runs in the page's worker), in a fresh
  browser context, as `bench/browser.py`'s first open;
- landing (only with `--only landing`, server layouts on): the same reader's first page in a fresh
  browser context is the projects list (no diagram), as after logging in; once that page reported
  the browser's font table (base.js, after its first view: waited for up to 3 s, a tree whose
  pages do not report goes on after that) and the server stored its layout of the reader's
  version (designer.serverlayouts.lay_out_latest: the time from the projects list's navigation to
  the layout is printed as "layout stored"), the reader's first open of that version, a new page
  of the same context. Each reader's version is the one project of a team of its own, so that its
  layout is made for its reader's report, not an earlier reader's of the same browser's table.
`--settle`: each new page first shows about:blank for a second, then opens the simulation (a
fresh context still has nothing cached). A new page (a window, in headless Chrome) also starts
Chrome's own window UI (a "WebUI Top Renderer" process, the omnibox popup: 60-220 ms of CPU in
Chrome traces of these opens on the 2-core machine), which then competes with the measured open;
a user's browser has its window up before they navigate.
`--playwright-wait`: sim-ready waited for with Playwright's wait_for_function, as before
2026-12-07 (its injected script is then compiled in the page during the open; by default the
bench waits through the DevTools protocol, bench/browser.py `wait_until_ready`).
`--latency MS`: Chrome's network emulation delays each request's answer by MS (a server across a
network rather than on the same machine): the files that wait for one of the browser's six
connections to the server then wait a round trip more.
Printed per tree: median and mean of sim-ready, DOMContentLoaded and the first snapshot, and the
Daphne process's CPU per open (user + system time from /proc around each open). The load average
is printed before and after. `--cpu` adds each open's renderer main-thread CPU (a Chrome trace, as
`bench/browser.py --cpu`; tracing slows the opens).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from browser import CHROMIUM, TIMELINE, TRACE_CATEGORIES, main_thread_cpu, wait_until_ready  # noqa: E402

ENV = {"DEBUG": "0", "ORCHWEB_HTTPS": "0", "SECRET_KEY": "bench-fresh-" * 5, "DJANGO_SETTINGS_MODULE": "tests.settings"}

#: run in each tree's own Python (cwd = the tree): migrate, the users, the version, simulations
PREPARE = """
import json, os, sys
sys.path.insert(0, "bench")
from browser import prepare
from pathlib import Path
readers = int(sys.argv[2])
cookie, simulation, another, _, _ = prepare(Path(sys.argv[1]), 100)
from django.contrib.auth import get_user_model
from django.test import Client
from designer import history
from designer.models import Membership, Project, Role, Team
from simulator.models import Simulation
from browser import strategy
version = Simulation.objects.get(pk=simulation).version
team = version.project.team
out = []
unlaid = []
for n in range(readers):
    user = get_user_model().objects.create(username=f"fresh-reader-{n}")
    Membership.objects.create(team=team, user=user, role=Role.VIEWER)
    client = Client()
    client.force_login(user)
    out.append((client.cookies["sessionid"].value, Simulation.objects.create(owner=user, version=version).pk))
    # A project of its own, in a team of its own, whose one version nobody laid out (its events
    # renamed: a chart of its own).
    solo = Team.objects.create(name=f"Solo {n}")
    Membership.objects.create(team=solo, user=user, role=Role.OWNER)
    project = Project.objects.create(team=solo, name=f"Unlaid {n}", created_by=version.author)
    chart = strategy(100).replace(b'event="next"', f'event="e{n}"'.encode())
    unlaid_version = history.create_version(
        project, {"chain.scxml": chart}, author=version.author, message="unlaid", parent=None, entry="chain.scxml"
    )
    unlaid.append((Simulation.objects.create(owner=user, version=unlaid_version).pk, unlaid_version.pk))
print(json.dumps({"cookie": cookie, "simulation": simulation, "readers": out, "unlaid": unlaid}))
"""


#: in the page: ms from the HTML received to simulation.js received (its request waits for one of
#: the browser's six connections to the server when more files are on the page's critical path)
SIMULATION_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const js = performance.getEntriesByType("resource").find((r) => r.name.includes("/simulator/simulation."));
  return js ? js.responseEnd - nav.responseEnd : NaN;
}"""


#: --settle: how long a new page's about:blank waits before the measured open
SETTLE_MS = 1000
#: --only landing: how long the projects list is given to report the browser's font table
REPORT_WAIT_MS = 3000
#: in the page: ms from navigation start to the font report's answer
REPORTED = """() => {
  const post = performance.getEntriesByType("resource").find((r) => r.name.includes("/api/fonts"));
  return post ? post.responseEnd : NaN;
}"""


def python(tree: Path) -> str:
    return str(tree / ".venv" / "bin" / "python")


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far, in ns precision: the sum over its threads' schedstat (a thread
    that exited in between is missed: Daphne's threads live as long as it does)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1e9


class Tree:
    """One tree's database and Daphne process."""

    def __init__(self, root: Path, tmp: Path, readers: int, server_layouts: bool = False) -> None:
        self.root = root
        self.database = tmp / f"{root.name}.sqlite3"
        self.env = {**os.environ, **ENV, "DATABASE_URL": f"sqlite:///{self.database}", "PYTHONUNBUFFERED": "1"}
        self.env["ORCHWEB_SIM_STEPS_PER_SECOND"] = "1000"
        # Daphne's (the versions are made before it starts: tests.settings has them off)
        self.server_env = {**self.env, "ORCHWEB_DIAGRAM_SERVER_LAYOUTS": "1" if server_layouts else "0"}
        collect = [python(root), "manage.py", "collectstatic", "--noinput", "-v0"]
        subprocess.run(collect, cwd=root, env=self.env, check=True)
        out = subprocess.run(
            [python(root), "-c", PREPARE, str(self.database), str(readers)],
            cwd=root,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        self.data = json.loads(out.strip().splitlines()[-1])
        self.log = (tmp / f"{root.name}.log").open("wb")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        daphne = [python(root), "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "orchweb.asgi:application"]
        self.process = subprocess.Popen(
            daphne, cwd=root, env=self.server_env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.results: dict[str, list[dict[str, float]]] = {"fresh": [], "reopen": [], "elk": [], "landing": []}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def idle(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            ready = json.loads(urllib.request.urlopen(f"{self.url}/readyz", timeout=5).read() or b"{}")
            pool = ready.get("pool") or {}
            if ready.get("simulations") == 0 and pool.get("busy") == pool.get("queued") == 0:
                return
            time.sleep(0.05)


def open_page(
    tree: Tree, context, path: str, cpu: bool, settle: bool = False, latency: float = 0, playwright_wait: bool = False
) -> tuple[object, dict[str, float]]:
    page = context.new_page()
    if latency:  # Chrome's network emulation: each request's answer comes `latency` ms later
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        conditions = {"offline": False, "latency": latency, "downloadThroughput": -1, "uploadThroughput": -1}
        cdp.send("Network.emulateNetworkConditions", conditions)
    if settle:  # the context's window up (Chrome's own UI renderer started) before the measured open
        page.goto("about:blank")
        page.wait_for_timeout(SETTLE_MS)
    if cpu:
        context.browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
    before = cpu_seconds(tree.process.pid)
    page.goto(tree.url + path)
    wait_until_ready(page, playwright_wait)
    marks = page.evaluate(TIMELINE)
    marks["simjs"] = page.evaluate(SIMULATION_JS)
    marks["daphne"] = (cpu_seconds(tree.process.pid) - before) * 1000
    if cpu:
        trace = context.browser.stop_tracing()
        marks.update(main_thread_cpu(trace))
        marks.update(chrome_cpu(trace))
    return page, marks


def server_layout_stored(tree: Tree, version: int) -> bool:
    with sqlite3.connect(tree.database, timeout=10) as db:
        query = "SELECT 1 FROM designer_serverdiagramlayout WHERE version_id = ?"
        return db.execute(query, (version,)).fetchone() is not None


def landing_open(tree: Tree, browser, round_: int, args: argparse.Namespace) -> dict[str, float]:
    """--only landing: the projects list first, its font report and the server's layout waited
    for, then the measured first open of the reader's version nobody laid out."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    cookie, _ = tree.data["readers"][round_]
    simulation, version = tree.data["unlaid"][round_]
    context = browser.new_context(bypass_csp=True)
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": tree.url}])
    page = context.new_page()
    started = time.monotonic()
    page.goto(tree.url + "/projects/")
    stored = float("nan")
    marks: dict[str, float] = {}
    try:
        page.wait_for_function("!!document.body.dataset.fontsReported", timeout=REPORT_WAIT_MS)
    except PlaywrightTimeout:
        pass  # this tree's pages do not report: the open runs ELK
    else:
        marks["reported"] = page.evaluate(REPORTED)
        deadline = time.monotonic() + 60
        while not server_layout_stored(tree, version) and time.monotonic() < deadline:
            time.sleep(0.05)
        stored = (time.monotonic() - started) * 1000
    page.close()
    page, opened = open_page(
        tree, context, f"/simulations/{simulation}/", args.cpu, args.settle, args.latency, args.playwright_wait
    )
    marks.update(opened)
    marks["layout source"] = page.evaluate("document.body.dataset.layoutSource")
    marks["stored"] = stored
    context.close()
    return marks


def chrome_cpu(trace: bytes) -> dict[str, float]:
    """CPU ms of all Chrome's traced threads (every process) from the page's navigation start to its
    "sim-ready" mark, and the share of it of Chrome's own window UI (the "WebUI Top Renderer")."""
    events = json.loads(trace)["traceEvents"]
    ready = next(e for e in events if e["name"] == "sim-ready")
    start = ready["ts"] - ready["args"]["data"]["startTime"] * 1000
    process = {e["pid"]: e["args"]["name"] for e in events if e.get("ph") == "M" and e["name"] == "process_name"}
    tasks = sorted(
        (e for e in events if e.get("ph") == "X" and "tdur" in e and start <= e["ts"] <= ready["ts"]),
        key=lambda e: (e["ts"], -e["dur"]),
    )
    total = ui = 0.0
    ends: dict[tuple[int, int], float] = {}  # per thread, the end of the top-level task being summed
    for e in tasks:
        thread = (e["pid"], e["tid"])
        if e["ts"] >= ends.get(thread, 0):
            total += e["tdur"]
            ui += e["tdur"] if process.get(e["pid"]) == "WebUI Top Renderer" else 0
            ends[thread] = e["ts"] + e["dur"]
    return {"chrome cpu": total / 1000, "chrome ui cpu": ui / 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trees", nargs=2, type=Path, required=True, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--cpu", action="store_true", help="the main thread's CPU per open, from a Chrome trace")
    parser.add_argument(
        "--only", choices=["fresh", "reopen", "elk", "landing"], help="one kind of open (elk, landing: only so)"
    )
    parser.add_argument(
        "--settle", action="store_true", help="about:blank first in each new page, its window's own UI started"
    )
    parser.add_argument("--latency", type=float, default=0, help="ms added to each request (Chrome's emulation)")
    parser.add_argument(
        "--playwright-wait", action="store_true", help="sim-ready waited for with Playwright's wait_for_function"
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        trees = [Tree(root.resolve(), Path(tmp), args.rounds, args.only == "landing") for root in args.trees]
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            owners = []
            for tree in trees:  # the owner's first open (ELK, layout posted), then >= 300 records
                if args.only == "landing":  # not needed, and its page would report the same table
                    owners.append((None, ""))
                    continue
                context = browser.new_context(bypass_csp=True)
                context.add_cookies([{"name": "sessionid", "value": tree.data["cookie"], "url": tree.url}])
                path = f"/simulations/{tree.data['simulation']}/"
                page, _ = open_page(tree, context, path, False)
                page.wait_for_function("document.body.dataset.layoutStored")
                for n in range(100):
                    page.evaluate(
                        "(n) => window.simulationPage.socket().send(JSON.stringify("
                        "{action: 'inject', event: 'next', id: 'next-' + n}))",
                        n,
                    )
                page.wait_for_function("Number(document.body.dataset.simReplies || 0) >= 100", timeout=120_000)
                page.click("#sim-run")
                page.wait_for_function(
                    "window.simulationPage.records().length >= 300 && document.body.dataset.simRunning === '0'",
                    timeout=120_000,
                )
                page.close()
                tree.idle()
                owners.append((context, path))
            load = os.getloadavg()
            print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
            for round_ in range(args.rounds):
                order = list(zip(trees, owners, strict=True))
                if round_ % 2:
                    order.reverse()
                for tree, (context, path) in order:
                    if args.only == "landing":
                        tree.results["landing"].append(landing_open(tree, browser, round_, args))
                        tree.idle()
                        continue
                    if args.only == "elk":
                        cookie, _ = tree.data["readers"][round_]
                        fresh = browser.new_context(bypass_csp=True)
                        fresh.add_cookies([{"name": "sessionid", "value": cookie, "url": tree.url}])
                        simulation, _ = tree.data["unlaid"][round_]
                        page, marks = open_page(
                            tree, fresh, f"/simulations/{simulation}/", args.cpu, args.settle, args.latency
                        )
                        fresh.close()
                        tree.results["elk"].append(marks)
                        tree.idle()
                        continue
                    if args.only != "reopen":
                        cookie, simulation = tree.data["readers"][round_]
                        fresh = browser.new_context(bypass_csp=True)
                        fresh.add_cookies([{"name": "sessionid", "value": cookie, "url": tree.url}])
                        page, marks = open_page(
                            tree,
                            fresh,
                            f"/simulations/{simulation}/",
                            args.cpu,
                            args.settle,
                            args.latency,
                            args.playwright_wait,
                        )
                        fresh.close()
                        tree.results["fresh"].append(marks)
                        tree.idle()
                    if args.only != "fresh":
                        page, marks = open_page(
                            tree, context, path, args.cpu, args.settle, args.latency, args.playwright_wait
                        )
                        page.close()
                        tree.results["reopen"].append(marks)
                        tree.idle()
            load = os.getloadavg()
            print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
            browser.close()
        finally:
            for tree in trees:
                tree.stop()
    for kind in ("fresh", "reopen", "elk", "landing"):
        for tree in trees:
            runs = tree.results[kind]
            if not runs:
                continue
            parts = []
            for key, name in (
                ("ready", "sim-ready"),
                ("scripts", "DOMContentLoaded"),
                ("snapshot", "snapshot"),
                ("simjs", "HTML -> simulation.js"),
                ("daphne", "Daphne CPU"),
                ("reported", "the projects list's font report answered"),
                ("stored", "layout stored after the projects list's navigation"),
                ("cpu", "main thread CPU"),
                ("chrome cpu", "Chrome CPU"),
                ("chrome ui cpu", "of it Chrome's window UI"),
            ):
                values = [r[key] for r in runs if key in r and r[key] == r[key]]  # not NaN
                if values:
                    parts.append(f"{name} median {statistics.median(values):.0f} (mean {statistics.mean(values):.0f})")
            ready = " ".join(f"{r['ready']:.0f}" for r in runs)
            sources = " ".join(sorted({str(r["layout source"]) for r in runs if "layout source" in r}))
            drawn = f"; layouts from: {sources}" if sources else ""
            print(f"{kind:6} {tree.root}: {len(runs)} opens, " + ", ".join(parts) + f" ms; sim-ready: {ready}{drawn}")


if __name__ == "__main__":
    main()
