"""Visual authoring in the browser: build a routing strategy from blocks on the diagram of an empty
project without typing XML, save, simulate it to a routed outcome, rename, retarget, undo, redo;
and an attribute edit of a shared Composer sample that changes one line of the saved file."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from designer import history
from designer.authoring import blocks, edits
from designer.models import Membership, Project, Role, Team
from designer.starters import load_starter
from tests.e2e.conftest import save_screenshot
from tests.e2e.test_designer import import_sample, make_demo_user_owner

PATH = "strategy.scxml"


def blank_project() -> Project:
    team = Team.objects.create(name="Authors")
    user = get_user_model().objects.get(username="demo")
    Membership.objects.create(team=team, user=user, role=Role.OWNER)
    return Project.objects.create(team=team, name="From scratch", created_by=user)


def open_starter_draft_diagram(page: Page) -> tuple[Project, dict[str, bytes]]:
    """A project with the basic starter as v1, its draft's diagram open in the editor."""
    project = blank_project()
    files, entry = load_starter("basic")
    user = get_user_model().objects.get(username="demo")
    history.create_version(project, files, author=user, message="Starter", parent=None, entry=entry)
    page.goto(f"/projects/{project.pk}/draft/diagram/")
    page.wait_for_function("document.body.dataset.editorReady === '1'")
    return project, files


def edited(page: Page, count: int) -> int:
    """Wait until the editor applied its `count`-th edit (and drew it); returns count."""
    page.wait_for_function(f"Number(document.body.dataset.editCount || 0) >= {count}")
    page.wait_for_function("document.body.dataset.diagramReady === '1'")
    error = page.evaluate("document.body.dataset.editError || ''")
    assert not error, error
    return count


def add_block(
    page: Page, kind: str, fields: dict[str, str], rows: list[dict[str, str]] | None = None, **selects: str
) -> None:
    """Open a palette block, fill its form (text fields, rows, selects) and add it."""
    page.locator(f'#authoring-palette [data-block="{kind}"]').click()
    form = page.locator(f'form.au-block-form[data-block="{kind}"]')
    for name, value in fields.items():
        form.locator(f"#block-{kind}-{name}").fill(value)
    for name, value in selects.items():
        form.locator(f"#block-{kind}-{name}").select_option(value)
    for row in rows or []:
        param = row.pop("_param")
        index = form.locator(f"#block-{kind}-{param} .au-row").count()
        form.locator(f"#block-{kind}-{param}-add").click()
        for name, value in row.items():
            cell = form.locator(f"#block-{kind}-{param}-{index}-{name}")
            if cell.evaluate("el => el.tagName") == "SELECT":
                cell.select_option(value)
            else:
                cell.fill(value)
    form.get_by_role("button", name=re.compile("^Add ")).click()


def select_state(page: Page, state_id: str, local_id: str | None = None) -> None:
    """Find a state with the diagram's search and click it; the inspector shows its local id."""
    page.get_by_label("Search the diagram").fill(state_id)
    page.get_by_label("Search the diagram").press("Enter")
    page.wait_for_function(f"document.body.dataset.searchResult === {json.dumps(state_id)}")
    page.locator(f'#diagram [data-state-id="{state_id}"] > .dg-label').click()
    page.wait_for_function(f"document.body.dataset.selection === {json.dumps('state:' + (local_id or state_id))}")


def expected_strategy() -> str:
    """The same edits, applied in-process: what the browser must have produced."""
    ops = [
        ("entry", {"name": "Entry1", "variables": [{"name": "profile", "value": None}]}, None),
        ("webrequest", {"name": "GetProfile", "url": "'http://crm.example/profile'", "result": "profile"}, "Entry1"),
        ("exit", {"name": "Exit1"}, None),
        ("redirect", {"name": "Fallback", "to": "'5000'", "next": "Exit1", "error": "Exit1"}, None),
        (
            "target",
            {
                "name": "ToSupport",
                "targets": [{"type": "agentgroup", "name": "'Support'"}],
                "next": "Exit1",
                "error": "Fallback",
            },
            None,
        ),
        (
            "branching",
            {
                "name": "IsVip",
                "conditions": [{"cond": "profile.vip == true", "target": "Fallback"}],
                "default": "ToSupport",
            },
            "GetProfile",
        ),
    ]
    text = blocks.new_document("strategy")
    for kind, params, connect in ops:
        text = edits.add_block(text, kind, params, connect_from=connect).text
    return text


