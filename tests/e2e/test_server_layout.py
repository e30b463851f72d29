"""Layouts of new versions computed by the server (designer/serverlayouts.py, designer/elk.py):
the ELK input the server builds with a browser's reported character widths is the browser's own,
byte for byte, and so is ELK's layout of it; a member whose browser reported its widths opens a
freshly imported version without running ELK (no worker requested), the diagram drawn at once. A
simulation page reports the browser's widths (and pings the live connection) only once the
simulation is shown.

These tests run their own server with server layouts on (the suite's live server has them off, so
that other tests' versions are not laid out behind their backs)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from designer import history, serverlayouts
from designer.elk import ServerElk
from designer.layouts import clean_layout
from designer.models import DiagramLayout, FontTable, Project, ServerDiagramLayout, Team, Version
from simulator.models import Simulation
from tests.e2e.conftest import recorded_page
from tests.e2e.test_designer import import_sample, make_demo_user_owner
from tests.e2e.test_shared_layout import RECORD_WORKERS, elk_worker_requested
from tests.servers import daphne_server, database_url

#: a chart with compound states, an initial marker, targetless transitions with actions, long
#: conds and characters outside ASCII (Latin-1)
CHART = b"""<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="Main"
  xmlns:queue="http://www.genesyslab.com/modules/queue" datamodel="ecmascript">
  <state id="Main" initial="Main.Greeting">
    <state id="Main.Greeting">
      <onentry><queue:submit queue="'Ventes'" timeout="30"/></onentry>
      <transition event="queue.submit.done" cond="_event.data.result == 'ok'" target="Main.Caf\xc3\xa9"/>
      <transition event="tick"><log expr="'still here'"/></transition>
    </state>
    <state id="Main.Caf\xc3\xa9">
      <transition event="error.*" target="Failed"/>
      <transition event="done" target="Done"/>
    </state>
  </state>
  <final id="Done"/>
  <final id="Failed"/>
</scxml>
"""


@pytest.fixture(scope="module")
def layouts_server(django_db_setup: None) -> Iterator[str]:
    from django.db import connection

    env = {"DATABASE_URL": database_url(connection.settings_dict), "ORCHWEB_DIAGRAM_SERVER_LAYOUTS": "1"}
    with daphne_server("layouts", env) as server:
        yield server.url


@pytest.fixture
def member(browser: Browser, layouts_server: str, transactional_db: None) -> Iterator[tuple[Page, list[str]]]:
    """The demo user, owner of "Routing team", logged in on the layouts server; the URLs requested."""
    from designer.management.commands.seed import DEMO_PASSWORD, DEMO_USERNAME, ensure_demo_user

    ensure_demo_user()
    make_demo_user_owner()
    with recorded_page(browser, layouts_server, DEMO_USERNAME, DEMO_PASSWORD) as recorded:
        # The login's landing page reports the browser's table once idle (base.js): waited for,
        # then forgotten by the browser, so each test's pages start from a browser that reported
        # none (the server keeps the table: reported again, it is the same row).
        page = recorded[0]
        page.wait_for_function("!!document.body.dataset.fontsReported")
        page.context.clear_cookies(name="orchweb_fonts")
        page.evaluate("localStorage.clear()")
        yield recorded


def first_version(files: dict[str, bytes]) -> Version:
    from django.contrib.auth import get_user_model

    project = Project.objects.create(team=Team.objects.get(name="Routing team"), name="Earlier work")
    author = get_user_model().objects.get(username="demo")
    return history.create_version(project, files, author=author, message="first", parent=None)


def report_fonts(page: Page, version: Version) -> dict[str, Any]:
    """Open the version's diagram as a user does: the page lays it out and, once idle, reports the
    browser's font table. Returns what the page drew: its layout key and table."""
    page.goto(f"/versions/{version.pk}/diagram/")
    page.wait_for_function("document.body.dataset.diagramReady === '1' && !!document.body.dataset.fontsReported")
    page.wait_for_function("!!document.body.dataset.layoutStored")
    return {
        "key": page.evaluate("document.body.dataset.layoutStored"),
        "table": page.evaluate("Diagram.fontTable()"),
        "fingerprint": page.evaluate("document.body.dataset.fontsReported"),
    }


