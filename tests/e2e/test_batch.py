"""Batch simulation in the browser (issue 14): start a batch of 2,000 interactions of the starter
project from its version page, watch the progress bar reach 100% over the websocket, read the
charts (through the data tables beside them) and the coverage heat on the diagram; a viewer of
the team reads the report but has no start form."""

from __future__ import annotations

import json
import re

from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page, expect

from designer.models import Membership, Project, Role
from simulator.models import BatchRun
from tests.e2e.conftest import TIMEOUT_MS, log_in
from tests.e2e.test_designer import create_project

#: records every value the progress flag and the status flag take, from before the page's scripts run
WATCH_PROGRESS = """
window.__batchProgress = [];
window.__batchStatuses = [];
new MutationObserver((changes) => {
  for (const change of changes) {
    const value = change.target.getAttribute(change.attributeName);
    if (change.attributeName === "data-batch-progress") window.__batchProgress.push(Number(value));
    else window.__batchStatuses.push(value);
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-batch-progress", "data-batch-status"]});
"""
#: a batch of 2,000 interactions may take a while on a loaded two-core machine
BATCH_TIMEOUT_MS = 6 * TIMEOUT_MS


def table(page: Page, figure: str) -> dict[str, list[str]]:
    """The data table of a chart: {row label: [cells]}."""
    rows = page.locator(f"{figure} table.batch-data tbody tr")
    return {
        rows.nth(i).locator("th").text_content(): rows.nth(i).locator("td").all_text_contents()
        for i in range(rows.count())
    }


def fill_batch_form(page: Page, project: Project, count: int) -> None:
    """Open the version page and ask for `count` interactions, 80% with an agent, 10% abandoning."""
    page.goto(f"/versions/{project.latest_version.pk}/")
    page.wait_for_function("document.body.dataset.batchFormReady === '1'")
    page.get_by_label("Interactions").fill(str(count))
    page.get_by_label("Seed").fill("7")
    page.get_by_label("Agents available (% of calls)").fill("80")
    page.get_by_label("Callers who abandon (%)").fill("10")


def start(page: Page) -> BatchRun:
    page.get_by_role("button", name="Start batch").click()
    page.wait_for_url(re.compile(r"/batches/\d+/$"))
    return BatchRun.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))


def test_start_a_batch_watch_its_progress_and_read_its_charts_and_heat(logged_in_page: Page) -> None:
    page = logged_in_page
    project = create_project(page, "Support line", "basic")
    page.add_init_script(WATCH_PROGRESS)
    fill_batch_form(page, project, 2000)
    page.get_by_label("… after (s)").fill("10, 20")
    callers = [str(5550100 + i) for i in range(25)]
    page.get_by_label("Caller numbers (ANI)").fill(", ".join(callers))
    # a form asking the impossible is not sent
    page.get_by_label("Callers who hang up (%)").fill("95")
    expect(page.locator("#batch-form-error")).to_have_text("Callers who abandon and hang up: together at most 100%.")
    page.get_by_role("button", name="Start batch").click()
    expect(page.locator("#batch-form-error")).to_be_visible()
    assert "/versions/" in page.url and not BatchRun.objects.exists()
    page.get_by_label("Callers who hang up (%)").fill("")
    expect(page.locator("#batch-form-error")).to_be_hidden()
    # the fields write the vary spec the server reads into the advanced box
    assert json.loads(page.locator("#batch-vary").input_value()) == {
        "queue.available": {"values": [True, False], "weights": [80, 20]},
        "inject": {
            "values": [[], [{"event": "abandon", "at": 10}], [{"event": "abandon", "at": 20}]],
            "weights": [90, 5, 5],
        },
        "ani": callers,
    }
    run = start(page)
    assert (run.count, run.seed, run.vary["queue.available"]["weights"]) == (2000, 7, [80, 20])

    # the progress bar follows the websocket up to 100%
    page.wait_for_function("document.body.dataset.batchStatus === 'done'", timeout=BATCH_TIMEOUT_MS)
    expect(page.locator("#batch-progress-text")).to_have_text("2000 / 2000 (100%)")
    assert page.locator("#batch-progress").evaluate("p => [p.value, p.max]") == [2000, 2000]
    progress = page.evaluate("window.__batchProgress")
    statuses = page.evaluate("window.__batchStatuses")
    assert statuses[0] in ("queued", "running") and statuses[-1] == "done"
    assert progress[0] < 100 and progress[-1] == 100 and progress == sorted(progress)
    expect(page.locator("#batch-cancel")).to_be_hidden()

    # the charts: drawn on canvases, their numbers in the tables beside them, equal to the report
    page.wait_for_function("document.body.dataset.batchReportReady === '1'")
    report = page.request.get(page.locator("#batch-json").get_attribute("href")).json()["report"]
    outcomes = page.locator("#batch-chart-outcomes")
    expect(outcomes).to_have_attribute("data-chart-ready", "1")
    assert outcomes.locator("canvas").evaluate("c => c.width > 0 && c.height > 0")
    assert json.loads(outcomes.get_attribute("data-labels")) == list(report["outcomes"])
    assert table(page, "#batch-chart-outcomes") == {k: [str(n)] for k, n in report["outcomes"].items()}
    assert sum(report["outcomes"].values()) == 2000 and report["outcomes"]["abandoned"] > 0
    routed = report["outcomes"]["routed"]
    assert table(page, "#batch-chart-targets")["7042@SIPSwitch.DN"][0] == str(report["targets"]["7042@SIPSwitch.DN"])
    histogram = table(page, "#batch-chart-time")
    assert sum(int(cells[0]) for cells in histogram.values()) == routed
    assert next(iter(histogram)).startswith("0\u2013")
    availability = table(page, "#batch-variation-charts figure[data-key='queue.available']")
    assert set(availability) == {"agent available", "no agent available"}
    assert sum(int(n) for cells in availability.values() for n in cells) == 2000
    # 25 caller numbers: the 19 most frequent, then the rest summed
    by_caller = table(page, "#batch-variation-charts figure[data-key='ani']")
    assert len(by_caller) == 20 and list(by_caller)[-1] == "(6 others)"
    assert sum(int(n) for cells in by_caller.values() for n in cells) == 2000

    # the coverage heat on the diagram: visited states in green, the never-taken transitions in red
    page.wait_for_function("document.getElementById('batch-diagram').dataset.heatReady === '1'")
    assert page.locator("#batch-diagram .dg-state.dg-heat-3").count() > 0
    assert page.locator("#batch-diagram .dg-never").count() > 0
    expect(page.locator("#batch-uncovered")).to_contain_text("never taken")

    csv = page.request.get(page.locator("#batch-csv").get_attribute("href"))
    assert csv.status == 200 and "text/csv" in csv.headers["content-type"]

    page.get_by_role("link", name="Batches", exact=True).click()
    row = page.locator(f"#batch-list tr[data-batch='{run.pk}']")
    expect(row).to_contain_text("Support line")
    expect(row).to_contain_text("2000 / 2000")
    expect(page.get_by_role("link", name="Batches", exact=True)).to_have_attribute("aria-current", "page")


