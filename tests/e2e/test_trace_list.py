"""The simulation page's trace list with a long trace (static/simulator/simulation.js): a rebuilt
list (a reopened simulation, a new filter) builds its latest rows at once and the rest of its
window above them when the page is idle; the list must end up the same as if built at once."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.test_scenarios_tab import trace_follows_the_latest_record

STATES = 40


def chain(states: int) -> bytes:
    """`states` states, each logging "at sN" on entry and moving to the next on event `next`."""
    body = "".join(
        f'<state id="s{i}"><onentry><log label="at" expr="\'s{i}\'"/></onentry>'
        f'<transition event="next" target="{f"s{i + 1}" if i + 1 < states else "done"}"/></state>'
        for i in range(states)
    )
    return (
        '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="s0">'
        f'{body}<final id="done"/></scxml>'
    ).encode()


def long_simulation(page: Page) -> int:
    """A simulation of the chain run to its end by the demo user: ~4 trace records a state."""
    from django.contrib.auth import get_user_model

    from designer import history
    from designer.models import Membership, Project, Role, Team
    from simulator.models import Simulation

    user = get_user_model().objects.get(username="demo")
    team = Team.objects.create(name="Trace team")
    Membership.objects.create(team=team, user=user, role=Role.OWNER)
    project = Project.objects.create(team=team, name="Chain", created_by=user)
    version = history.create_version(
        project, {"chain.scxml": chain(STATES)}, author=user, message="chain", parent=None, entry="chain.scxml"
    )
    simulation = Simulation.objects.create(owner=user, version=version)
    page.goto(f"/simulations/{simulation.pk}/")
    page.wait_for_function("document.body.dataset.simReady === '1'")
    inject = "(n) => window.simulationPage.socket().send(JSON.stringify({action: 'inject', event: 'next', id: n}))"
    for n in range(STATES):
        page.evaluate(inject, f"next-{n}")
    page.wait_for_function(f"Number(document.body.dataset.simReplies || 0) >= {STATES}")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_function("document.body.dataset.simStatus === 'final'")
    return simulation.pk


def rows(page: Page) -> list[int]:
    return page.locator("#sim-trace > li").evaluate_all("(lis) => lis.map((li) => Number(li.dataset.seq))")


def seqs(page: Page) -> list[int]:
    return page.evaluate("window.simulationPage.records().map((r) => r.seq)")


def all_rows_built(page: Page, count: int) -> None:
    page.wait_for_function(f"document.getElementById('sim-trace').childElementCount === {count}")


def test_a_reopened_long_trace_shows_its_end_then_builds_every_row_of_its_window_in_order(logged_in_page: Page) -> None:
    page = logged_in_page
    long_simulation(page)
    page.reload()
    page.wait_for_function("document.body.dataset.simReady === '1'")
    records = seqs(page)
    assert 150 < len(records) < 300  # more than the rows built at once, all in the window
    # shown at once: the list's end, the latest record in view
    latest = page.locator(f"#sim-trace > li[data-seq='{records[-1]}']")
    expect(latest).to_be_visible()
    assert trace_follows_the_latest_record(page)
    # then every record, in order, the list still at its end
    all_rows_built(page, len(records))
    assert rows(page) == records
    assert trace_follows_the_latest_record(page)
    expect(page.locator("#sim-trace-count")).to_have_text(f"{len(records)} records")
    expect(page.locator("#sim-trace-earlier")).to_be_hidden()
    # scrolled to its top, the list shows the first records
    page.locator("#sim-trace").evaluate("(list) => { list.scrollTop = 0; }")
    first = page.locator(f"#sim-trace > li[data-seq='{records[0]}']")
    expect(first).to_be_in_viewport()
    expect(first).to_contain_text(f"#{records[0]}")
    # a record built later rewinds like any other: the rewind to it shows its state
    entered = page.locator("#sim-trace > li[data-type='macrostep']").filter(has_text="→ s2").first
    entered.locator(".sim-seq").click()
    page.wait_for_function("document.body.dataset.simConfiguration === 's2'")


def test_a_new_filter_on_a_long_trace_shows_the_latest_matching_rows_then_all_of_them(logged_in_page: Page) -> None:
    page = logged_in_page
    long_simulation(page)
    page.reload()
    page.wait_for_function("document.body.dataset.simReady === '1'")
    page.locator("#sim-trace-filter").fill("→ s")  # the steps that entered a state: two a state
    steps = page.evaluate(
        "window.simulationPage.records().filter((r) => ['macrostep', 'microstep'].includes(r.type)"
        " && (r.entered || []).some((s) => s.startsWith('s'))).map((r) => r.seq)"
    )
    assert len(steps) > 60  # more than the rows built at once
    all_rows_built(page, len(steps))
    assert rows(page) == steps
    expect(page.locator("#sim-trace > li").last).to_contain_text(f"→ s{STATES - 1}")
    assert trace_follows_the_latest_record(page)
    page.locator("#sim-trace-type").select_option("log")
    page.locator("#sim-trace-filter").fill("at: s1")  # s1 and s10-s19
    all_rows_built(page, 11)
    expect(page.locator("#sim-trace > li").first).to_contain_text("at: s1")


def test_a_browser_without_requestidlecallback_builds_the_rest_of_the_list_too(logged_in_page: Page) -> None:
    """Safari has no requestIdleCallback: the rows are built after a short timeout instead."""
    page = logged_in_page
    long_simulation(page)
    page.add_init_script("delete window.requestIdleCallback; delete window.cancelIdleCallback;")
    page.reload()
    page.wait_for_function("document.body.dataset.simReady === '1' && !('requestIdleCallback' in window)")
    records = seqs(page)
    all_rows_built(page, len(records))
    assert rows(page) == records
    assert trace_follows_the_latest_record(page)
    assert not page.evaluate("document.body.dataset.simError || ''")