def test_a_user_builds_a_strategy_from_blocks_saves_simulates_renames_retargets_undoes_and_redoes(
    logged_in_page: Page,
) -> None:
    page = logged_in_page
    project = blank_project()

    # An empty project: its first .scxml file starts as an empty ORS strategy and is the entry.
    page.goto(f"/projects/{project.pk}/draft/")
    page.get_by_label("Path").fill(PATH)
    page.get_by_role("button", name="Add", exact=True).click()
    page.goto(f"/projects/{project.pk}/draft/diagram/")
    page.wait_for_function("document.body.dataset.editorReady === '1'")

    # Entry -> Web request -> Branching -> Target with a fallback -> Exit, from the palette.
    n = 0
    add_block(page, "entry", {"name": "Entry1"}, [{"_param": "variables", "name": "profile"}])
    n = edited(page, n + 1)
    add_block(page, "webrequest", {"name": "GetProfile", "url": "'http://crm.example/profile'", "result": "profile"})
    n = edited(page, n + 1)  # connected from the selected block (Entry1)
    add_block(page, "exit", {"name": "Exit1"}, connect="")
    n = edited(page, n + 1)
    add_block(page, "redirect", {"name": "Fallback", "to": "'5000'"}, next="Exit1", error="Exit1", connect="")
    n = edited(page, n + 1)
    add_block(
        page,
        "target",
        {"name": "ToSupport"},
        [{"_param": "targets", "type": "agentgroup", "name": "'Support'"}],
        next="Exit1",
        error="Fallback",
        connect="",
    )
    n = edited(page, n + 1)
    add_block(
        page,
        "branching",
        {"name": "IsVip"},
        [{"_param": "conditions", "cond": "profile.vip == true", "target": "Fallback"}],
        default="ToSupport",
        connect="GetProfile",
    )
    n = edited(page, n + 1)
    assert page.evaluate("document.body.dataset.lintErrors") == "0"
    built = page.locator("#authoring-source").input_value()
    assert built == expected_strategy()
    expect(page.locator('#diagram [data-state-id="ToSupport"]')).to_have_count(1)
    save_screenshot(page, "authoring-built")

    # Save a version and simulate it with the default fakes: the call is routed.
    page.goto(f"/projects/{project.pk}/draft/")
    page.get_by_label("Message").fill("Built on the diagram")
    page.get_by_role("button", name="Save version").click()
    page.wait_for_url(re.compile(r"/versions/\d+/$"))
    v1 = project.versions.get(number=1)
    assert v1.read_files()[PATH].decode("utf-8") == built
    page.get_by_role("link", name="Simulate").click()
    page.get_by_role("button", name="Start simulation").click()
    page.wait_for_url(re.compile(r"/simulations/\d+/$"))
    page.wait_for_function("document.body.dataset.simReady === '1'")
    page.locator("#sim-run").click()
    page.wait_for_function("document.body.dataset.simStatus === 'final'")
    outcome = json.loads(page.evaluate("document.body.dataset.simOutcome"))
    assert outcome == {"status": "routed", "target": "7001@SIPSwitch.DN", "via": "queue:submit"}

    # Rename a state, retarget a transition, undo and redo on the diagram.
    page.goto(f"/projects/{project.pk}/draft/diagram/")
    page.wait_for_function("document.body.dataset.editorReady === '1'")
    select_state(page, "ToSupport")
    expect(page.locator("#inspector-rename-block")).to_be_checked()  # a block: renamed whole
    page.locator("#inspector-rename").fill("RouteSupport")
    page.locator("#inspector-rename-apply").click()
    n = edited(page, 1)
    select_state(page, "IsVip")
    page.locator("#inspector-transitions .au-link").first.click()
    page.wait_for_function("document.body.dataset.selection.startsWith('transition:')")
    page.locator("#inspector-target").select_option("Exit1")
    page.locator("#inspector-transition-apply").click()
    n = edited(page, n + 1)
    after_retarget = page.locator("#authoring-source").input_value()
    page.locator("#diagram svg").focus()
    page.keyboard.press("Control+z")
    n = edited(page, n + 1)
    assert page.locator("#authoring-source").input_value() != after_retarget
    page.keyboard.press("Control+Shift+z")
    n = edited(page, n + 1)
    assert page.locator("#authoring-source").input_value() == after_retarget

    page.goto(f"/projects/{project.pk}/draft/")
    page.get_by_label("Message").fill("Renamed and retargeted")
    page.get_by_role("button", name="Save version").click()
    page.wait_for_url(re.compile(r"/versions/\d+/$"))
    saved = project.versions.get(number=2).read_files()[PATH].decode("utf-8")
    expected = edits.rename_state(expected_strategy(), "ToSupport", "RouteSupport", block=True).text
    expected = expected.replace(
        '<transition event="IsVip.script.done" cond="profile.vip == true" target="Fallback"/>',
        '<transition event="IsVip.script.done" cond="profile.vip == true" target="Exit1"/>',
    )
    assert saved == expected


