"""A new user's walkthrough, as QA found it: what tripped them up must stay fixed.

- Pages load without console errors or failed requests (a missing favicon was a 404 on every page).
- The editor says when the lint panel describes the last saved draft rather than the unsaved text.
- The simulation trace describes microsteps (they read "undefined →") and links sources cleanly.
- A simulation error message does not outlive the action it answered.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, Request, expect

from tests.e2e.conftest import save_screenshot, wait_for_live_connection
from tests.e2e.test_designer import draft_files, import_sample, make_demo_user_owner
from tests.e2e.test_simulator import act, open_simulation_of_the_sample, step, step_until


def watch_for_errors(page: Page) -> tuple[list[str], list[str]]:
    """Collect console errors, page errors, failed requests and HTTP errors from now on.

    Returns (errors, aborted): a request the browser cancelled itself (net::ERR_ABORTED, as when the
    next page.goto leaves before the favicon has arrived) is no server failure, so its URL is kept
    apart for `assert_served` to fetch again instead of failing the walk at random.
    """
    errors: list[str] = []
    aborted: list[str] = []

    def failed(request: Request) -> None:
        if request.failure == "net::ERR_ABORTED":
            aborted.append(request.url)
        else:
            errors.append(f"failed: {request.url} {request.failure}")

    page.on("console", lambda m: m.type == "error" and errors.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("requestfailed", failed)
    page.on("response", lambda r: r.status >= 400 and errors.append(f"HTTP {r.status}: {r.url}"))
    return errors, aborted


def assert_served(page: Page, urls: list[str]) -> None:
    """Each URL whose request the browser cancelled is served when asked for again."""
    for url in sorted(set(urls)):
        response = page.request.get(url)
        assert response.status == 200, f"{url} answered {response.status}"


def test_the_main_pages_load_without_console_errors_or_failed_requests(
    page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    from designer.management.commands.seed import DEMO_PASSWORD, DEMO_USERNAME, ensure_demo_user
    from tests.e2e.conftest import log_in

    errors, aborted = watch_for_errors(page)
    ensure_demo_user()
    log_in(page, DEMO_USERNAME, DEMO_PASSWORD)
    make_demo_user_owner()
    project = import_sample(page, shared_dir, tmp_path)
    version = project.latest_version
    for url in ["/projects/", f"/projects/{project.pk}/", f"/versions/{version.pk}/", "/simulations/", "/teams/"]:
        page.goto(url)
        wait_for_live_connection(page)
    page.goto(f"/versions/{version.pk}/diagram/")
    page.wait_for_function("document.body.dataset.diagramReady === '1'")

    assert errors == []
    assert_served(page, aborted)
    assert page.locator("link[rel=icon]").count() == 1
    assert_served(page, [page.evaluate("document.querySelector('link[rel=icon]').href")])


def test_the_editor_says_the_lint_results_are_for_the_saved_draft_while_edits_are_unsaved(
    logged_in_page: Page,
) -> None:
    page = logged_in_page
    make_demo_user_owner()
    page.goto("/projects/new/")
    page.get_by_label("Name").fill("Lint lag")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/projects/\d+/$"))
    page.get_by_role("link", name=re.compile("in the editor")).click()
    page.wait_for_function("document.body.dataset.editorReady === '1' && document.body.dataset.lintReady === '1'")
    panel = page.locator("#lint-panel")
    expect(panel.locator(".lint-stale")).to_have_count(0)

    page.evaluate(
        """() => { const cm = document.querySelector('.CodeMirror').CodeMirror;
           cm.setValue(cm.getValue().replace(/target="[^"]+"/, 'target="NoSuchState"')); }"""
    )
    expect(panel.locator(".lint-stale")).to_contain_text("Unsaved changes")

    page.get_by_role("button", name="Save draft").click()
    page.wait_for_function("document.body.dataset.saveState === 'saved' && document.body.dataset.lintReady === '1'")
    expect(panel.locator(".lint-stale")).to_have_count(0)
    expect(panel).to_contain_text("NoSuchState")
    save_screenshot(page, "walkthrough-lint-after-save")


def test_the_trace_describes_microsteps_and_links_sources_without_a_dangling_colon(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    open_simulation_of_the_sample(page, shared_dir, tmp_path)
    step_until(page, "document.body.dataset.simPending.includes('session:fetch')")

    microsteps = page.locator("#sim-trace .sim-record-microstep .sim-summary")
    assert microsteps.count() > 0
    summaries = microsteps.all_inner_texts()
    assert not [s for s in summaries if "undefined" in s]
    assert any("→" in s for s in summaries)
    links = page.locator("#sim-trace .sim-src").all_inner_texts()
    assert links and not [text for text in links if text.endswith(":")]
    save_screenshot(page, "walkthrough-trace")


def test_an_error_message_goes_away_with_the_next_action_instead_of_seeming_to_answer_it(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    open_simulation_of_the_sample(page, shared_dir, tmp_path)
    message = page.locator("#sim-message")

    page.locator("#sim-advance-seconds").fill("-5")
    act(page, page.get_by_role("button", name="Advance", exact=True))
    expect(message).to_contain_text("advance seconds must be a number between 0 and 604800")

    step(page)
    expect(message).to_be_hidden()


def test_a_refused_import_shows_the_reason_styled_as_an_error_and_keeps_the_name(
    logged_in_page: Page, tmp_path: Path
) -> None:
    page = logged_in_page
    make_demo_user_owner()
    not_xml = tmp_path / "notes.scxml"
    not_xml.write_text("this is not XML\n")
    page.goto("/projects/upload/")
    page.get_by_label("Name").fill("Broken import")
    page.get_by_label("File").set_input_files(str(not_xml))
    page.get_by_role("button", name="Import").click()

    errors = page.locator(".errorlist")
    expect(errors).to_contain_text("not well-formed XML (line 1)")
    assert errors.first.evaluate("e => getComputedStyle(e).color") == "rgb(197, 48, 48)"
    expect(page.get_by_label("Name")).to_have_value("Broken import")


BROKEN = b"""<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="a">
  <state id="a"><transition event="go" target="NoSuchState"/></state>
</scxml>
"""


def test_a_version_with_definition_errors_says_it_cannot_be_simulated_and_disables_the_controls(
    logged_in_page: Page,
) -> None:
    from designer import history
    from designer.models import Project, Team

    page = logged_in_page
    make_demo_user_owner()
    project = Project.objects.create(team=Team.objects.get(name="Routing team"), name="Broken target")
    version = history.create_version(
        project, {"src-gen/Main.scxml": BROKEN}, author=None, message="broken", parent=None, entry="src-gen/Main.scxml"
    )
    page.goto(f"/versions/{version.pk}/")
    page.get_by_role("link", name="Simulate").click()
    page.get_by_role("button", name="Start simulation").click()
    page.wait_for_function("document.body.dataset.simFatal === '1'")

    message = page.locator("#sim-message")
    expect(message).to_contain_text("This version cannot be simulated")
    expect(message).to_contain_text("NoSuchState")
    source = message.get_by_role("link", name="Open its source")
    expect(source).to_have_attribute("href", f"/versions/{version.pk}/editor/")
    expect(page.get_by_role("button", name="Step", exact=True)).to_be_disabled()
    save_screenshot(page, "walkthrough-cannot-simulate")


SIMPLE = b"""<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="a">
  <state id="a"><transition event="go" target="b"/></state>
  <final id="b"/>
</scxml>
"""


def test_a_teammate_watching_a_shared_simulation_finds_every_control_disabled(
    logged_in_page: Page, browser: Browser, server_url: str
) -> None:
    from django.contrib.auth import get_user_model

    from designer import history
    from designer.models import Membership, Project, Role, Team
    from simulator.models import Simulation
    from tests.e2e.conftest import log_in

    page = logged_in_page
    make_demo_user_owner()
    team = Team.objects.get(name="Routing team")
    project = Project.objects.create(team=team, name="Watched")
    version = history.create_version(
        project, {"src-gen/Main.scxml": SIMPLE}, author=None, message="v1", parent=None, entry="src-gen/Main.scxml"
    )
    page.goto(f"/versions/{version.pk}/")
    page.get_by_role("link", name="Simulate").click()
    page.get_by_role("button", name="Start simulation").click()
    page.wait_for_function("document.body.dataset.simReady === '1'")
    Simulation.objects.filter(version=version).update(shared=True)
    simulation = Simulation.objects.get(version=version)
    watcher = get_user_model().objects.create_user("watcher", password="watch-it-42")
    Membership.objects.create(team=team, user=watcher, role=Role.VIEWER)

    context = browser.new_context(base_url=server_url)
    try:
        other = context.new_page()
        log_in(other, "watcher", "watch-it-42")
        other.goto(f"/simulations/{simulation.pk}/")
        other.wait_for_function("document.body.dataset.simRole === 'watcher' && document.body.dataset.simReady === '1'")

        for name in ["Step", "Run", "Restart", "Advance", "Back one step"]:
            expect(other.get_by_role("button", name=name, exact=True)).to_be_disabled()
        expect(other.locator("#sim-advance-seconds")).to_be_disabled()
    finally:
        context.close()


def test_replacing_or_discarding_a_draft_asks_first_and_a_no_keeps_the_work(logged_in_page: Page) -> None:
    from designer import history
    from designer.models import Draft, Project, Team

    page = logged_in_page
    make_demo_user_owner()
    project = Project.objects.create(team=Team.objects.get(name="Routing team"), name="Careful")
    version = history.create_version(
        project, {"src-gen/Main.scxml": SIMPLE}, author=None, message="v1", parent=None, entry="src-gen/Main.scxml"
    )
    page.goto(f"/projects/{project.pk}/draft/")
    page.get_by_label("Path").last.fill("notes.txt")
    page.get_by_label("Content").fill("keep me")
    with page.expect_navigation():
        page.get_by_role("button", name="Add", exact=True).click()
    assert draft_files(project)["notes.txt"] == "keep me"

    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.goto(f"/versions/{version.pk}/")
    page.get_by_role("button", name="Start a draft from v1").click()
    page.goto(f"/projects/{project.pk}/draft/")
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Discard the draft").click()
    page.reload()

    assert questions == [
        "Start a new draft from v1? It replaces your current draft, with any changes in it.",
        "Discard your draft and every change in it?",
    ]
    assert draft_files(project)["notes.txt"] == "keep me"

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="Discard the draft").click()
    assert not Draft.objects.filter(project=project).exists()
