"""The designer in the browser: import a Composer project, read its diagram, jump to the source,
edit a file in a draft, save a new version and see the visual diff between the two versions."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

from playwright.sync_api import Page, expect

from designer.models import Draft, Membership, Project, Role, Team
from tests.e2e.conftest import save_screenshot

SAMPLE = Path("ors-samples") / "crd-gvp-wf"
ENTRY = "src-gen/IPD_default_MainWorkflow.scxml"
WORKFLOW = "src-gen/Main.scxml"


def zip_of(folder: Path) -> bytes:
    """The folder as a Composer project zip (paths relative to the folder)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def make_demo_user_owner() -> None:
    """The demo user (logged in by the fixture) owns a team, so it may import and edit."""
    from django.contrib.auth import get_user_model

    team = Team.objects.create(name="Routing team")
    Membership.objects.create(team=team, user=get_user_model().objects.get(username="demo"), role=Role.OWNER)


def create_project(page: Page, name: str, starter: str) -> Project:
    """Create a project of the demo user's team from a starter through the new-project page."""
    make_demo_user_owner()
    page.goto("/projects/new/")
    page.get_by_label("Team").select_option(label="Routing team")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Starter").select_option(starter)
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/projects/\d+/$"))
    return Project.objects.get(name=name)


def import_sample(page: Page, shared_dir: Path, tmp_path: Path) -> Project:
    """Upload the sample project zip through the import page; return the created project."""
    archive = tmp_path / "crd-gvp-wf.zip"
    archive.write_bytes(zip_of(shared_dir / SAMPLE))
    page.goto("/projects/upload/")
    page.get_by_label("Team").select_option(label="Routing team")
    page.get_by_label("Name").fill("CRD inbound")
    page.get_by_label("File").set_input_files(str(archive))
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(re.compile(r"/projects/\d+/$"))
    return Project.objects.get(name="CRD inbound")


def graph_of(page: Page, version_id: int) -> dict:
    """The graph API answer for a version, fetched with the browser's session."""
    response = page.request.get(f"/api/versions/{version_id}/graph")
    assert response.status == 200, response.text()
    return response.json()


def wait_for_diagram(page: Page) -> None:
    page.wait_for_function("document.body.dataset.diagramReady === '1'")


