"""The simulator in the browser, on the real Composer sample project.

Open a simulation from the version page, step to the queue:submit, rewind three steps and step
again to the same state, answer the submit with a chosen agent and watch the strategy route there
and finish; in a second simulation, hang up during the dialog and see the hang-up path.
Every wait is on the page's readiness flags (document.body.dataset.sim*), never a sleep.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import save_screenshot
from tests.e2e.test_designer import import_sample, make_demo_user_owner

MANUAL_SUBMIT = {"rules": [{"module": "queue", "action": "submit", "manual": True}]}
MAX_STEPS = 60


def flag(page: Page, name: str) -> str:
    return page.evaluate(f"document.body.dataset.{name} || ''")


def act(page: Page, locator) -> None:
    """Click a control and wait until the server answered it."""
    locator.click()
    page.wait_for_function("document.body.dataset.simBusy === '0'")


def step(page: Page) -> None:
    act(page, page.get_by_role("button", name="Step", exact=True))


def step_until(page: Page, condition: str) -> int:
    """Click Step until the JS `condition` holds; returns the number of steps taken."""
    for n in range(MAX_STEPS):
        if page.evaluate(condition):
            return n
        step(page)
    raise AssertionError(f"{condition} not reached in {MAX_STEPS} steps (status {flag(page, 'simStatus')})")


def open_simulation_of_the_sample(page: Page, shared_dir: Path, tmp_path: Path) -> int:
    make_demo_user_owner()
    project = import_sample(page, shared_dir, tmp_path)
    page.goto(f"/versions/{project.latest_version.pk}/")
    page.get_by_role("link", name="Simulate").click()
    page.get_by_role("button", name="Start simulation").click()
    page.wait_for_url(re.compile(r"/simulations/\d+/$"))
    page.wait_for_function("document.body.dataset.simReady === '1'")
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def test_a_user_steps_to_the_submit_rewinds_answers_with_an_agent_and_the_call_is_routed(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    open_simulation_of_the_sample(page, shared_dir, tmp_path)
    assert "_composer_init" in flag(page, "simConfiguration").split()
    assert page.locator("#sim-diagram .dg-active").count() > 0

    # The submit waits for a user answer: edit the fakes and start over with them.
    page.locator("#sim-fakes-panel summary").click()
    page.locator("#sim-fakes").fill(json.dumps(MANUAL_SUBMIT))
    act(page, page.get_by_role("button", name="Restart with these fakes"))
    assert flag(page, "simSteps") == "0"

    steps = step_until(page, "document.body.dataset.simPending.includes('queue:submit')")
    seq_at_submit = flag(page, "simSeq")
    card = page.locator("#sim-pending .sim-request[data-kind='queue:submit']")
    expect(card).to_contain_text("Loan > 1")
    request_id = card.get_attribute("data-request")
    assert steps > 3

    # Rewind three steps: back before the submit; stepping again reaches the very same state.
    for _ in range(3):
        act(page, page.get_by_role("button", name="Back one step"))
    assert flag(page, "simSteps") == str(steps - 3)
    assert "queue:submit" not in flag(page, "simPending")
    assert int(flag(page, "simSeq")) < int(seq_at_submit)
    for _ in range(3):
        step(page)
    assert flag(page, "simSeq") == seq_at_submit
    assert card.get_attribute("data-request") == request_id

    # Answer: agent found, with the chosen agent.
    card.get_by_label("Agent", exact=True).fill("Sales42")
    card.get_by_label("Agent DN").fill("4242")
    act(page, card.get_by_role("button", name="Agent found"))
    assert "queue:submit" not in flag(page, "simPending")
    step_until(page, "document.body.dataset.simStatus === 'final'")

    outcome = json.loads(flag(page, "simOutcome"))
    assert outcome == {"status": "routed", "target": "4242@SIPSwitch.DN", "via": "queue:submit"}
    assert flag(page, "simConfiguration") == "_composer_global_exit"
    expect(page.locator("#sim-trace .sim-record-response").filter(has_text="queue.submit.done")).to_have_count(1)
    assert page.locator("#sim-diagram .dg-visited").count() > 10
    save_screenshot(page, "simulator-routed")


def test_a_caller_hanging_up_during_the_dialog_takes_the_hangup_path(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    open_simulation_of_the_sample(page, shared_dir, tmp_path)
    step_until(page, "document.body.dataset.simPending.includes('dialog:start')")

    page.locator("#sim-inject-panel summary").click()
    act(page, page.get_by_role("button", name="Caller hangs up"))
    step_until(page, "document.body.dataset.simStatus === 'final'")

    assert json.loads(flag(page, "simOutcome")) == {"status": "abandoned"}
    trace = page.locator("#sim-trace")
    expect(trace.locator(".sim-record-macrostep").filter(has_text="error.dialog.start")).to_have_count(1)
    expect(trace.locator(".sim-record-macrostep").filter(has_text="interaction.deleted")).not_to_have_count(0)
    assert "queue:submit" not in page.locator("#sim-trace").inner_text()
    # The trace filter narrows the log to one record type.
    page.locator("#sim-trace-type").select_option("action")
    assert page.locator("#sim-trace .sim-record:not([hidden])").count() == 2  # fetch and dialog
    save_screenshot(page, "simulator-hangup")


def test_a_breakpoint_set_by_clicking_a_state_stops_the_run_there(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    open_simulation_of_the_sample(page, shared_dir, tmp_path)
    found = page.evaluate("window.simulationDiagram.search('playMain')")
    assert found == "MainWorkflow.playMain"

    act(page, page.locator("#sim-diagram [data-state-id='MainWorkflow.playMain'] > .dg-label"))
    assert json.loads(flag(page, "simBreakpoints"))["entered"] == ["MainWorkflow.playMain"]
    expect(page.locator("#sim-diagram .dg-breakpoint")).to_have_count(1)
    act(page, page.get_by_role("button", name="Run", exact=True))
    page.wait_for_function("document.body.dataset.simBreakpoint === 'entered:MainWorkflow.playMain'")

    assert flag(page, "simStatus") == "running"
    assert "MainWorkflow.playMain" in flag(page, "simConfiguration").split()
    expect(page.locator("#sim-message")).to_contain_text("Breakpoint: entered MainWorkflow.playMain")


def test_an_action_breakpoint_stops_the_run_before_the_request_and_says_which(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    open_simulation_of_the_sample(page, shared_dir, tmp_path)

    page.locator("#sim-breakpoints-panel > summary").click()
    page.get_by_label("Extension actions").fill("queue:submit")
    act(page, page.get_by_role("button", name="Set breakpoints"))
    act(page, page.get_by_role("button", name="Run", exact=True))
    page.wait_for_function("document.body.dataset.simBreakpoint === 'actions:queue:submit'")

    expect(page.locator("#sim-message")).to_contain_text("Breakpoint: before queue:submit at src-gen/Main.scxml:750")
    assert "queue:submit" not in flag(page, "simPending")
    act(page, page.get_by_role("button", name="Run", exact=True))
    page.wait_for_function("document.body.dataset.simRunning === '0' && document.body.dataset.simStatus === 'final'")
    assert "queue:submit" in page.locator("#sim-trace").inner_text()


def test_a_lost_connection_reconnects_and_resumes_the_simulation_by_replay(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    open_simulation_of_the_sample(page, shared_dir, tmp_path)
    for _ in range(4):
        step(page)
    seq, steps = flag(page, "simSeq"), flag(page, "simSteps")
    records = page.evaluate("window.simulationPage.records().length")

    page.evaluate("window.simulationPage.socket().close()")
    page.wait_for_function("document.body.dataset.simReconnects === '1' && document.body.dataset.simConnected === '1'")
    page.wait_for_function(f"document.body.dataset.simSeq === '{seq}'")

    assert flag(page, "simSteps") == steps
    assert page.evaluate("window.simulationPage.records().length") == records
    step(page)
    assert int(flag(page, "simSeq")) > int(seq)

    # A record number in the trace log rewinds to that record.
    act(page, page.locator(f"#sim-trace .sim-record[data-seq='{seq}'] .sim-seq"))
    assert (flag(page, "simSeq"), flag(page, "simSteps")) == (seq, steps)


def test_assumed_data_is_listed_and_one_click_puts_it_in_the_fakes_profile(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    open_simulation_of_the_sample(page, shared_dir, tmp_path)
    act(page, page.get_by_role("button", name="Run", exact=True))
    page.wait_for_function("document.body.dataset.simStatus === 'final'")
    page.wait_for_function("document.body.dataset.simAssumptions === '2'")

    panel = page.locator("#sim-assumptions-panel")
    expect(panel.locator("summary")).to_contain_text("Assumed data 2")
    url = panel.locator(".sim-assumption[data-what='url']")
    expect(url).to_contain_text("getDetailByPhoneKey?number=5551234")
    expect(url).to_contain_text("http.responses[+]")
    expect(panel.locator(".sim-assumption[data-what='list item']")).to_contain_text("lists.GHB_CRD_IVR_POC_PG.OPM")

    url.get_by_role("button", name="Add to the fakes profile").click()
    assert flag(page, "simAssumptionAdded") == "url:http.responses[+]"
    expect(page.locator("#sim-fakes")).to_be_focused()
    profile = json.loads(page.locator("#sim-fakes").input_value())
    [response] = profile["http"]["responses"]
    assert response["url"].endswith("/getDetailByPhoneKey") and response["status"] == 200

    # Started over with it, the URL is answered by the profile: only the list item is assumed.
    act(page, page.get_by_role("button", name="Restart with these fakes"))
    act(page, page.get_by_role("button", name="Run", exact=True))
    page.wait_for_function("document.body.dataset.simStatus === 'final'")
    page.wait_for_function("document.body.dataset.simAssumptions === '1'")
    expect(panel.locator(".sim-assumption")).to_have_count(1)
    assert json.loads(flag(page, "simOutcome"))["status"] == "routed"
    save_screenshot(page, "simulator-assumed-data")


BRANCH = "MainWorkflow.bchIsVIP"


def console(page: Page, expression: str) -> str:
    """Evaluate in the page's console; the result as the page shows it (JSON or `error: ...`)."""
    page.locator("#sim-console-input").fill(expression)
    page.locator("#sim-console-input").press("Enter")
    page.wait_for_function("document.body.dataset.simBusy === '0'")
    return flag(page, "simEval")