def test_an_attribute_edit_of_a_composer_sample_on_the_diagram_changes_one_line_of_the_saved_file(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    make_demo_user_owner()
    project = import_sample(page, shared_dir, tmp_path)
    original = project.latest_version.read_files()["src-gen/Main.scxml"].decode("utf-8")
    page.goto(f"/projects/{project.pk}/draft/diagram/")
    page.wait_for_function("document.body.dataset.editorReady === '1'")
    select_state(page, "MainWorkflow._reserved_TargetBySkill1_submit", "_reserved_TargetBySkill1_submit")
    form = page.locator('form.au-action[data-action="queue:submit"]')
    form.locator('[name="timeout"]').fill("45")
    # ... and a nested element: the skill expression of its queue:target.
    target = form.locator('fieldset[data-element="target"] [name="skillexpr"]')
    expect(target).to_have_value("'Loan > 1'")
    form.get_by_role("button", name="Apply submit").click()
    edited(page, 1)
    # A bad value is flagged before anything is saved.
    form = page.locator('form.au-action[data-action="queue:submit"]')
    form.locator('[name="timeout"]').fill("'soon'")
    expect(form.locator('label:has([name="timeout"]) .au-problem')).to_contain_text("a number")
    form.get_by_role("button", name="Apply submit").click()
    page.wait_for_function("(document.body.dataset.editError || '').includes('timeout')")

    page.goto(f"/projects/{project.pk}/draft/")
    page.get_by_label("Message").fill("Longer timeout")
    page.get_by_role("button", name="Save version").click()
    page.wait_for_url(re.compile(r"/versions/\d+/$"))
    saved = project.versions.get(number=2).read_files()["src-gen/Main.scxml"].decode("utf-8")
    diff = [
        line
        for line in difflib.ndiff(original.splitlines(keepends=True), saved.splitlines(keepends=True))
        if line[:1] in "+-"
    ]
    assert len(diff) == 2, diff
    assert 'timeout="10"' in diff[0] and 'timeout="45"' in diff[1]


def drag(page: Page, source, target) -> None:
    """Drag with the mouse from the centre of `source` to the centre of `target`."""
    a, b = source.bounding_box(), target.bounding_box()
    assert a and b
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=8)
    page.mouse.up()


def test_dragging_a_states_handle_adds_a_transition_and_dragging_a_transitions_end_retargets_it(
    logged_in_page: Page,
) -> None:
    page = logged_in_page
    open_starter_draft_diagram(page)
    page.locator("#diagram-fit").click()

    select_state(page, "MainWorkflow.DefaultRoute", "DefaultRoute")
    drag(
        page,
        page.locator(".au-handle[data-mode=new]"),
        page.locator('[data-state-id="MainWorkflow.Entry1"] > .dg-label'),
    )
    edited(page, 1)
    source = page.locator("#authoring-source").input_value()
    assert '<transition target="$$_MY_PREFIX_$$.Entry1"/>\n\t\t</state>\n\n\t\t<state id="Exit1">' in source

    select_state(page, "MainWorkflow.RouteToAgent", "RouteToAgent")
    page.locator("#inspector-transitions .au-link").nth(1).click()  # error.queue.submit -> DefaultRoute
    page.wait_for_function("document.body.dataset.selection.startsWith('transition:')")
    page.locator("#diagram-fit").click()
    drag(
        page,
        page.locator(".au-handle[data-mode=retarget]"),
        page.locator('[data-state-id="MainWorkflow.Entry1"] > .dg-label'),
    )
    edited(page, 2)
    source = page.locator("#authoring-source").input_value()
    assert (
        '<transition event="error.queue.submit" cond="_event.data.requestid == App_RouteToAgent[\'requestid\']"'
        ' target="$$_MY_PREFIX_$$.Entry1">' in source
    )


