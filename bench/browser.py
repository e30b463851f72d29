#!/usr/bin/env python
"""Browser latency of the simulation page (Playwright + Debian chromium): not a test, prints figures.

    .venv/bin/python bench/browser.py                 # 50 steps on a 100-state strategy
    .venv/bin/python bench/browser.py --steps 80 --states 150

Setup (outside the measurement): a fresh SQLite database in a temporary folder, one user, a
generated strategy of `--states` states (ten compound states of ten; each state's onentry logs,
assigns a variable and leaves on event `next`; the bench injects `next` events first, so every
macrostep moves the active configuration), one Daphne process (tests/servers.py).

Figures (the page's own readiness flags and performance marks, static/simulator/simulation.js):
- open: a new simulation page, navigation start -> the "sim-ready" mark (state and diagram shown),
  the first of the version for this user (ELK lays it out), then another simulation of the version
  in a new tab (its layout stored by the first open), then the first open of a version the user
  uploads through the upload page right after (a chart nobody laid out: the server lays it out in
  the background for the font table the user's browser reported on its first open,
  designer/serverlayouts.py; the bench waits for that layout, printing how long it took, then
  opens the version as the user would), then the first open of the project's next
  version, whose chart is the same (a file added beside it: served the earlier version's layout,
  designer.layouts.earlier_layout), then a reader's first simulation of the
  version (another user of the team, a viewer: served the layout the owner's first open posted,
  designer/layouts.py), in the same browser (its static files cached, as for a user who used the
  site before), and a second reader's in a fresh browser (nothing cached), then that reader's
  first open of the uploaded version in another fresh browser (no font table of theirs known: served
  the layout the server made for the diagram's bundled fonts); then, for a version of another
  project that nobody laid out (made by the bench as the server never laid it out: with server
  layouts off, after the readers' browsers reported their fonts, as a version made before an
  upgrade), the reader's first open of it in the same browser (ELK in the page: a reader's layout
  is shared with no one) and, once the server stored the layout that page queued
  (designer.serverlayouts.schedule_viewed; the bench waits for it, printing how long it took, on
  a tree that has it), the other reader's first open of it in a fresh browser (the server's layout
  there; ELK again on a tree without it);
- step -> highlight: click "Step" (a macrostep), then the frame applied (body data-sim-frames increments)
  and the next animation frame (the highlighted diagram is about to be painted); median, p90, max
  over `--steps` clicks;
- reopen: the same simulation with >= 200 trace records, loaded again in a new tab once the server
  has saved and released it (navigation -> "sim-ready"; before 2026-12-06 the reopen raced that
  save). The first open posted ELK's layout to the server (designer.models.DiagramLayout), so the
  reopen is served it with the page and runs no ELK. (Until 2026-12-06 the layout was only cached
  in the tab's sessionStorage, which a new tab does not share: the reopen ran ELK too.)
Each open also prints where its time went (milliseconds from navigation start): the HTML
received, DOMContentLoaded (scripts loaded and run), the first snapshot frame, the diagram drawn.
Goals (issue 12): < 50 ms step -> highlight, < 300 ms open.

Each open is made in a new page that first shows about:blank for a second (`--unsettled`: not, as
before 2026-12-06 evening). In headless Chrome a new page is a new window, and a new window starts
Chrome's own UI (a "WebUI Top Renderer" process, the omnibox popup): 60-220 ms of CPU in traces of
these opens, competing with the measured open on the 2-core machine, and a cost a user's browser
paid when its window opened, not when they navigate (docs/performance.md, "Chrome's window UI in
the bench's opens"). Nothing is cached by it: a fresh context stays fresh.

`--cpu` records a Chrome trace of each open (Playwright's `start_tracing`, the `devtools.timeline`
categories) and prints the renderer main thread's CPU time from navigation start to "sim-ready"
(the trace events' thread time, `tdur`, of its top-level tasks): what the page's own work costs,
a figure the machine's load moves far less than the wall clock (at load 5-10 the wall clock of an
open was 3-4x its main thread's CPU). Tracing slows the opens it records: with `--cpu`, compare the
wall figures only with other `--cpu` runs.

The bench waits for "sim-ready" with a promise evaluated through the DevTools protocol
(`wait_until_ready`), not Playwright's wait_for_function, whose first call compiles Playwright's
injected script in the page's main thread while the open is measured (`--playwright-wait`: as
before 2026-12-07).

`--production` serves as a deployment does (DEBUG=0, `collectstatic`: content-hashed static
files the browser caches for good, README "Static files"). Without it (the default, as before) the
server is in DEBUG, where every page load revalidates each static file with the server: under
load that is most of a reopen.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"

#: in the page: click Step, resolve with ms until the frame is applied and the next frame starts
CLICK_TO_HIGHLIGHT = """
() => new Promise((resolve, reject) => {
  const body = document.body;
  setTimeout(() => reject(new Error("no frame applied within 20 s: " + (body.dataset.simError || ""))), 20000);
  const before = Number(body.dataset.simFrames || 0);
  const observer = new MutationObserver(() => {
    if (Number(body.dataset.simFrames || 0) > before) {
      observer.disconnect();
      requestAnimationFrame(() => resolve(performance.now() - t0));
    }
  });
  observer.observe(body, { attributes: true, attributeFilter: ["data-sim-frames"] });
  const t0 = performance.now();
  document.querySelector("[data-step='macrostep']").click();
})
"""
INJECT = """(n) => window.simulationPage.socket().send(
  JSON.stringify({action: "inject", event: "next", id: "next-" + n}))"""
#: in the page: ms from navigation start to the HTML, DOMContentLoaded, and the page's own marks
TIMELINE = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const mark = (name) => (performance.getEntriesByName(name)[0] || {startTime: NaN}).startTime;
  return {html: nav.responseEnd, scripts: nav.domContentLoadedEventEnd, snapshot: mark("sim-snapshot"),
          diagram: mark("sim-diagram"), ready: mark("sim-ready"), layout: document.body.dataset.layoutSource};
}"""