def test_the_server_builds_the_browsers_elk_input_and_layout_byte_for_byte(member: tuple[Page, list[str]]) -> None:
    page, _ = member
    version = first_version({"chart.scxml": CHART})
    drawn = report_fonts(page, version)
    graph = page.request.get(f"/api/versions/{version.pk}/graph").json()
    browser_input = page.evaluate(
        "([graph, table]) => JSON.stringify(Diagram.elkInput(graph, table))", [graph, drawn["table"]]
    )

    elk = ServerElk()
    try:
        key, server_input = elk.elk_input(graph, drawn["table"])
        server_key, server_result = elk.layout(graph, drawn["table"])
    finally:
        elk.close()
    # the same builder in QuickJS and in chromium, the same table: the same bytes
    assert page.evaluate("(input) => JSON.stringify(JSON.parse(input))", browser_input) == browser_input
    assert page.evaluate("(input) => Diagram.layoutKey(JSON.parse(input))", browser_input) == key == server_key
    assert server_input == browser_input
    # the page measured its labels with the same widths: the layout it drew has the server's key
    assert drawn["key"] == key
    # and ELK in QuickJS made the layout ELK made in the page's worker (posted back by the page)
    posted = DiagramLayout.objects.get(version=version)
    assert posted.key == key
    assert clean_layout(server_result, graph) == posted.layout
    # the table the page reported is the one the server keeps for the user
    assert FontTable.objects.get(fingerprint=drawn["fingerprint"]).table == drawn["table"]


def wait_for_server_layout(version: Version, seconds: float = 120.0) -> ServerDiagramLayout:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = ServerDiagramLayout.objects.filter(version=version).first()
        if row is not None:
            return row
        time.sleep(0.2)
    raise AssertionError(f"no server layout of {version} after {seconds} s")


def test_a_member_opens_a_freshly_imported_version_without_elk(
    member: tuple[Page, list[str]], shared_dir: Path, tmp_path: Path
) -> None:
    page, requested = member
    report_fonts(page, first_version({"chart.scxml": CHART}))  # the member used the app before

    project = import_sample(page, shared_dir, tmp_path)
    version = project.latest_version
    assert version is not None
    stored = wait_for_server_layout(version)
    assert not DiagramLayout.objects.filter(version=version).exists()  # nobody laid it out

    requested.clear()
    page.goto(f"/versions/{version.pk}/")
    page.get_by_role("link", name="Simulate").click()
    page.get_by_role("button", name="Start simulation").click()
    page.wait_for_url(re.compile(r"/simulations/\d+/$"))
    page.wait_for_function("document.body.dataset.simReady === '1' && document.body.dataset.diagramReady === '1'")
    assert page.evaluate("document.body.dataset.layoutSource") == "server"
    assert int(page.evaluate("document.body.dataset.stateCount")) > 50
    assert page.locator("#sim-diagram .dg-state").count() > 50
    assert not elk_worker_requested(requested)
    assert stored.fingerprint == FontTable.objects.get().fingerprint


#: in the page, before its scripts: each WebSocket and fetch the page makes, with whether the
#: simulation was shown (simReady) when it was made
RECORD_CALLS = """
window.__calls = [];
const record = (url) =>
  window.__calls.push({url: String(url), ready: (document.body && document.body.dataset.simReady) || ""});
const NativeSocket = window.WebSocket;
window.WebSocket = function (url, protocols) { record(url); return new NativeSocket(url, protocols); };
window.WebSocket.prototype = NativeSocket.prototype;
const nativeFetch = window.fetch;
window.fetch = function (url, init) { record(url); return nativeFetch.call(this, url, init); };
"""


def test_a_simulation_pages_font_report_and_ping_wait_for_its_first_view(member: tuple[Page, list[str]]) -> None:
    """The work nothing on the page waits for (base.js's live-connection ping, the diagram's font
    report) starts only once the simulation is shown: before, it competed with the page's own
    socket and first snapshot for the main thread and the server."""
    page, _ = member
    version = first_version({"chart.scxml": CHART})
    simulation = Simulation.objects.create(owner=version.author, version=version)
    page.add_init_script(RECORD_CALLS)
    page.goto(f"/simulations/{simulation.pk}/")
    page.wait_for_function("document.documentElement.dataset.wsReady === '1' && !!document.body.dataset.fontsReported")
    calls = page.evaluate("window.__calls")
    simulation_socket = [c for c in calls if f"/ws/simulations/{simulation.pk}/" in c["url"]]
    ping = [c for c in calls if c["url"].endswith("/ws/ping/")]
    fonts = [c for c in calls if "/api/fonts" in c["url"]]
    assert len(simulation_socket) == len(ping) == len(fonts) == 1, calls
    assert simulation_socket[0]["ready"] == ""  # opened as the page's scripts run
    assert ping[0]["ready"] == fonts[0]["ready"] == "1", calls


