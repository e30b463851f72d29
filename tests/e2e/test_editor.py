"""The text editor in the browser: search and replace, go to line, completion of a transition's
target from the document's states, block snippets, and a new .scxml file starting as an ORS document
(the server's template, the one the diagram editor uses)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from designer.authoring.blocks import new_document
from designer.models import Project
from tests.e2e.test_designer import create_project, draft_files

FLOW = """<?xml version="1.0" encoding="utf-8"?>
<scxml version="1.0" xmlns="http://www.w3.org/2005/07/scxml"
\txmlns:queue="http://www.genesyslab.com/modules/queue" initial="Welcome">
\t<state id="Welcome">
\t\t<transition event="go" target="Ro"/>
\t</state>
\t<state id="Routing"/>
\t<final id="Welcome_done"/>
</scxml>
"""


def value(page: Page) -> str:
    return page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")


def cursor(page: Page) -> dict:
    return page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getCursor()")


def open_new_flow(page: Page) -> Project:
    """An empty project whose first file, src-gen/Flow.scxml, is open in the draft editor."""
    project = create_project(page, "Editor tools", "empty")
    page.goto(f"/projects/{project.pk}/draft/editor/")
    page.wait_for_function("document.body.dataset.editorReady === '1'")
    page.once("dialog", lambda dialog: dialog.accept("src-gen/Flow.scxml"))
    page.get_by_role("button", name="Add file").click()
    page.wait_for_function("document.body.dataset.currentFile === 'src-gen/Flow.scxml'")
    page.wait_for_function("document.body.dataset.completionReady === '1'")
    return project


def test_search_replace_go_to_line_target_completion_and_block_snippets(logged_in_page: Page) -> None:
    page = logged_in_page
    project = open_new_flow(page)
    # The editor shows the server's one template for a new .scxml, with the ORS namespaces.
    assert value(page) == new_document("Flow") == draft_files(project)["src-gen/Flow.scxml"]
    page.evaluate("text => document.querySelector('.CodeMirror').CodeMirror.setValue(text)", FLOW)

    # Completion of a transition's target: the document's state ids matching what is typed.
    page.evaluate("document.querySelector('.CodeMirror').CodeMirror.setCursor({line: 4, ch: 35})")
    page.locator(".CodeMirror textarea").press("Control+Space")
    hints = page.locator(".CodeMirror-hint")
    expect(hints).to_have_text(['"Routing"'])
    page.keyboard.press("Enter")
    assert '<transition event="go" target="Routing"/>' in value(page)

    # Event names the strategy can receive: those of the extension actions it calls come first.
    page.evaluate(
        """() => {
          const cm = document.querySelector('.CodeMirror').CodeMirror;
          cm.replaceRange('\\t\\t<queue:submit/>\\n\\t\\t<transition event="queue.sub"/>\\n', {line: 5, ch: 0});
          cm.setCursor({line: 6, ch: 30});
        }"""
    )
    page.locator(".CodeMirror textarea").press("Control+Space")
    expect(hints.first).to_have_text('"queue.submit.requestid"')
    expect(page.locator(".CodeMirror-hint", has_text="queue.submit.done")).to_have_count(1)
    page.keyboard.press("Escape")

    # Find (Ctrl-F) selects the first match after the cursor.
    page.evaluate("document.querySelector('.CodeMirror').CodeMirror.setCursor({line: 0, ch: 0})")
    page.locator(".CodeMirror textarea").press("Control+f")
    page.locator(".CodeMirror-dialog input").fill("Routing")
    page.locator(".CodeMirror-dialog input").press("Enter")
    assert page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getSelection()") == "Routing"
    assert cursor(page)["line"] == 4

    # Replace all (Shift-Ctrl-R): every occurrence, in one undoable edit.
    page.locator(".CodeMirror textarea").press("Escape")
    page.locator(".CodeMirror textarea").press("Shift+Control+r")
    page.locator(".CodeMirror-dialog input").fill("Welcome")
    page.locator(".CodeMirror-dialog input").press("Enter")
    page.locator(".CodeMirror-dialog input").fill("Greeting")
    page.locator(".CodeMirror-dialog input").press("Enter")
    text = value(page)
    assert "Welcome" not in text and text.count("Greeting") == 3 and 'initial="Greeting"' in text

    # Replace one by one from the toolbar: the confirmation asks at each match.
    page.get_by_role("button", name="Replace").click()
    page.locator(".CodeMirror-dialog input").fill("Greeting_done")
    page.locator(".CodeMirror-dialog input").press("Enter")
    page.locator(".CodeMirror-dialog input").fill("Done")
    page.locator(".CodeMirror-dialog input").press("Enter")
    page.locator(".CodeMirror-dialog button", has_text="Yes").click()
    assert '<final id="Done"/>' in value(page)

    # Go to line (toolbar or Alt-G).
    page.get_by_role("button", name="Go to line").click()
    page.locator(".CodeMirror-dialog input").fill("7")
    page.locator(".CodeMirror-dialog input").press("Enter")
    assert cursor(page)["line"] == 6

    # A block's snippet (from the palette API) goes in at the cursor.
    palette = page.request.get("/api/authoring/palette").json()
    log = next(b for b in palette["blocks"] if b["kind"] == "log")
    page.get_by_label("Insert a block's SCXML at the cursor").select_option(log["kind"])
    assert log["snippet"].strip().splitlines()[0].strip() in value(page)