def test_a_user_imports_reads_the_diagram_edits_saves_and_sees_the_visual_diff(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    make_demo_user_owner()
    project = import_sample(page, shared_dir, tmp_path)
    v1 = project.latest_version
    assert v1 is not None and v1.entry == ENTRY

    # The diagram draws every state of the graph API, includes resolved.
    page.goto(f"/versions/{v1.pk}/diagram/")
    wait_for_diagram(page)
    graph = graph_of(page, v1.pk)
    assert len(graph["states"]) >= 55
    assert page.evaluate("document.body.dataset.stateCount") == str(len(graph["states"]))
    assert page.locator("#diagram [data-state-id]").count() == len(graph["states"])
    # Extension calls are drawn as module badges on the states that make them.
    submit = next(
        s for s in graph["states"] if any(a["module"] == "queue" and a["action"] == "submit" for a in s["actions"])
    )
    badge = page.locator(f'[data-state-id="{submit["id"]}"] .dg-badge[data-module="queue"][data-action="submit"]')
    expect(badge).to_have_count(1)
    # Hovering the badge shows the action's attribute expressions.
    page.get_by_label("Search the diagram").fill(submit["id"])
    page.get_by_label("Search the diagram").press("Enter")
    page.wait_for_function(f"document.body.dataset.searchResult === {json.dumps(submit['id'])}")
    badge.hover()
    tooltip = page.locator("#diagram .dg-tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("queue:submit (onentry")
    expect(tooltip).to_contain_text("requestid = ")
    page.wait_for_function("document.body.dataset.lintReady === '1'")
    save_screenshot(page, "designer-diagram")

    # Search a state by id (the diagram's search bar), then click it: the source opens at its line.
    target = next(s for s in graph["states"] if s["file"] == WORKFLOW and s["id"].endswith("TargetBySkill1"))
    page.get_by_label("Search the diagram").fill("TargetBySkill1")
    page.get_by_label("Search the diagram").press("Enter")
    page.wait_for_function(f"document.body.dataset.searchResult === {json.dumps(target['id'])}")
    expect(page.locator(f'[data-state-id="{target["id"]}"]')).to_have_class(re.compile(r"\bdg-found\b"))
    page.locator(f'[data-state-id="{target["id"]}"] > .dg-label').click()
    page.wait_for_url(re.compile(rf"/versions/{v1.pk}/editor/\?"))
    page.wait_for_function("document.body.dataset.editorReady === '1'")
    assert page.evaluate("document.body.dataset.currentFile") == WORKFLOW
    assert page.evaluate("document.body.dataset.currentLine") == str(target["line"])
    expect(page.locator(".CodeMirror-code .cm-jump-line")).to_contain_text('<state id="TargetBySkill1">')
    save_screenshot(page, "designer-source-line")

    # The lint panel lists the API's findings; clicking one opens its line, marked in the gutter.
    findings = page.request.get(f"/api/versions/{v1.pk}/lint").json()["findings"]
    page.wait_for_function("document.body.dataset.lintReady === '1'")
    expect(page.locator("#lint-panel .lint-item")).to_have_count(len(findings))
    # Findings about Composer's _reserved_/_composer_ plumbing are grouped apart, folded.
    generated = [f for f in findings if "._reserved_" in f["message"] or "'_composer_" in f["message"]]
    assert generated and page.evaluate("document.getElementById('lint-panel').dataset.generatedCount") == str(
        len(generated)
    )
    expect(page.locator("#lint-panel details.lint-generated")).not_to_have_attribute("open", "")
    expect(page.locator("#lint-panel details.lint-generated .lint-item").first).to_be_hidden()
    located = next(f for f in findings if f["file"] == WORKFLOW and f["line"] and f not in generated)
    page.locator(f'#lint-panel .lint-item[data-line="{located["line"]}"]').first.click()
    page.wait_for_function(f"document.body.dataset.currentLine === '{located['line']}'")
    marker = page.locator(".CodeMirror-code .cm-jump-line .CodeMirror-lint-marker-" + located["severity"])
    expect(marker).to_have_count(1)

    # ... and back: "show in diagram" opens the diagram on the state around the cursor.
    page.goto(f"/versions/{v1.pk}/editor/?file={WORKFLOW}&line={target['line'] + 1}")
    page.wait_for_function("document.body.dataset.editorReady === '1'")
    page.get_by_role("button", name="Show in diagram").click()
    page.wait_for_url(re.compile(rf"/versions/{v1.pk}/diagram/\?state="))
    wait_for_diagram(page)
    page.wait_for_function(f"document.body.dataset.searchResult === {json.dumps(target['id'])}")
    page.goto(f"/versions/{v1.pk}/editor/?file={WORKFLOW}&line={target['line']}")
    page.wait_for_function("document.body.dataset.editorReady === '1'")

    # Edit the workflow in the user's draft: add a state before TargetBySkill1, save a version.
    page.get_by_role("link", name="Edit in my draft").click()
    page.wait_for_url(re.compile(rf"/projects/{project.pk}/draft/editor/\?file="))
    page.wait_for_function("document.body.dataset.editorReady === '1'")
    assert page.evaluate("document.body.dataset.currentLine") == str(target["line"])
    page.keyboard.type('<state id="ReviewedInBrowser"/>')
    page.keyboard.press("Enter")
    page.wait_for_function("document.body.dataset.dirty === '1'")
    page.get_by_label("Message").fill("Add a review state")
    page.get_by_role("button", name="Save as new version").click()
    page.wait_for_function("document.body.dataset.saveState === 'version-saved'")
    expect(page.locator("#editor-message")).to_contain_text("Saved as v2")
    v2 = project.versions.get(number=2)
    before, after = v1.read_files()[WORKFLOW], v2.read_files()[WORKFLOW]
    assert b'<state id="ReviewedInBrowser"/>' in after
    assert after.count(b"\r\n") >= before.count(b"\r\n")

    # The diff of the two versions: the new state is coloured as added on the diagram.
    page.goto(f"/versions/{v1.pk}/diff/{v2.pk}/")
    wait_for_diagram(page)
    added = next(s["id"] for s in graph_of(page, v2.pk)["states"] if s["id"].endswith("ReviewedInBrowser"))
    expect(page.locator(f'[data-state-id="{added}"]')).to_have_class(re.compile(r"\bdg-added\b"))
    expect(page.locator("#diff-summary [data-kind=added]")).to_contain_text("added: 1 state(s)")
    # ... next to the per-file text diff showing the typed line.
    file_diff = page.locator(f'details[data-path="{WORKFLOW}"]')
    expect(file_diff).to_contain_text('+<state id="ReviewedInBrowser"/>')
    # The editor kept the file's CRLF/LF line endings: only the typed lines differ.
    assert file_diff.locator("pre.add").count() <= 2
    save_screenshot(page, "designer-visual-diff")


def test_a_stale_draft_is_refused_with_a_conflict_message_and_keeps_the_typed_text(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    make_demo_user_owner()
    project = import_sample(page, shared_dir, tmp_path)

    page.goto(f"/projects/{project.pk}/draft/editor/?file={WORKFLOW}&line=30")
    page.wait_for_function("document.body.dataset.editorReady === '1'")
    page.keyboard.type("<!-- typed before the conflict -->")
    # Someone else saves a version meanwhile: this draft's parent is now stale.
    from designer import history

    history.create_version(
        project, v.read_files() if (v := project.latest_version) else {}, author=None, message="other", parent=v
    )
    page.get_by_label("Message").fill("My change")
    page.get_by_role("button", name="Save as new version").click()
    page.wait_for_function("document.body.dataset.saveState === 'conflict'")
    expect(page.locator("#editor-message")).to_contain_text("Your text is still here in the editor.")
    assert "<!-- typed before the conflict -->" in page.locator(".CodeMirror-code").inner_text()
    assert project.versions.count() == 2
    save_screenshot(page, "designer-conflict")

    # Rebasing keeps the typed text; saving again then makes v3 with it.
    page.get_by_role("button", name="Keep my files, base the draft on v2").click()
    page.wait_for_function("document.body.dataset.saveState === 'rebased'")
    page.get_by_label("Message").fill("My change, after v2")
    page.get_by_role("button", name="Save as new version").click()
    page.wait_for_function("document.body.dataset.saveState === 'version-saved'")
    assert b"<!-- typed before the conflict -->" in project.versions.get(number=3).read_files()[WORKFLOW]


def test_the_diagram_collapses_a_compound_state_and_search_finds_a_hidden_state_again(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    make_demo_user_owner()
    project = import_sample(page, shared_dir, tmp_path)
    page.goto(f"/versions/{project.latest_version.pk}/diagram/")
    wait_for_diagram(page)
    total = int(page.evaluate("document.body.dataset.stateCount"))
    graph = page.evaluate("window.diagramView.graph")
    states = {s["id"]: s for s in graph["states"]}
    block = next(i for i in states if i.endswith("TargetByAG") and states[i]["children"])

    def descendants(state_id: str) -> int:
        return sum(1 + descendants(c) for c in states[state_id]["children"])

    page.locator(f'[data-state-id="{block}"] > .dg-toggle').dispatch_event("click")
    page.wait_for_function(f"document.body.dataset.stateCount === '{total - descendants(block)}'")
    expect(page.locator(f'[data-state-id="{block}"]')).to_have_class(re.compile(r"\bdg-collapsed\b"))

    # Wheel zooms around the pointer, dragging pans, Fit shows the whole chart.
    box = page.locator("#diagram svg").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    zoom = float(page.evaluate("document.getElementById('diagram').dataset.zoom"))
    page.mouse.wheel(0, -300)
    page.wait_for_function(f"parseFloat(document.getElementById('diagram').dataset.zoom) > {zoom}")
    before = page.evaluate("window.diagramView.transform.x")
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    assert page.evaluate("window.diagramView.transform.x") == before + 120
    page.get_by_role("button", name="Fit").click()
    size = page.evaluate("window.diagramView.size")
    fitted = float(page.evaluate("document.getElementById('diagram').dataset.zoom"))
    assert size["h"] * fitted <= box["height"] and size["w"] * fitted <= box["width"]

    hidden = states[block]["children"][0]
    page.get_by_label("Search the diagram").fill(hidden)
    page.get_by_label("Search the diagram").press("Enter")
    page.wait_for_function(f"document.body.dataset.searchResult === {json.dumps(hidden)}")
    assert page.evaluate("document.body.dataset.stateCount") == str(total)
    expect(page.locator(f'[data-state-id="{hidden}"]')).to_have_class(re.compile(r"\bdg-found\b"))

    # Clicking a transition's label opens the source at the transition's line.
    transition = next(t for t in graph["transitions"] if t["source"] == block and t["targets"] and t["event"])
    page.locator(f'.dg-edge-label[data-transition-id="{transition["id"]}"]').first.dispatch_event("click")
    page.wait_for_url(re.compile(r"/editor/\?"))
    page.wait_for_function("document.body.dataset.editorReady === '1'")
    assert page.evaluate("[document.body.dataset.currentFile, document.body.dataset.currentLine]") == [
        transition["file"],
        str(transition["line"]),
    ]


def draft_files(project: Project) -> dict[str, str]:
    """Path -> text of the demo user's draft, as stored."""
    draft = Draft.objects.get(project=project, user__username="demo")
    return {path: content.decode() for path, content in draft.read_files().items()}


def test_files_are_added_renamed_and_deleted_in_the_draft_from_the_editor(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    make_demo_user_owner()
    project = import_sample(page, shared_dir, tmp_path)
    page.goto(f"/projects/{project.pk}/draft/editor/")
    page.wait_for_function("document.body.dataset.editorReady === '1'")
    assert page.evaluate("document.body.dataset.currentFile") == ENTRY

    page.once("dialog", lambda dialog: dialog.accept("include/user/extra.js"))
    page.get_by_role("button", name="Add file").click()
    page.wait_for_function("document.body.dataset.currentFile === 'include/user/extra.js'")
    page.locator(".CodeMirror").click()
    page.keyboard.type("var greeting = 'hello';")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#editor-message")).to_have_text("Draft saved.")
    assert draft_files(project)["include/user/extra.js"] == "var greeting = 'hello';"

    page.once("dialog", lambda dialog: dialog.accept("include/user/helpers.js"))
    page.get_by_role("button", name="Rename").click()
    page.wait_for_function("document.body.dataset.currentFile === 'include/user/helpers.js'")
    expect(page.locator("#editor-tree a[data-path='include/user/helpers.js']")).to_have_count(1)
    files = draft_files(project)
    assert "include/user/extra.js" not in files and files["include/user/helpers.js"] == "var greeting = 'hello';"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.locator("#editor-message")).to_have_text("Deleted include/user/helpers.js.")
    assert "include/user/helpers.js" not in draft_files(project)
    expect(page.locator("#editor-tree a[data-path='include/user/helpers.js']")).to_have_count(0)


def test_the_visual_diff_marks_removed_changed_and_added_states_and_transitions(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    make_demo_user_owner()
    project = import_sample(page, shared_dir, tmp_path)
    page.goto(f"/versions/{project.latest_version.pk}/diagram/")
    wait_for_diagram(page)
    old = graph_of(page, project.latest_version.pk)
    states = {s["id"]: s for s in old["states"]}
    # A new version without one atomic state (and its transitions), with one condition changed.
    gone = next(i for i, s in states.items() if i.endswith("wreqGetCallerDetail"))
    changed = next(t for t in old["transitions"] if t["source"].endswith("bchIsVIP") and t["cond"])
    new = json.loads(json.dumps(old))
    new["states"] = [s for s in new["states"] if s["id"] != gone]
    for s in new["states"]:
        s["children"] = [c for c in s["children"] if c != gone]
    new["transitions"] = [t for t in new["transitions"] if t["source"] != gone]
    next(t for t in new["transitions"] if t["id"] == changed["id"])["cond"] = "varCustLevel == 'gold'"

    result = page.evaluate(
        """async ([a, b]) => {
            const d = Diagram.diff(a, b);
            const view = await Diagram.render(document.getElementById("diagram"), d.graph, {status: d});
            return {states: d.states, transitions: d.transitions, drawn: view.stateEls.size};
        }""",
        [old, new],
    )
    assert result["states"] == {gone: "removed"}
    removed = [t for t in old["transitions"] if t["source"] == gone]
    assert result["transitions"] == {changed["id"]: "changed", **{"old-" + t["id"]: "removed" for t in removed}}
    assert result["drawn"] == len(old["states"])
    expect(page.locator(f'[data-state-id="{gone}"]')).to_have_class(re.compile(r"\bdg-removed\b"))
    expect(page.locator(f'.dg-transition[data-transition-id="{changed["id"]}"]')).to_have_class(
        re.compile(r"\bdg-changed\b")
    )

    # The other way round, the state and its transitions are added.
    added = page.evaluate("([a, b]) => Diagram.diff(a, b)", [new, old])
    assert added["states"] == {gone: "added"}
    assert set(added["transitions"].values()) == {"added", "changed"}


def test_frictions_a_new_user_met_are_gone(logged_in_page: Page, shared_dir: Path, tmp_path: Path) -> None:
    """An empty project's first file is its entry and an ORS document; saving with lint errors asks
    first, listing them; a refused comment keeps its text and says why on the page."""
    page = logged_in_page
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    project = create_project(page, "Blank slate", "empty")
    page.goto(f"/projects/{project.pk}/draft/editor/")
    page.wait_for_function("document.body.dataset.editorReady === '1'")

    page.once("dialog", lambda dialog: dialog.accept("src-gen/Flow.scxml"))
    page.get_by_role("button", name="Add file").click()
    page.wait_for_function("document.body.dataset.currentFile === 'src-gen/Flow.scxml'")
    page.wait_for_function("document.body.dataset.lintReady === '1'")
    assert Draft.objects.get(project=project).entry == "src-gen/Flow.scxml"
    text = draft_files(project)["src-gen/Flow.scxml"]
    assert 'xmlns:queue="http://www.genesyslab.com/modules/queue"' in text and 'profile="ecmascript"' in text
    assert failed == []  # no 400 from a lint of a draft without an entry

    # A transition to a state that does not exist: saving asks first, listing the error.
    page.evaluate(
        """() => {
          const cm = document.querySelector(".CodeMirror").CodeMirror;
          const broken = '<state id="start"><transition target="nowhere"/></state>';
          cm.setValue(cm.getValue().replace('</scxml>', broken + '\\n</scxml>'));
        }"""
    )
    page.wait_for_function("document.body.dataset.dirty === '1'")
    page.get_by_label("Message").fill("First flow")
    questions: list[str] = []

    def refuse(dialog: object) -> None:
        questions.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    page.once("dialog", refuse)
    page.get_by_role("button", name="Save as new version").click()
    page.wait_for_function("document.body.dataset.saveState === 'cancelled'")
    assert "1 lint error(s)" in questions[0] and "src-gen/Flow.scxml:" in questions[0] and "nowhere" in questions[0]
    assert project.versions.count() == 0
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Save as new version").click()
    page.wait_for_function("document.body.dataset.saveState === 'version-saved'")
    version = project.versions.get()

    # A comment with a line but no file is refused on the page itself, the text kept.
    page.goto(f"/versions/{version.pk}/")
    page.get_by_label("Comment").fill("Why this target?")
    page.get_by_label("Line (optional)").fill("3")
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_test_id("comment-error")).to_contain_text("A line number needs a file path.")
    expect(page.get_by_label("Comment")).to_have_value("Why this target?")
    expect(page.get_by_label("Line (optional)")).to_have_value("3")
