"""Diagram layouts shared between the users of a project (designer/layouts.py): the ELK layout an
owner's browser posted is drawn by a viewer's first simulation of the version without running ELK
(the worker script is never fetched), while the layout a viewer posted is drawn for that viewer
only: another viewer's browser lays the chart out itself. A version saved from the draft that the
diagram editor laid out opens without ELK from its very first simulation, and so does a version
whose chart an earlier version of the project had."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page

from designer import history
from designer.models import DiagramLayout, Membership, Role, Team
from tests.e2e.conftest import recorded_page
from tests.e2e.test_authoring import edited, open_starter_draft_diagram
from tests.e2e.test_designer import import_sample, make_demo_user_owner


@contextmanager
def viewer_page(
    browser: Browser, server_url: str, username: str, team: str = "Routing team"
) -> Iterator[tuple[Page, list[str]]]:
    """A page logged in as a new viewer of the demo user's `team`, and the URLs its context
    requests (the page's and its workers')."""
    from django.contrib.auth import get_user_model

    password = f"{username}-pass-7"
    user = get_user_model().objects.create_user(username, password=password)
    Membership.objects.create(team=Team.objects.get(name=team), user=user, role=Role.VIEWER)
    with recorded_page(browser, server_url, username, password) as recorded:
        yield recorded


def simulate(page: Page, version_id: int) -> None:
    """Start a simulation of the version from its page, as a user does, and wait until it is drawn."""
    page.goto(f"/versions/{version_id}/")
    page.get_by_role("link", name="Simulate").click()
    page.get_by_role("button", name="Start simulation").click()
    page.wait_for_url(re.compile(r"/simulations/\d+/$"))
    page.wait_for_function("document.body.dataset.simReady === '1' && document.body.dataset.diagramReady === '1'")


def elk_worker_requested(requested: list[str]) -> bool:
    return any("elk-worker" in url for url in requested)


def elk_api_requested(requested: list[str]) -> bool:
    """elk-api.js, which the simulation page loads only when ELK must lay the chart out: a page
    drawing a served layout leaves it out of the files its first paint waits for."""
    return any("elk-api" in url for url in requested)


def test_a_viewers_first_simulation_draws_the_layout_an_owner_posted_without_running_elk(
    logged_in_page: Page, browser: Browser, server_url: str, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    make_demo_user_owner()
    version = import_sample(page, shared_dir, tmp_path).latest_version
    simulate(page, version.pk)
    assert page.evaluate("document.body.dataset.layoutSource") == "worker"
    page.wait_for_function("document.body.dataset.layoutStored")

    with viewer_page(browser, server_url, "reader") as (reader, requested):
        simulate(reader, version.pk)

        assert reader.evaluate("document.body.dataset.layoutSource") == "server"
        assert not elk_worker_requested(requested), "the viewer's page fetched the ELK worker"
        assert not elk_api_requested(requested), "the viewer's page fetched elk-api.js"
        assert reader.evaluate("document.body.dataset.stateCount") == page.evaluate("document.body.dataset.stateCount")
        assert reader.locator("#sim-diagram .dg-active").count() > 0  # the live configuration is highlighted
        # Drawn from the owner's layout, nothing went back: the viewer keeps no layout of their own.
        assert reader.evaluate("document.body.dataset.layoutStored") is None
    assert list(DiagramLayout.objects.values_list("user__username", flat=True)) == ["demo"]


def test_a_layout_a_viewer_posted_is_not_drawn_for_another_viewer(
    logged_in_page: Page, browser: Browser, server_url: str, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    make_demo_user_owner()
    version = import_sample(page, shared_dir, tmp_path).latest_version

    with viewer_page(browser, server_url, "first-reader") as (first, first_requested):
        simulate(first, version.pk)
        assert first.evaluate("document.body.dataset.layoutSource") == "worker"
        assert elk_worker_requested(first_requested)
        assert elk_api_requested(first_requested)  # loaded on demand, once ELK was needed
        first.wait_for_function("document.body.dataset.layoutStored")
        assert DiagramLayout.objects.filter(user__username="first-reader").count() == 1

        with viewer_page(browser, server_url, "second-reader") as (second, second_requested):
            simulate(second, version.pk)

            assert second.evaluate("document.body.dataset.layoutSource") == "worker"
            assert elk_worker_requested(second_requested)


def test_a_version_saved_after_editing_on_the_diagram_opens_without_elk_for_its_author_and_readers(
    logged_in_page: Page, browser: Browser, server_url: str
) -> None:
    page = logged_in_page
    project, _ = open_starter_draft_diagram(page)
    page.wait_for_function("document.body.dataset.layoutStored")
    drawn = page.evaluate("document.body.dataset.layoutStored")
    page.locator('#authoring-palette [data-block="plain-final"]').click()
    page.locator("#plain-final-id").fill("Done")
    page.locator("#plain-final-parent").select_option("_composer_entry")
    page.locator("#plain-final-add").click()
    edited(page, 1)
    # The editor's layout of the edited draft went to the server.
    page.wait_for_function(f"(document.body.dataset.layoutStored || {json.dumps(drawn)}) !== {json.dumps(drawn)}")

    page.goto(f"/projects/{project.pk}/draft/")
    page.get_by_label("Message").fill("A final state added on the diagram")
    page.get_by_role("button", name="Save version").click()
    page.wait_for_url(re.compile(r"/versions/\d+/$"))
    version = project.versions.get(number=2)

    with viewer_page(browser, server_url, "reader", team="Authors") as (reader, requested):
        simulate(reader, version.pk)
        assert reader.evaluate("document.body.dataset.layoutSource") == "server"
        assert not elk_worker_requested(requested), "the viewer's page fetched the ELK worker"
        assert reader.locator('#sim-diagram [data-state-id$="Done"]').count() == 1
    # The author's own first simulation of the version (a new tab: no layout cached in the tab).
    author = page.context.new_page()
    simulate(author, version.pk)
    assert author.evaluate("document.body.dataset.layoutSource") == "server"
    author.close()


def test_a_version_whose_graph_an_earlier_one_had_opens_without_elk_and_a_changed_graph_is_laid_out(
    logged_in_page: Page, browser: Browser, server_url: str, shared_dir: Path, tmp_path: Path
) -> None:
    """designer.layouts.earlier_layout: a new version of the project with the same drawn chart (a
    file beside it added) is drawn from the layout of its parent without ELK, and the page keeps it
    as the new version's; a version whose chart changed is offered it too, and lays out its own."""
    from django.contrib.auth import get_user_model

    page = logged_in_page
    make_demo_user_owner()
    project = import_sample(page, shared_dir, tmp_path)
    first = project.latest_version
    simulate(page, first.pk)
    page.wait_for_function("document.body.dataset.layoutStored")
    files = first.read_files()
    demo = get_user_model().objects.get(username="demo")
    same = history.create_version(
        project,
        {**files, "notes.txt": b"the chart is unchanged\n"},
        author=demo,
        message="notes",
        parent=first,
        entry=first.entry,
    )
    chart = files[first.entry].decode()
    changed_chart = chart.replace('<final id="', '<final id="AddedForTheTest"/><final id="', 1)
    assert changed_chart != chart
    changed = history.create_version(
        project,
        {**files, first.entry: changed_chart.encode()},
        author=demo,
        message="a state",
        parent=same,
        entry=first.entry,
    )

    with viewer_page(browser, server_url, "reader") as (reader, requested):
        simulate(reader, same.pk)
        assert reader.evaluate("document.body.dataset.layoutSource") == "server"
        assert not elk_worker_requested(requested), "the viewer's page fetched the ELK worker"
        assert not elk_api_requested(requested), "the viewer's page fetched elk-api.js"
        assert reader.evaluate("document.body.dataset.stateCount") == page.evaluate("document.body.dataset.stateCount")
        reader.wait_for_function("document.body.dataset.layoutStored")  # kept as the new version's
        assert DiagramLayout.objects.filter(version=same, user__username="reader").exists()

        simulate(reader, changed.pk)
        assert reader.evaluate("document.body.dataset.layoutSource") == "worker"
        assert reader.locator('#sim-diagram [data-state-id="AddedForTheTest"]').count() == 1


#: in the page before its scripts: each Worker constructed, with whether ELK's API (elk-api.js,
#: which otherwise constructs ELK's worker itself) had run by then
RECORD_WORKERS = """
window.recordedWorkers = [];
const PageWorker = window.Worker;
window.Worker = function (url, options) {
  window.recordedWorkers.push({ url: String(url), elkApiRan: typeof window.ELK !== "undefined" });
  return new PageWorker(url, options);
};
"""