def test_a_viewer_reads_the_report_but_cannot_start_a_batch(
    logged_in_page: Page, browser: Browser, server_url: str
) -> None:
    page = logged_in_page
    project = create_project(page, "Support line", "basic")
    fill_batch_form(page, project, 40)
    run = start(page)
    page.wait_for_function("document.body.dataset.batchReportReady === '1'", timeout=BATCH_TIMEOUT_MS)

    viewer = get_user_model().objects.create_user("viewer", password="viewer-pass-1")
    Membership.objects.create(team=project.team, user=viewer, role=Role.VIEWER)
    context = browser.new_context(base_url=server_url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        other = context.new_page()
        log_in(other, "viewer", "viewer-pass-1")
        other.goto(f"/versions/{project.latest_version.pk}/")
        expect(other.locator("#batch")).to_contain_text("Batch simulation")
        expect(other.locator("#batch-form")).to_have_count(0)
        other.locator(f"#batch-runs tr[data-batch='{run.pk}']").get_by_role("link").click()
        other.wait_for_function("document.body.dataset.batchReportReady === '1'")
        assert sum(int(c[0]) for c in table(other, "#batch-chart-outcomes").values()) == 40
        expect(other.locator("#batch-cancel")).to_have_count(0)
    finally:
        context.close()


def test_cancel_a_running_batch_and_read_the_report_of_what_ran(logged_in_page: Page) -> None:
    page = logged_in_page
    project = create_project(page, "Support line", "basic")
    fill_batch_form(page, project, 200_000)
    run = start(page)
    page.wait_for_function("Number(document.body.dataset.batchDone) > 0", timeout=BATCH_TIMEOUT_MS)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel batch").click()
    page.wait_for_function("document.body.dataset.batchStatus === 'cancelled'", timeout=BATCH_TIMEOUT_MS)
    page.wait_for_function("document.body.dataset.batchReportReady === '1'")

    run.refresh_from_db()
    assert 0 < run.done < 200_000 and run.report["cancelled"] is True
    expect(page.locator("#batch-status")).to_have_text("Cancelled")
    expect(page.locator("#batch-progress-text")).to_have_text(re.compile(rf"^{run.done} / 200000 \(\d+%\)$"))
    expect(page.locator("#batch-summary")).to_contain_text("cancelled: the figures cover those run")
    assert sum(int(c[0]) for c in table(page, "#batch-chart-outcomes").values()) == run.done