def entered_after_branch(page: Page) -> str:
    return page.evaluate(
        """(branch) => {
          const records = window.simulationPage.records();
          const states = records.filter((r) => r.type === 'macrostep').flatMap((r) => r.entered);
          const after = states.slice(states.indexOf(branch) + 1);
          return after.find((s) => s.startsWith('MainWorkflow.') && !s.includes('._'));
        }""",
        BRANCH,
    )


def test_a_debugger_session_pauses_at_a_condition_evaluates_edits_rewinds_and_exports_a_recipe(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    open_simulation_of_the_sample(page, shared_dir, tmp_path)

    # A conditional breakpoint: click the branch block, then give it a condition in the panel.
    act(page, page.locator(f"#sim-diagram [data-state-id='{BRANCH}'] > .dg-label"))
    page.locator("#sim-breakpoints-panel > summary").click()
    condition = page.get_by_label(f"Condition of entered:{BRANCH}")
    condition.fill("varCustLevel == ''")
    condition.press("Enter")  # change event
    page.wait_for_function("document.body.dataset.simBusy === '0'")
    assert json.loads(flag(page, "simBreakpoints"))["conditions"] == {f"entered:{BRANCH}": "varCustLevel == ''"}
    act(page, page.get_by_role("button", name="Run", exact=True))
    page.wait_for_function(f"document.body.dataset.simBreakpoint === 'entered:{BRANCH}'")
    assert BRANCH in flag(page, "simConfiguration").split()

    # The console answers questions; an edit in the inspector changes the value.
    assert console(page, "varCustLevel === ''") == "true"
    assert console(page, "nothing.here") == "error: ReferenceError: nothing is not defined"
    before_edit = int(flag(page, "simSeq"))
    variable = page.locator("#sim-datamodel details[data-name='varCustLevel']")
    variable.locator("summary").click()
    variable.get_by_label("New value of varCustLevel").fill('"vip"')
    act(page, variable.get_by_role("button", name="Set value"))
    assert console(page, "varCustLevel") == '"vip"'

    # Resume: the strategy takes the VIP branch.
    act(page, page.get_by_role("button", name="Run", exact=True))
    page.wait_for_function("document.body.dataset.simRunning === '0' && document.body.dataset.simStatus === 'final'")
    assert entered_after_branch(page) == "MainWorkflow.emsSetVipParam"
    save_screenshot(page, "simulator-debugger")

    # Rewind past the edit: the value is back and the strategy takes its own branch again.
    act(page, page.locator(f"#sim-trace .sim-record[data-seq='{before_edit}'] .sim-seq"))
    assert console(page, "varCustLevel") == '""'
    act(page, page.get_by_role("button", name="Run", exact=True))
    page.wait_for_function("document.body.dataset.simRunning === '0' && document.body.dataset.simStatus === 'final'")
    assert entered_after_branch(page) == "MainWorkflow.emsSetMainParam"

    # Export the recipe and import it: the same simulation, replayed to the same record.
    act(page, page.get_by_role("button", name="Pause"))  # saved
    seq = flag(page, "simSeq")
    with page.expect_download() as download:
        page.locator("#sim-export-recipe").click()
    recipe = tmp_path / "recipe.json"
    download.value.save_as(recipe)
    page.goto("/simulations/import/")
    page.locator("#import-recipe").set_input_files(str(recipe))
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(re.compile(r"/simulations/\d+/$"))
    page.wait_for_function("document.body.dataset.simReady === '1'")
    assert flag(page, "simSeq") == seq
    assert flag(page, "simStatus") == "final"
    assert entered_after_branch(page) == "MainWorkflow.emsSetMainParam"


def test_a_watcher_evaluates_on_a_copy_and_is_closed_out_when_the_owner_unshares(
    logged_in_page: Page, browser: Browser, server_url: str, shared_dir: Path, tmp_path: Path
) -> None:
    from django.contrib.auth import get_user_model

    from designer.models import Membership, Role, Team
    from tests.e2e.conftest import log_in

    page = logged_in_page
    simulation_id = open_simulation_of_the_sample(page, shared_dir, tmp_path)
    act(page, page.get_by_label("Shared with the team"))
    watcher = get_user_model().objects.create_user("watcher", password="watch-it-42")
    Membership.objects.create(team=Team.objects.get(name="Routing team"), user=watcher, role=Role.VIEWER)

    context = browser.new_context(base_url=server_url)
    try:
        other = context.new_page()
        log_in(other, "watcher", "watch-it-42")
        other.goto(f"/simulations/{simulation_id}/")
        other.wait_for_function("document.body.dataset.simRole === 'watcher' && document.body.dataset.simReady === '1'")
        expect(other.locator("#sim-console-panel")).to_contain_text("evaluations run on a copy of the variables")
        assert console(other, "typeof varCustLevel") == '"undefined"'  # before the first step
        assert console(other, "shadow = 41 + 1") == "42"
        assert console(page, "typeof shadow") == '"undefined"'  # the owner's session never saw it

        act(page, page.get_by_label("Shared with the team"))  # unshare
        other.wait_for_function("document.body.dataset.simRefused === '4403'")
        expect(other.locator("#sim-message")).to_contain_text("your access to this simulation was withdrawn")
        expect(other.locator("#sim-connection")).to_have_text("refused (4403)")
    finally:
        context.close()


def test_variables_that_cannot_be_read_are_said_so_above_the_datamodel_and_in_the_trace(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    open_simulation_of_the_sample(page, shared_dir, tmp_path)
    warning = page.locator("#sim-datamodel-error")
    expect(warning).to_be_hidden()

    # a getter that never returns: reading the variables is interrupted at the scripts' time limit
    console(page, "var stuck = {get x() { while (true) {} }}; 1")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("the variables could not be read")
    expect(warning).to_contain_text("interrupted")
    expect(page.locator("#sim-trace .sim-record-error").last).to_contain_text("could not be read for the trace")

    console(page, "stuck = null")
    expect(warning).to_be_hidden()
    expect(page.locator("#sim-datamodel .sim-var[data-name='stuck']")).to_contain_text("stuck = null")
