"""Coverage: exact covered/uncovered sets on a small chart, unions of runs, the sample project."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.ors.analysis import build_graph
from simulator.ors.analysis import coverage_hint as hint
from simulator.ors.project import find_entry, load_project
from simulator.runners.coverage import Coverage, compute_coverage, format_coverage
from simulator.runners.driver import OrsRun
from tests.ors.strategies import document

# States: main (initial element -> ask), ask, busy (parallel: busy.a, busy.b), done, gone.
# An <initial> element's transition is not counted; `ping` is a targetless transition.
CHART = document(
    """
  <state id="main">
    <initial><transition target="ask"/></initial>
    <transition event="interaction.deleted" target="gone"/>
    <state id="ask">
      <transition event="custom.ping"/>
      <transition event="custom.go" target="busy"/>
      <transition event="interaction.added" cond="false" target="done"/>
    </state>
    <parallel id="busy">
      <state id="busy.a"/>
      <state id="busy.b"/>
      <transition event="custom.stop" target="done"/>
    </parallel>
  </state>
  <final id="done"/>
  <final id="gone"/>
""",
    initial="main",
    name="Cov",
)
FILES = {"src-gen/IPD_Cov.scxml": CHART}
ENTRY = "src-gen/IPD_Cov.scxml"
STATES = ["main", "ask", "busy", "busy.a", "busy.b", "done", "gone"]


def trace(*events: tuple[str, float]) -> list[dict]:
    run = OrsRun(FILES, entry=ENTRY, trace=True, fakes={"none": True})
    run.start()
    for name, at in events:
        run.inject(name, {}, at)
    run.run()
    return run.records


@pytest.fixture(scope="module")
def graph() -> dict:
    return build_graph(FILES, ENTRY)


def uncovered(report: dict) -> tuple[list[str], list[tuple[str, str | None, int]]]:
    return (
        [s["id"] for s in report["states"]["uncovered"]],
        [(t["source"], t["event"], t["line"]) for t in report["transitions"]["uncovered"]],
    )


def test_a_run_that_goes_nowhere_covers_the_initial_states_only(graph):
    report = compute_coverage(graph, trace())
    assert report["states"] | {"uncovered": None} == {"total": 7, "covered": 2, "percent": 28.6, "uncovered": None}
    assert report["transitions"]["total"] == 5  # the <initial> transition is not counted
    assert uncovered(report) == (
        ["busy", "busy.a", "busy.b", "done", "gone"],
        [
            ("main", "interaction.deleted", 7),
            ("ask", "custom.ping", 9),
            ("ask", "custom.go", 10),
            ("ask", "interaction.added", 11),
            ("busy", "custom.stop", 16),
        ],
    )
    assert report["transitions"]["percent"] == 0.0


def test_a_run_through_the_parallel_state_covers_exactly_what_it_took(graph):
    report = compute_coverage(graph, trace(("custom.ping", 1), ("custom.go", 2), ("custom.stop", 3)))
    assert uncovered(report) == (["gone"], [("main", "interaction.deleted", 7), ("ask", "interaction.added", 11)])
    assert (report["states"]["covered"], report["states"]["percent"]) == (6, 85.7)
    assert (report["transitions"]["covered"], report["transitions"]["percent"]) == (3, 60.0)


def test_the_union_of_runs_covers_what_any_of_them_covered(graph):
    cov = Coverage().add(trace(("custom.go", 1), ("custom.stop", 2))).add(trace(("interaction.deleted", 1)))
    report = cov.report(graph)
    assert report["runs"] == 2
    assert uncovered(report) == ([], [("ask", "custom.ping", 9), ("ask", "interaction.added", 11)])
    assert report["states"]["percent"] == 100.0
    again = Coverage.from_json(cov.to_json())
    assert again.report(graph) == report
    assert (
        Coverage()
        .update(again)
        .update(Coverage().add(trace(("custom.ping", 1))))
        .report(graph)["transitions"]["covered"]
        == 4
    )


def test_the_text_report_lists_each_uncovered_item_with_file_and_line(graph):
    text = format_coverage(compute_coverage(graph, trace(("custom.go", 1))))
    lines = text.splitlines()
    assert lines[0] == ("coverage of src-gen/IPD_Cov.scxml over 1 run(s): states 5/7 (71.4%), transitions 1/5 (20%)")
    assert "  src-gen/IPD_Cov.scxml:19: state done never entered" in lines
    assert "  src-gen/IPD_Cov.scxml:9: transition ask (targetless) on custom.ping never taken" in lines
    assert "  src-gen/IPD_Cov.scxml:16: transition busy -> done on custom.stop never taken" in lines


def test_records_of_other_sessions_before_the_start_are_ignored(graph):
    foreign = {"type": "macrostep", "session": "other", "entered": ["gone"], "transitions": []}
    records = trace()
    report = compute_coverage(graph, [*records[:1], foreign, *records[1:]])
    assert "gone" in uncovered(report)[0]


def test_the_sample_project_default_run_leaves_the_error_branches_uncovered(shared_dir: Path):
    files = load_project(shared_dir / "ors-samples" / "crd-gvp-wf")
    entry = find_entry(files)
    run = OrsRun(files, trace=True)
    run.run()
    report = compute_coverage(build_graph(files, entry), run.records)
    missed = {s["id"] for s in report["states"]["uncovered"]}
    assert {"MainWorkflow.Disconnect1", "MainWorkflow.TargetByAG"} <= missed
    assert not {"MainWorkflow.playMain", "MainWorkflow.TargetBySkill1", "_composer_global_exit"} & missed
    assert 0 < report["states"]["percent"] < 100
    assert report["transitions"]["covered"] >= 15
    assert all(t["file"] and t["line"] for t in report["transitions"]["uncovered"])


def test_trace_transition_ids_are_the_graph_ids_even_after_an_initial_element(graph, shared_dir: Path):
    by_id = {t["id"]: t for t in graph["transitions"]}
    fired = [
        t for r in trace(("custom.ping", 1), ("custom.go", 2)) if r["type"] == "macrostep" for t in r["transitions"]
    ]
    assert [(t["id"], by_id[t["id"]]["source"], by_id[t["id"]]["line"]) for t in fired] == [
        ("t3", "ask", 9),
        ("t4", "ask", 10),
    ]
    files = load_project(shared_dir / "ors-samples" / "crd-gvp-wf")  # Composer blocks use <initial>
    sample = {t["id"]: t for t in build_graph(files, find_entry(files))["transitions"]}
    run = OrsRun(files, trace=True)
    run.run()
    fired = [t for r in run.records if r["type"] == "macrostep" for t in r["transitions"]]
    assert len(fired) > 10
    assert all((sample[t["id"]]["source"], sample[t["id"]]["line"]) == (t["source"], t["line"]) for t in fired)


def test_uncovered_transitions_carry_a_hint_when_their_event_tells_how_to_take_them(graph):
    report = compute_coverage(graph, trace())
    hints = {t["event"]: t["hint"] for t in report["transitions"]["uncovered"]}
    assert hints == {
        "interaction.deleted": 'the caller hangs up: step {"inject": "hangup"}',
        "custom.ping": None,
        "custom.go": None,
        "interaction.added": None,
        "custom.stop": None,
    }
    assert hint({"event": "error.queue.submit"}) == (
        'the request fails: a fakes rule {"module": "queue", "action": "submit", "error": {"error": "..."}} '
        'or fakes {"queue": {"available": false}} (the submit times out)'
    )
    assert hint({"event": "error.session.fetch error.dialog.play"}).startswith(
        'the request fails: a fakes rule {"module": "session", "action": "fetch"'
    )
    assert hint({"event": None, "cond": "x > 2"}) == "its condition never held when it was checked: x > 2"
    text = format_coverage(report)
    assert '      hint: the caller hangs up: step {"inject": "hangup"}' in text.splitlines()