def strategy(states: int) -> bytes:
    """`states` atomic states in compound groups of ten, each moving to the next on event `next`."""
    groups = []
    for g in range(0, states, 10):
        children = []
        for i in range(g, min(g + 10, states)):
            target = f"s{i + 1}" if i + 1 < states else "done"
            children.append(
                f'<state id="s{i}"><onentry><log label="at" expr="\'s{i}\'"/><assign location="count" '
                f'expr="count + 1"/></onentry><transition event="next" target="{target}"/></state>'
            )
        groups.append(f'<state id="group{g // 10}">{"".join(children)}</state>')
    return (
        '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="s0">'
        '<datamodel><data id="count" expr="0"/></datamodel>'
        f'{"".join(groups)}<final id="done"/></scxml>'
    ).encode()


def uploaded_chart(states: int) -> bytes:
    """The chain with other event names: a chart no earlier version had."""
    return strategy(states).replace(b'event="next"', b'event="onward"')


def upload_and_open(
    context: object, project_id: int, states: int, cpu: bool, settle: bool, playwright_wait: bool
) -> tuple[float, dict[str, float | str], int]:
    """Upload a new version through the upload page as the user, wait for the server's layout of
    it, start a simulation of it and open it. Returns (seconds from the upload to the layout
    stored, the open's marks, the version's id)."""
    from designer.models import Project, ServerDiagramLayout
    from simulator.models import Simulation

    page = context.new_page()
    page.goto(f"/projects/{project_id}/upload/")
    page.get_by_label("File").set_input_files(
        {"name": "chain.scxml", "mimeType": "application/xml", "buffer": uploaded_chart(states)}
    )
    page.get_by_label("Message").fill("events renamed")
    started = time.monotonic()
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/versions/*/")
    version = Project.objects.get(pk=project_id).latest_version
    while not ServerDiagramLayout.objects.filter(version=version).exists():
        if time.monotonic() - started > 120:
            raise SystemExit("no server layout of the uploaded version after 120 s (is the font table reported?)")
        time.sleep(0.05)
    ready = time.monotonic() - started
    page.close()
    simulation = Simulation.objects.create(owner=version.author, version=version)
    other, marks = open_page(context, f"/simulations/{simulation.pk}/", cpu, settle, playwright_wait)
    other.close()
    return ready, marks, version.pk


def unlaid_version(project_id: int, states: int) -> tuple[int, int]:
    """A version of a new project of the bench project's team, made here (server layouts off:
    tests.settings), with its own chart, and a simulation of it for each reader. Returns the
    readers' simulation ids."""
    from django.contrib.auth import get_user_model

    from designer import history
    from designer.models import Project
    from simulator.models import Simulation

    bench = Project.objects.get(pk=project_id)
    project = Project.objects.create(team=bench.team, name="Chain ahead", created_by=bench.created_by)
    chart = strategy(states).replace(b'event="next"', b'event="ahead"')
    version = history.create_version(
        project, {"chain.scxml": chart}, author=bench.created_by, message="ahead", parent=None, entry="chain.scxml"
    )
    users = get_user_model().objects
    reader, another = (users.get(username=name) for name in ("reader", "another-reader"))
    return (
        Simulation.objects.create(owner=reader, version=version).pk,
        Simulation.objects.create(owner=another, version=version).pk,
    )


def wait_for_viewed_layout(simulation_id: int, since: float) -> float | None:
    """Seconds from `since` until the server stored the bundled fonts' layout of the simulation's
    version, which its page queued (designer.serverlayouts.schedule_viewed); None at once on a
    tree without it."""
    from designer import serverlayouts
    from designer.models import ServerDiagramLayout
    from simulator.models import Simulation

    if not hasattr(serverlayouts, "schedule_viewed"):
        return None
    version = Simulation.objects.get(pk=simulation_id).version
    rows = ServerDiagramLayout.objects.filter(version=version, fingerprint=serverlayouts.BUNDLED_FINGERPRINT)
    while not rows.exists():
        if time.monotonic() - since > 120:
            raise SystemExit("no server layout of the viewed version after 120 s")
        time.sleep(0.05)
    return time.monotonic() - since


def prepare(database: Path, states: int) -> tuple[str, int, int, list[tuple[str, int]], int]:
    """Migrate; the user, the project version and two simulations of it, two viewers of the team
    and a simulation of it each, the next version (same chart) and a simulation of it. Returns
    (session cookie, simulation ids, the viewers' cookies and simulation ids, the next version's
    simulation id)."""
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from designer import history
    from designer.models import Membership, Project, Role, Team
    from simulator.models import Simulation

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create(username="bench")
    team = Team.objects.create(name="Bench")
    Membership.objects.create(team=team, user=user, role=Role.OWNER)
    project = Project.objects.create(team=team, name="Chain", created_by=user)
    version = history.create_version(
        project, {"chain.scxml": strategy(states)}, author=user, message="bench", parent=None, entry="chain.scxml"
    )
    simulation, another = (Simulation.objects.create(owner=user, version=version) for _ in range(2))
    # The next version: the same chart, a file beside it (designer.layouts.earlier_layout).
    files = {"chain.scxml": strategy(states), "notes.txt": b"the chart is unchanged\n"}
    following = history.create_version(
        project, files, author=user, message="notes", parent=version, entry="chain.scxml"
    )
    next_version = Simulation.objects.create(owner=user, version=following)

    def cookie(who: object) -> str:
        client = Client()
        client.force_login(who)
        return client.cookies["sessionid"].value

    readers = []
    for name in ("reader", "another-reader"):
        reader = get_user_model().objects.create(username=name)
        Membership.objects.create(team=team, user=reader, role=Role.VIEWER)
        readers.append((cookie(reader), Simulation.objects.create(owner=reader, version=version).pk))
    return cookie(user), simulation.pk, another.pk, readers, next_version.pk


TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "blink.user_timing"]


def main_thread_cpu(trace: bytes) -> dict[str, float]:
    """CPU ms of the renderer main thread that marked "sim-ready", from its navigation start to the
    mark: all its top-level tasks, and within them the state frames' handlers (`ws.onmessage`)."""
    events = json.loads(trace)["traceEvents"]
    ready = next(e for e in events if e["name"] == "sim-ready")
    thread = (ready["pid"], ready["tid"])
    start = ready["ts"] - ready["args"]["data"]["startTime"] * 1000  # the mark's time is from navigation start
    tasks = sorted(
        (e for e in events if (e["pid"], e["tid"]) == thread and e.get("ph") == "X" and "dur" in e),
        key=lambda e: (e["ts"], -e["dur"]),
    )
    total = frames = 0.0
    end = 0.0  # the end of the top-level task being summed: events before it are nested in it
    for e in tasks:
        if not start <= e["ts"] <= ready["ts"]:
            continue
        if e["ts"] >= end:
            total += e.get("tdur", 0)
            end = e["ts"] + e["dur"]
        if e["name"] == "FunctionCall" and "onmessage" in json.dumps(e.get("args")):
            frames += e.get("tdur", 0)
    return {"cpu": total / 1000, "frames cpu": frames / 1000}


#: how long a new page shows about:blank before the measured open (its window's own UI started)
SETTLE_MS = 1000

#: in the page, through the DevTools protocol: resolves once the page has marked "sim-ready". Not
#: Playwright's wait_for_function, whose first call compiles Playwright's own injected script in the
#: page's main thread (10-17 ms of CPU, 20-50 ms of wall clock at load 4 in Chrome traces), right
#: where the page's first snapshot waits for that thread.
SIM_READY = """new Promise((resolve, reject) => {
  const ready = () => document.body.dataset.simReady === "1";
  if (ready()) return resolve(true);
  const timer = setTimeout(() => reject(new Error("no sim-ready within 60 s")), 60000);
  const observer = new MutationObserver(() => {
    if (!ready()) return;
    observer.disconnect();
    clearTimeout(timer);
    resolve(true);
  });
  observer.observe(document.body, {attributes: true, attributeFilter: ["data-sim-ready"]});
})"""


def wait_until_ready(page: object, playwright_wait: bool = False) -> None:
    """Wait until the page marks "sim-ready" (`playwright_wait`: with Playwright's own
    wait_for_function, as before 2026-12-07)."""
    if playwright_wait:
        page.wait_for_function("document.body.dataset.simReady === '1'", timeout=60_000)
        return
    session = page.context.new_cdp_session(page)
    answer = session.send("Runtime.evaluate", {"expression": SIM_READY, "awaitPromise": True, "returnByValue": True})
    session.detach()
    if "exceptionDetails" in answer:
        raise RuntimeError(f"the page did not get ready: {answer['exceptionDetails']}")


def open_page(
    context: object, url: str, cpu: bool = False, settle: bool = True, playwright_wait: bool = False
) -> tuple[object, dict[str, float | str]]:
    page = context.new_page()
    if settle:  # a window already up, as a user's is: Chrome's own window UI is not part of the open
        page.goto("about:blank")
        page.wait_for_timeout(SETTLE_MS)
    if cpu:
        context.browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
    page.goto(url)
    wait_until_ready(page, playwright_wait)
    marks = page.evaluate(TIMELINE)
    if cpu:
        marks.update(main_thread_cpu(context.browser.stop_tracing()))
    return page, marks


def timeline(marks: dict[str, float | str]) -> str:
    cpu = ""
    if "cpu" in marks:
        cpu = f"; main thread CPU {marks['cpu']:.1f} ms, {marks['frames cpu']:.1f} of it the frames"
    return (
        f"{marks['ready']:.0f} ms (HTML {marks['html']:.0f}, DOMContentLoaded {marks['scripts']:.0f}, "
        f"first snapshot {marks['snapshot']:.0f}, diagram {marks['diagram']:.0f}, "
        f"layout from the {marks['layout']}{cpu})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--states", type=int, default=100)
    parser.add_argument("--production", action="store_true", help="DEBUG=0 with collected, cached static files")
    parser.add_argument("--cpu", action="store_true", help="the main thread's CPU per open, from a Chrome trace")
    parser.add_argument(
        "--unsettled",
        action="store_true",
        help="each page in a window just created (as before)",
    )
    parser.add_argument(
        "--playwright-wait",
        action="store_true",
        help="wait for sim-ready with Playwright's wait_for_function (as before 2026-12-07: its injected script "
        "is compiled in the page during the open)",
    )
    args = parser.parse_args()
    if args.production:  # this process too: the session it creates must be valid for the server
        os.environ.update({"DEBUG": "0", "ORCHWEB_HTTPS": "0", "SECRET_KEY": "bench-browser-" * 5})
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)
    # The bench reads and writes the database between pages (the uploaded version's layout, its
    # simulation) while Playwright's sync API runs its loop in this thread: plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    from tests.servers import daphne_server, wait_until_idle

    with tempfile.TemporaryDirectory() as tmp:
        cookie, simulation_id, another_id, readers, next_id = prepare(Path(tmp) / "bench.sqlite3", args.states)
        load = os.getloadavg()
        print(f"{args.states} states, {args.steps} steps; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        mode = "DEBUG=0, collected static files" if args.production else "DEBUG (static files revalidated)"
        print(f"server: {mode}")
        print(
            "pages: "
            + ("opened in a window just created" if args.unsettled else "opened from about:blank, their window up")
            + (", Playwright's wait_for_function" if args.playwright_wait else "")
        )
        env = {
            "DATABASE_URL": os.environ["DATABASE_URL"],
            "ORCHWEB_SIM_STEPS_PER_SECOND": "1000",
            "ORCHWEB_DIAGRAM_SERVER_LAYOUTS": "1",  # tests.settings has them off
        }
        with daphne_server("bench-browser", env) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            # The bench's wait_for_function strings are evaluated in the page: CSP (DEBUG=0) forbids that.
            context = browser.new_context(base_url=server.url, bypass_csp=args.production)
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": server.url}])
            url = f"/simulations/{simulation_id}/"
            page, first_open = open_page(context, url, args.cpu, not args.unsettled, args.playwright_wait)
            page.wait_for_function("document.body.dataset.layoutStored")  # ELK's layout, posted back
            page.wait_for_function("document.body.dataset.fontsReported")  # the browser's widths, once
            other, another_open = open_page(
                context, f"/simulations/{another_id}/", args.cpu, not args.unsettled, args.playwright_wait
            )
            other.close()
            from simulator.models import Simulation

            project_id = Simulation.objects.get(pk=simulation_id).version.project_id
            layout_ready, uploaded_open, uploaded_id = upload_and_open(
                context, project_id, args.states, args.cpu, not args.unsettled, args.playwright_wait
            )
            other, next_open = open_page(
                context, f"/simulations/{next_id}/", args.cpu, not args.unsettled, args.playwright_wait
            )
            other.close()
            # Two readers' first opens of the version: one in this browser (the cookie swapped: a
            # browser that has the site's static files), one in a fresh browser (nothing cached).
            (warm_cookie, warm_id), (cold_cookie, cold_id) = readers
            context.add_cookies([{"name": "sessionid", "value": warm_cookie, "url": server.url}])
            other, readers_open = open_page(
                context, f"/simulations/{warm_id}/", args.cpu, not args.unsettled, args.playwright_wait
            )
            other.close()
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": server.url}])
            fresh = browser.new_context(base_url=server.url, bypass_csp=args.production)
            fresh.add_cookies([{"name": "sessionid", "value": cold_cookie, "url": server.url}])
            other, readers_cold_open = open_page(
                fresh, f"/simulations/{cold_id}/", args.cpu, not args.unsettled, args.playwright_wait
            )
            fresh.close()
            # The second reader's first open of the uploaded version, in another fresh browser: no
            # font table of theirs known (no cookie), so the page is served the layout the server
            # made for the diagram's bundled fonts (designer/serverlayouts.py, BUNDLED_TABLE).
            from django.contrib.auth import get_user_model

            from designer.models import Version

            second_reader = get_user_model().objects.get(username="another-reader")
            uploaded_sim = Simulation.objects.create(owner=second_reader, version=Version.objects.get(pk=uploaded_id))
            fresh = browser.new_context(base_url=server.url, bypass_csp=args.production)
            fresh.add_cookies([{"name": "sessionid", "value": cold_cookie, "url": server.url}])
            other, bundled_open = open_page(
                fresh, f"/simulations/{uploaded_sim.pk}/", args.cpu, not args.unsettled, args.playwright_wait
            )
            fresh.close()
            # A version nobody laid out: the reader's first open (ELK in the page; the reader's
            # layout is served to no one else), then the other reader's in a fresh browser, once
            # the server stored the layout the first page queued (on a tree that queues it).
            warm_unlaid, cold_unlaid = unlaid_version(project_id, args.states)
            context.add_cookies([{"name": "sessionid", "value": warm_cookie, "url": server.url}])
            started = time.monotonic()
            other, unlaid_open = open_page(
                context, f"/simulations/{warm_unlaid}/", args.cpu, not args.unsettled, args.playwright_wait
            )
            viewed = started + (SETTLE_MS / 1000 if not args.unsettled else 0)  # about when it was asked for
            other.wait_for_function("document.body.dataset.layoutStored")  # its own layout posted
            other.close()
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": server.url}])
            unlaid_ready = wait_for_viewed_layout(warm_unlaid, viewed)
            fresh = browser.new_context(base_url=server.url, bypass_csp=args.production)
            fresh.add_cookies([{"name": "sessionid", "value": cold_cookie, "url": server.url}])
            other, unlaid_next_open = open_page(
                fresh, f"/simulations/{cold_unlaid}/", args.cpu, not args.unsettled, args.playwright_wait
            )
            fresh.close()
            for n in range(args.states):  # the events the steps will process, one per macrostep
                page.evaluate(INJECT, n)
            page.wait_for_function(f"Number(document.body.dataset.simReplies || 0) >= {args.states}", timeout=120_000)
            latencies = []
            for _ in range(args.steps):
                latencies.append(page.evaluate(CLICK_TO_HIGHLIGHT))
                page.wait_for_function("document.body.dataset.simBusy === '0'")
            for _ in range(300):  # on to >= 200 records (the chain has 100 states: enough)
                if len(page.evaluate("window.simulationPage.records()")) >= 200:
                    break
                page.evaluate(CLICK_TO_HIGHLIGHT)
            records = len(page.evaluate("window.simulationPage.records()"))
            page.close()
            wait_until_idle(server.url)  # the closed page's simulation saved and released, as for a later reopen
            _, reopen = open_page(context, url, args.cpu, not args.unsettled, args.playwright_wait)
            browser.close()
    latencies.sort()
    print(f"open a simulation (first, layout computed): {timeline(first_open)}")
    print(f"open another simulation of the version: {timeline(another_open)}")
    print(f"server layout of an uploaded version (new chart) stored {layout_ready:.2f} s after the upload")
    print(f"first open of the uploaded version (the server's layout): {timeline(uploaded_open)}")
    print(f"first open of the next version, same chart (the earlier version's layout): {timeline(next_open)}")
    print(f"a reader's first open of the version (browser cache warm): {timeline(readers_open)}")
    print(f"another reader's first open of the version (fresh browser): {timeline(readers_cold_open)}")
    print(
        "another reader's first open of the uploaded version (fresh browser, no table known: the bundled "
        f"fonts' layout): {timeline(bundled_open)}"
    )
    print(f"a reader's first open of a version nobody laid out (ELK in the page): {timeline(unlaid_open)}")
    if unlaid_ready is None:
        print("  (this tree queues no layout when a page is served without one)")
    else:
        print(f"  the layout that page queued stored {unlaid_ready:.2f} s after its navigation")
    print(f"another reader's first open of that version after it (fresh browser): {timeline(unlaid_next_open)}")
    print(
        f"click Step -> diagram highlighted: median {statistics.median(latencies):.1f} ms, "
        f"p90 {latencies[int(0.9 * len(latencies))]:.1f} ms, max {latencies[-1]:.1f} ms"
    )
    print(f"reopen with {records} records: {timeline(reopen)}")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