def test_a_version_made_before_the_browser_reported_its_fonts_opens_with_the_servers_layout(
    browser: Browser, layouts_server: str, transactional_db: None
) -> None:
    """A member's new browser reports its widths from the first page it shows (the projects list,
    no diagram on it), and the server lays out the latest version of the member's projects made
    before that for them: the first open of that version draws the server's layout, no ELK worker
    constructed or requested. (Before, only a diagram's page reported, and only versions made
    after a report were laid out: this open ran ELK in the page.)"""
    from designer.management.commands.seed import DEMO_PASSWORD, DEMO_USERNAME, ensure_demo_user

    ensure_demo_user()
    make_demo_user_owner()
    version = first_version({"chart.scxml": CHART})
    simulation = Simulation.objects.create(owner=version.author, version=version)
    assert not FontTable.objects.exists()  # no browser known: the version was laid out for none

    with recorded_page(browser, layouts_server, DEMO_USERNAME, DEMO_PASSWORD) as (page, requested):
        assert page.url.endswith("/projects/")
        page.wait_for_function("!!document.body.dataset.fontsReported")
        assert page.locator(".diagram").count() == 0
        stored = wait_for_server_layout(version)
        assert stored.fingerprint == page.evaluate("document.body.dataset.fontsReported")
        # measured in the diagram's fonts, which the page without a diagram loaded to measure
        assert stored.fingerprint == serverlayouts.BUNDLED_FINGERPRINT

        requested.clear()
        page.add_init_script(RECORD_WORKERS)
        page.goto(f"/simulations/{simulation.pk}/")
        page.wait_for_function("document.body.dataset.simReady === '1' && document.body.dataset.diagramReady === '1'")
        assert page.evaluate("document.body.dataset.layoutSource") == "server"
        assert page.evaluate("window.recordedWorkers") == []
        assert not elk_worker_requested(requested)
        assert page.locator("#sim-diagram .dg-state").count() == 6
        assert not DiagramLayout.objects.filter(version=version).exists()  # drawn from the server's


def test_a_browser_nobody_knows_opens_a_new_version_with_the_bundled_fonts_layout(
    browser: Browser, layouts_server: str, transactional_db: None
) -> None:
    """The diagram's fonts are served with the page (static/orchweb/fonts), so chromium measures
    exactly the bundled table (designer/diagram_font_table.json: run scripts/diagram_font_table.py
    when this fails after a font or chromium change), every version is laid out for it, and a
    browser that never reported a table (no cookie: here its reports are refused) is served that
    layout and draws it, no ELK worker requested."""
    from designer.management.commands.seed import DEMO_PASSWORD, DEMO_USERNAME, ensure_demo_user
    from designer.serverlayouts import BUNDLED_FINGERPRINT, BUNDLED_TABLE, lay_out_version

    ensure_demo_user()
    make_demo_user_owner()
    version = first_version({"chart.scxml": CHART})
    assert lay_out_version(version.pk) == 1  # what creating it schedules where server layouts are on
    assert ServerDiagramLayout.objects.get(version=version).fingerprint == BUNDLED_FINGERPRINT
    simulation = Simulation.objects.create(owner=version.author, version=version)

    with recorded_page(browser, layouts_server, DEMO_USERNAME, DEMO_PASSWORD) as (page, requested):
        # The login's landing page reports the table once idle: waited for, then forgotten by both
        # sides, and later reports refused.
        page.wait_for_function("!!document.body.dataset.fontsReported")
        page.context.route("**/api/fonts", lambda route: route.abort())
        page.context.clear_cookies(name="orchweb_fonts")
        page.evaluate("localStorage.clear()")
        FontTable.objects.all().delete()
        requested.clear()
        page.add_init_script(RECORD_WORKERS)
        page.goto(f"/simulations/{simulation.pk}/")
        page.wait_for_function("document.body.dataset.simReady === '1' && document.body.dataset.diagramReady === '1'")
        assert all(cookie["name"] != "orchweb_fonts" for cookie in page.context.cookies())
        assert page.evaluate("document.body.dataset.layoutSource") == "server"
        assert page.evaluate("window.recordedWorkers") == []
        assert not elk_worker_requested(requested)
        assert any(url.endswith(".woff2") for url in requested)  # the bundled fonts, loaded
        assert page.evaluate("Diagram.fontsReady().then(() => Diagram.fontTable())") == BUNDLED_TABLE
    assert not FontTable.objects.exists()