def test_deleting_a_state_lists_its_incoming_transitions_and_retargets_them(logged_in_page: Page) -> None:
    page = logged_in_page
    open_starter_draft_diagram(page)

    select_state(page, "MainWorkflow.DefaultRoute", "DefaultRoute")
    page.locator("#diagram svg").focus()
    page.keyboard.press("Delete")
    dialog = page.locator("#authoring-delete")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#authoring-delete-list li")).to_have_count(1)
    expect(dialog.locator("#authoring-delete-list")).to_contain_text("RouteToAgent: error.queue.submit")
    dialog.locator("#authoring-delete-to").select_option("Exit1")
    dialog.get_by_role("button", name="Retarget").click()
    edited(page, 1)
    source = page.locator("#authoring-source").input_value()
    assert 'id="DefaultRoute"' not in source
    assert 'target="$$_MY_PREFIX_$$.Exit1">\n\t\t\t\t<log expr="\'No agent found: \'' in source
    # The transition's executable content is editable too.
    select_state(page, "MainWorkflow.RouteToAgent", "RouteToAgent")
    page.locator("#inspector-transitions .au-link").first.click()
    page.wait_for_function("document.body.dataset.selection.startsWith('transition:')")
    content = page.locator("#inspector-transition-content")
    expect(content).to_have_value(re.compile(r"<assign location=\"varTarget\""))
    content.fill("<log expr=\"'routed'\"/>")
    page.get_by_role("button", name="Apply content").click()
    edited(page, 2)
    assert "<log expr=\"'routed'\"/>" in page.locator("#authoring-source").input_value()
    # A plain state from the palette, inside the chosen compound state.
    page.locator('#authoring-palette [data-block="plain-final"]').click()
    page.locator("#plain-final-id").fill("Done")
    page.locator("#plain-final-parent").select_option("_composer_entry")
    page.locator("#plain-final-add").click()
    edited(page, 3)
    assert (
        '\t\t<final id="_reserved_Exit1_final"/>\n\t\t<final id="Done"/>\n\t</state>'
        in page.locator("#authoring-source").input_value()
    )


def test_a_state_moved_by_hand_keeps_its_place_in_the_layout_sidecar(logged_in_page: Page) -> None:
    page = logged_in_page
    project, files = open_starter_draft_diagram(page)
    page.locator("#diagram-fit").click()
    select_state(page, "MainWorkflow.DefaultRoute", "DefaultRoute")
    handle = page.locator(".au-move").bounding_box()
    assert handle
    x, y = handle["x"] + 5, handle["y"] + 5
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y + 40, steps=6)
    page.mouse.up()
    page.wait_for_function("Number(document.body.dataset.layoutSaved || 0) >= 1")
    layout = page.request.get(f"/api/projects/{project.pk}/draft/layout").json()
    position = layout["files"]["src-gen/Main.scxml"]["DefaultRoute"]
    assert set(position) == {"x", "y"}
    # The SCXML is untouched; after a reload the state is drawn where it was put.
    draft_main = page.request.get(f"/api/projects/{project.pk}/draft/edit?path=src-gen/Main.scxml").json()["text"]
    assert draft_main == files["src-gen/Main.scxml"].decode("utf-8")
    page.reload()
    page.wait_for_function("document.body.dataset.editorReady === '1'")
    assert page.evaluate("document.body.dataset.movedStates") == "1"
    moved = page.locator('[data-state-id="MainWorkflow.DefaultRoute"]')
    expect(moved).to_have_attribute("transform", re.compile(r"translate\("))
    save_screenshot(page, "authoring-moved-state")
    # Saved with the next version, the version's (read-only) diagram draws it there too.
    page.goto(f"/projects/{project.pk}/draft/")
    page.get_by_label("Message").fill("Moved a state")
    page.get_by_role("button", name="Save version").click()
    page.wait_for_url(re.compile(r"/versions/\d+/$"))
    v2 = project.versions.get(number=2)
    assert b"DefaultRoute" in v2.read_files()[".orchweb/layout.json"]
    page.goto(f"/versions/{v2.pk}/diagram/")
    page.wait_for_function("document.body.dataset.layoutReady === '1'")
    assert page.evaluate("document.body.dataset.movedStates") == "1"
    page.goto(f"/projects/{project.pk}/draft/diagram/")
    page.wait_for_function("document.body.dataset.editorReady === '1'")
    # "Automatic layout" forgets the file's positions.
    page.locator("#authoring-layout-reset").click()
    page.wait_for_function("Number(document.body.dataset.layoutSaved || 0) >= 1")
    page.wait_for_function("document.body.dataset.movedStates === '0'")
