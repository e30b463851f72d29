"""Scenarios in the browser (issue 14): the starter project's scenarios pass on the Tests tab; a
broken draft fails with a link that opens the simulator, read-only, at the failing record; a
manual simulation saved as a scenario passes when run from the draft's Tests tab."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from designer import history
from designer.models import Project
from simulator.models import Simulation
from tests.e2e.test_designer import create_project


def new_starter_project(page: Page) -> Project:
    return create_project(page, "Support line", "basic")


def test_run_the_starter_scenarios_then_break_the_draft_and_follow_the_failing_record(logged_in_page: Page) -> None:
    page = logged_in_page
    project = new_starter_project(page)
    version = project.latest_version
    page.goto(f"/versions/{version.pk}/")
    expect(page.locator("#version-tests-summary")).to_contain_text("not run yet")
    page.get_by_role("link", name="Tests", exact=True).click()
    page.get_by_role("button", name="Run all").click()
    expect(page.locator("#tests-summary")).to_contain_text(
        re.compile(r"1/1 scenarios pass, [\d.]+% of transitions covered")
    )
    expect(page.locator("tr[data-source='scenarios/route-to-agent.json'] .designer-verdict")).to_have_text("PASS")
    page.wait_for_function("document.getElementById('tests-diagram').dataset.heatReady === '1'")
    assert page.locator("#tests-diagram .dg-state.dg-heat-3").count() > 0
    assert page.locator("#tests-diagram .dg-never").count() > 0  # DefaultRoute is never visited
    page.goto(f"/versions/{version.pk}/")
    expect(page.locator("#version-tests-summary")).to_contain_text("1/1 scenarios pass")
    page.goto(f"/projects/{project.pk}/")
    expect(page.get_by_test_id("scenario-badge")).to_have_text("1/1 tests")

    # break the strategy in the draft: the submit gives up before the agent is found
    page.goto(f"/projects/{project.pk}/draft/")
    status = page.evaluate(
        """async (pid) => {
          const url = `/api/projects/${pid}/draft/files/src-gen/Main.scxml`;
          const text = (await window.orchweb.fetchJSON(url)).json.content;
          const answer = await window.orchweb.fetchJSON(url, {method: "PUT",
            body: {content: text.replace('timeout="30"', 'timeout="3"')}});
          return answer.status;
        }""",
        project.pk,
    )
    assert status == 200
    page.get_by_role("link", name="Tests", exact=True).click()
    page.get_by_role("button", name="Run all").click()
    expect(page.locator("#tests-summary")).to_contain_text("0/1 scenarios pass")
    row = page.locator("tr[data-source='scenarios/route-to-agent.json']")
    expect(row.locator(".designer-verdict")).to_have_text("FAIL")
    expect(row).to_contain_text('expected outcome {"status": "routed", "target": "7042@SIPSwitch.DN"')
    link = row.get_by_role("link", name=re.compile(r"Failing record #\d+"))
    record = int(link.inner_text().rsplit("#", 1)[1])
    link.click()

    # the simulator opens the scenario's replay, read-only, at the failing record
    page.wait_for_url(re.compile(rf"/simulations/\d+/\?record={record}$"))
    page.wait_for_function("document.body.dataset.simReady === '1'")
    page.wait_for_function(f"document.body.dataset.simSelected === '{record}'")
    expect(page.locator("#sim-replay")).to_contain_text("scenarios/route-to-agent.json on your draft")
    selected = page.locator("#sim-trace li[aria-current='step']")
    expect(selected).to_have_attribute("data-seq", str(record))
    expect(selected).to_be_in_viewport()
    # the run went the default route; the diagram shows where it was
    expect(page.locator("#sim-trace")).to_contain_text("MainWorkflow.DefaultRoute")
    assert page.locator("#sim-diagram .dg-active").count() > 0
    # nothing may change the timeline: the controls are disabled and the socket refuses a step
    expect(page.get_by_role("button", name="Step", exact=True)).to_be_disabled()
    expect(page.locator("button[data-inject='hangup']")).to_be_disabled()
    expect(page.get_by_role("button", name="Restart", exact=True)).to_be_disabled()
    refusal = page.evaluate(
        """(url) => new Promise((resolve) => {
          const ws = new WebSocket(location.origin.replace(/^http/, "ws") + url);
          ws.onmessage = (e) => {
            const frame = JSON.parse(e.data);
            if (frame.type === "snapshot" && !ws.asked) {
              ws.asked = true;
              ws.send(JSON.stringify({action: "step", unit: "macrostep", id: 1}));
            }
            if (frame.type === "error" && frame.reply_to === 1) { ws.close(); resolve(frame.message); }
          };
        })""",
        page.evaluate("JSON.parse(document.getElementById('simulation-config').textContent).urls.ws"),
    )
    assert refusal.startswith("read-only: this is a scenario's replay")
    # rewindable like any simulation: to an earlier record, to the start, then forward to the end
    early = page.locator("#sim-trace li[data-type='macrostep']").nth(1)
    seq = int(early.get_attribute("data-seq"))
    early.locator(".sim-seq").click()
    page.wait_for_function(f"document.body.dataset.simSelected === '{seq}'")
    expect(page.locator("#sim-trace li[aria-current='step']")).to_have_attribute("data-seq", str(seq))
    expect(page.locator(f"#sim-trace li[data-seq='{record}']")).to_have_count(0)
    steps = int(page.evaluate("document.body.dataset.simSteps"))
    move = (
        "(v) => { const s = document.getElementById('sim-rewind'); s.value = v; s.dispatchEvent(new Event('change')); }"
    )
    page.evaluate(move, "0")
    page.wait_for_function(f"Number(document.body.dataset.simSeq) < {seq}")
    page.evaluate(move, str(steps))
    page.wait_for_function(f"Number(document.body.dataset.simSeq) >= {record}")
    expect(page.locator(f"#sim-trace li[data-seq='{record}']")).to_have_count(1)


def test_save_a_manual_simulation_as_a_scenario_and_run_it(logged_in_page: Page) -> None:
    page = logged_in_page
    project = new_starter_project(page)
    version = project.latest_version
    page.goto(f"/versions/{version.pk}/simulate/?fakes=fakes/default.json")
    page.get_by_role("button", name="Start simulation").click()
    page.wait_for_url(re.compile(r"/simulations/\d+/$"))
    page.wait_for_function("document.body.dataset.simReady === '1'")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_function("document.body.dataset.simStatus === 'final'")
    simulation = Simulation.objects.get(version=version)
    deadline = time.monotonic() + 15
    while not Simulation.objects.get(pk=simulation.pk).inputs:  # the page saves its log within seconds
        assert time.monotonic() < deadline, "the simulation's inputs log was never saved"
        time.sleep(0.2)

    page.get_by_role("button", name="Save as scenario").click()
    dialog = page.locator("#save-scenario")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".save-scenario-assertion").first).to_contain_text("outcome")
    # untick the time assertion; the JSON follows the boxes
    time_box = dialog.locator(".save-scenario-assertion", has_text="time:").locator("input")
    time_box.uncheck()
    assert '"time"' not in dialog.locator("#save-scenario-json").input_value()
    # an invalid edit is reported at its JSON path
    good = dialog.locator("#save-scenario-json").input_value()
    dialog.locator("#save-scenario-json").fill(good.replace('"outcome": "routed"', '"outcome": "lost"'))
    dialog.get_by_role("button", name="Validate").click()
    expect(dialog.locator("#save-scenario-problems")).to_contain_text("$.expect[0].outcome: 'lost' is not one of")
    dialog.locator("#save-scenario-json").fill(good)
    dialog.get_by_role("button", name="Save to my draft").click()
    expect(dialog.locator("#save-scenario-result")).to_contain_text("Saved scenarios/recorded-run-")
    dialog.locator("#save-scenario-tests").click()
    page.wait_for_url(re.compile(r"/draft/tests/$"))
    saved = page.locator("li[data-scenario^='scenarios/recorded-run-']")
    saved.get_by_role("button", name=re.compile("^Run ")).click()
    row = page.locator("tr[data-source^='scenarios/recorded-run-']")
    expect(row.locator(".designer-verdict")).to_have_text("PASS")
    expect(page.locator("#tests-summary")).to_contain_text("1/1 scenarios pass")

    # the draft's scenario editor validates as the CLI does, at JSON paths, and saves only valid ones
    path = saved.get_attribute("data-scenario")
    page.locator("#scenario-editor summary").click()
    page.locator("#scenario-editor-path").fill(path)
    page.get_by_role("button", name="Open", exact=True).click()
    expect(page.locator("#scenario-editor-result")).to_have_text(f"Opened {path}.")
    text = page.locator("#scenario-editor-text").input_value()
    page.locator("#scenario-editor-text").fill(text.replace('"errors": 0', '"errors": -1'))
    page.locator("#scenario-editor").get_by_role("button", name="Save to my draft").click()
    expect(page.locator("#scenario-editor-problems")).to_contain_text("].errors: -1 is less than the minimum of 0")
    page.locator("#scenario-editor-text").fill(text.replace('"errors": 0', '"errors": 1'))
    page.locator("#scenario-editor").get_by_role("button", name="Save to my draft").click()
    expect(page.locator("#scenario-editor-result")).to_contain_text(f"Saved {path}")
    page.reload()
    page.locator(f"li[data-scenario='{path}']").get_by_role("button", name=re.compile("^Run ")).click()
    expect(page.locator(f"tr[data-source='{path}']")).to_contain_text("0 runtime error(s), expected 1")


def trace_follows_the_latest_record(page: Page) -> bool:
    return page.evaluate(
        "() => { const b = document.getElementById('sim-trace');"
        " return b.scrollHeight > b.clientHeight && b.scrollTop + b.clientHeight >= b.scrollHeight - 30; }"
    )


def test_the_simulation_page_says_what_the_session_waits_for_and_the_trace_follows(logged_in_page: Page) -> None:
    """Frictions of issue 14: the status says what happened, the trace follows the latest record."""
    page = logged_in_page
    project = new_starter_project(page)
    files = project.latest_version.read_files()
    files["fakes/manual.json"] = b'{"rules": [{"module": "queue", "action": "submit", "manual": true}]}'
    version = history.create_version(project, files, author=None, message="manual", parent=project.latest_version)
    page.goto(f"/versions/{version.pk}/simulate/?fakes=fakes/manual.json")
    page.get_by_role("button", name="Start simulation").click()
    page.wait_for_function("document.body.dataset.simReady === '1'")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_function("document.body.dataset.simPending === 'queue:submit'")
    expect(page.locator("#sim-message")).to_have_text("Run stopped: waiting for your answer to queue:submit")
    expect(page.locator("#sim-status")).to_have_text("waiting for your answer to queue:submit")

    page.locator("#sim-inject-panel summary").click()
    page.get_by_role("button", name="Caller hangs up").click()
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_function("document.body.dataset.simStatus === 'final'")
    expect(page.locator("#sim-status")).to_have_text(re.compile(r"^finished in "))
    expect(page.locator("#sim-outcome")).to_contain_text("abandoned")
    page.reload()  # the whole trace comes back at once: the list shows its end, not record #1
    page.wait_for_function("document.body.dataset.simReady === '1'")
    page.wait_for_function("document.getElementById('sim-trace').children.length > 20")
    assert trace_follows_the_latest_record(page)
