"""The shared diagram (static/orchweb/diagram.js) in the browser: its search bar finds states,
events, conds and extension calls with a count and next / previous, on the designer's diagram and
on the simulation page; ELK lays the chart out in a Web Worker and a second view of the same chart
comes from the layout cache."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from designer.models import DiagramLayout
from tests.e2e.test_designer import graph_of, import_sample, make_demo_user_owner, wait_for_diagram
from tests.e2e.test_simulator import open_simulation_of_the_sample


def expected_matches(graph: dict, query: str) -> list[str]:
    """Ids the search should find, in its order: each state, then the transitions leaving it."""
    q = query.lower()

    def calls(actions: list[dict]) -> bool:
        return any(q in f"{a.get('module') or a.get('namespace') or '?'}:{a['action']}".lower() for a in actions)

    out = []
    for state in graph["states"]:
        if q in state["id"].lower() or calls(state.get("actions") or []):
            out.append(state["id"])
        for t in graph["transitions"]:
            if t["source"] == state["id"] and (
                q in (t.get("event") or "").lower() or q in (t.get("cond") or "").lower() or calls(t["actions"])
            ):
                out.append(t["id"])
    return out


def search(page: Page, query: str) -> None:
    page.get_by_label("Search the diagram").fill(query)
    page.get_by_label("Search the diagram").press("Enter")


def index(page: Page) -> str:
    return page.evaluate("document.getElementById('diagram').dataset.searchIndex")


def test_diagram_search_counts_and_steps_through_extension_calls_events_and_conds_laid_out_in_a_worker(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    make_demo_user_owner()
    project = import_sample(page, shared_dir, tmp_path)
    version = project.latest_version
    page.goto(f"/versions/{version.pk}/diagram/")
    wait_for_diagram(page)
    # ELK ran in its worker (the worker script was fetched; the page never ran ELK itself).
    assert page.evaluate("document.body.dataset.layoutSource") == "worker"
    assert page.evaluate("performance.getEntriesByType('resource').some(e => e.name.includes('elk-worker'))"), (
        "the ELK worker script was not loaded"
    )
    assert page.evaluate("typeof window.ELK === 'function' && !document.querySelector('script[src*=\"elk.bundled\"]')")
    assert int(page.evaluate("document.body.dataset.stateCount")) > 0

    # The first view of this large chart: the main flow from its left edge, its start in view.
    view = page.evaluate(
        """() => {
          const v = window.diagramView;
          const r = v.svg.getBoundingClientRect();
          const box = (id) => {
            const b = v.stateEls.get(id).querySelector('.dg-shape').getBBox();
            const t = v.transform;
            return {left: t.x + b.x * t.k, right: t.x + (b.x + b.width) * t.k, top: t.y + b.y * t.k,
                    bottom: t.y + (b.y + b.height) * t.k, rawBottom: b.y + b.height};
          };
          let main = null;
          for (const s of v.graph.states) {
            const bigger = !main || s.children.length > main.children.length;
            if (v.stateEls.has(s.id) && s.children.length && bigger) main = s;
          }
          return {width: r.width, height: r.height, main: box(main.id), start: box(main.initial[0]),
                  outer: box('_composer_globalstate'), inner: box('_composer_parallel')};
        }"""
    )
    assert view["main"]["left"] >= 0, view
    assert view["start"]["left"] >= 0 and view["start"]["right"] <= view["width"], view
    assert view["start"]["top"] >= 0 and view["start"]["bottom"] <= view["height"], view
    # Composer's IPD wrappers hug their one compound child: no empty band under it.
    # (12 px is an ordinary compound state's padding)
    assert view["outer"]["rawBottom"] - view["inner"]["rawBottom"] < 12, view

    graph = graph_of(page, version.pk)
    calls = expected_matches(graph, "queue:submit")
    assert len(calls) >= 1
    search(page, "queue:submit")
    count = page.locator(".dg-search-count")
    expect(count).to_have_text(f"1 / {len(calls)}")
    assert page.evaluate("document.body.dataset.searchResult") == calls[0]
    expect(page.locator(f'[data-state-id="{calls[0]}"], [data-transition-id="{calls[0]}"]').first).to_have_class(
        re.compile(r"\bdg-found\b")
    )

    # An event name: next / previous step through the matches and wrap around.
    events = expected_matches(graph, "queue.submit.done")
    assert len(events) >= 2
    search(page, "queue.submit.done")
    expect(count).to_have_text(f"1 / {len(events)}")
    page.get_by_role("button", name="Next match").click()
    expect(count).to_have_text(f"2 / {len(events)}")
    assert page.evaluate("document.body.dataset.searchResult") == events[1]
    expect(page.locator(f'.dg-found[data-transition-id="{events[1]}"]').first).to_be_attached()
    page.get_by_role("button", name="Previous match").click()
    page.get_by_role("button", name="Previous match").click()
    expect(count).to_have_text(f"{len(events)} / {len(events)}")
    assert page.evaluate("document.body.dataset.searchResult") == events[-1]

    # A cond (request correlation, as Composer writes it) and a query that finds nothing.
    conds = expected_matches(graph, "_event.data.requestid")
    search(page, "_event.data.requestid")
    expect(count).to_have_text(f"1 / {len(conds)}" if conds else "no match")
    search(page, "no such thing anywhere")
    expect(count).to_have_text("no match")

    # ELK's layout went to the server: the same chart again comes with the page, not laid out again.
    page.wait_for_function("document.body.dataset.layoutStored")
    page.reload()
    wait_for_diagram(page)
    assert page.evaluate("document.body.dataset.layoutSource") == "server"
    # Without it (a draft, a share link, or forgotten), the tab's own cache still has the layout.
    DiagramLayout.objects.all().delete()
    page.reload()
    wait_for_diagram(page)
    assert page.evaluate("document.body.dataset.layoutSource") == "cache"


def test_the_simulation_page_diagram_has_the_same_search(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    open_simulation_of_the_sample(page, shared_dir, tmp_path)
    page.wait_for_function("document.body.dataset.diagramReady === '1'")
    graph = page.evaluate("window.simulationDiagram.graph")
    search(page, "queue:submit")
    calls = expected_matches(graph, "queue:submit")
    assert calls
    expect(page.locator("#sim-diagram .dg-search-count")).to_have_text(f"1 / {len(calls)}")
    assert page.evaluate("document.getElementById('sim-diagram').dataset.searchCount") == str(len(calls))
    expect(page.locator("#sim-diagram .dg-found").first).to_be_attached()

    # ELK's layout went to the server: the page in a new tab (no sessionStorage) draws it, no worker.
    assert page.evaluate("document.body.dataset.layoutSource") == "worker"
    page.wait_for_function("document.body.dataset.layoutStored")
    again = page.context.new_page()
    again.goto(page.url)
    again.wait_for_function("document.body.dataset.simReady === '1'")
    assert again.evaluate("document.body.dataset.layoutSource") == "server"
    assert again.evaluate("performance.getEntriesByType('resource').every(e => !e.name.includes('elk-worker'))")
    assert again.evaluate("document.body.dataset.stateCount") == page.evaluate("document.body.dataset.stateCount")
    again.close()


def test_the_visual_diff_opens_on_the_changed_transition(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    from designer import history

    page = logged_in_page
    make_demo_user_owner()
    project = import_sample(page, shared_dir, tmp_path)
    before = project.latest_version
    files = before.read_files()
    old = b"""<transition event="error.dialog.start" cond="_event.data.requestid==App_playVVip['requestid']\""""
    assert files["src-gen/Main.scxml"].count(old) == 1
    main = files["src-gen/Main.scxml"].replace(old, old[:-1] + b' &amp;&amp; true"')
    after = history.create_version(
        project,
        {**files, "src-gen/Main.scxml": main},
        author=before.author,
        message="cond",
        parent=before,
        entry=before.entry,
    )
    page.goto(f"/versions/{before.pk}/diff/{after.pk}/")
    wait_for_diagram(page)
    changed = page.evaluate(
        "Object.keys(window.diagramView.status.transitions).filter(k => window.diagramView.status.transitions[k])"
    )
    assert len(changed) == 1
    inside = page.evaluate(
        """(id) => {
          const v = window.diagramView;
          const r = v.svg.getBoundingClientRect();
          return v.edgeEls.get(id).some((e) => {
            const b = e.getBoundingClientRect();
            const within = b.left >= r.left && b.right <= r.right && b.top >= r.top && b.bottom <= r.bottom;
            return b.width + b.height > 0 && within;
          });
        }""",
        changed[0],
    )
    assert inside, "the visual diff does not open on its one change"
