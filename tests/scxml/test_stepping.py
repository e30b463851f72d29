"""The stepping API: microstep/macrostep granularity, run(until), pause, snapshot, listeners."""

from __future__ import annotations

from simulator.scxml.interpreter import SessionGroup
from simulator.scxml.model import model_from_string

from .conftest import chart

DOC = chart(
    '<datamodel><data id="n" expr="0"/></datamodel>'
    '<state id="a"><transition event="go" target="b"><raise event="r1"/><raise event="r2"/></transition></state>'
    '<state id="b"><transition event="r1" target="c"/></state>'
    '<state id="c"><transition event="r2" target="d"><assign location="n" expr="n + 1"/></transition></state>'
    '<state id="d"><onentry><send event="later" delay="3s"/></onentry></state>'
)


def _session():
    group = SessionGroup(seed=1)
    session = group.create_session(model_from_string(DOC))
    return group, session


def test_step_microstep_takes_one_microstep_at_a_time():
    _, s = _session()
    assert s.step_microstep()  # start
    assert s.configuration_ids == ["a"]
    s.inject("go")
    assert s.step_microstep() and s.configuration_ids == ["b"]
    assert s.step_microstep() and s.configuration_ids == ["c"]
    assert s.step_microstep() and s.configuration_ids == ["d"]
    assert not s.step_microstep()  # nothing enabled and no event left


def test_step_macrostep_runs_the_whole_macrostep():
    _, s = _session()
    s.start()
    s.inject("go")
    assert s.step_macrostep()
    assert s.configuration_ids == ["d"]
    assert not s.step_macrostep()


def test_run_until_stops_when_the_predicate_holds():
    _, s = _session()
    s.start()
    for _ in range(3):
        s.inject("nothing")
    s.inject("go")
    s.run(until=lambda session: session.events_processed == 2)
    assert s.events_processed == 2 and s.configuration_ids == ["a"]
    s.run()
    assert s.configuration_ids == ["d"]


def test_pause_keeps_run_loops_away_but_explicit_steps_work():
    group, s = _session()
    s.start()
    s.inject("go")
    s.pause()
    group.run_until_idle()
    assert s.configuration_ids == ["a"]
    s.resume()
    group.drain()
    assert s.configuration_ids == ["d"]


def test_snapshot_has_configuration_datamodel_queues_and_timers():
    _, s = _session()
    s.start()
    s.inject("go")
    s.inject("x", {"k": 1})
    snap = s.snapshot()
    assert snap["configuration"] == ["a"]
    assert snap["datamodel"] == {"n": 0}
    assert [e["name"] for e in snap["external_queue"]] == ["go", "x"]
    assert snap["external_queue"][1]["data"] == {"k": 1}
    s.run()
    snap = s.snapshot()
    assert snap["datamodel"] == {"n": 1}
    assert snap["timers"] == [{"sendid": snap["timers"][0]["sendid"], "due": 3.0}]


def test_session_listeners_attach_and_detach():
    _, s = _session()
    seen: list[dict] = []
    s.attach(seen.append)
    s.start()
    assert [r["type"] for r in seen][:2] == ["start", "macrostep"]
    s.detach(seen.append)
    count = len(seen)
    s.inject("go")
    s.run()
    assert len(seen) == count


def test_a_document_with_definition_errors_cannot_become_a_session():
    import pytest

    from simulator.scxml.errors import DocumentError

    model = model_from_string(chart('<state id="a"><transition target="missing"/></state>'))
    with pytest.raises(DocumentError, match="unknown target state 'missing'"):
        SessionGroup().create_session(model)


def test_datamodel_diff_records_can_be_switched_off():
    group = SessionGroup()
    records: list[dict] = []
    group.listeners.append(records.append)
    session = group.create_session(model_from_string(DOC), trace_datamodel=False)
    session.start()
    session.inject("go")
    group.run_until_idle()
    assert records and not [r for r in records if r["type"] == "datamodel"]


def test_macrostep_returns_what_the_macrostep_did_as_data():
    _, s = _session()
    s.start()
    assert s.macrostep() is None  # nothing to do: no data, no empty record
    s.inject("go", {"k": 1})
    step = s.macrostep()
    assert step is not None
    assert step.event is not None and step.event.name == "go" and step.event.data == {"k": 1}
    assert step.internal_events == ["r1", "r2"]
    assert [[t.source.id for t in micro.transitions] for micro in step.microsteps] == [["a"], ["b"], ["c"]]
    assert [micro.event.name for micro in step.microsteps if micro.event] == ["go", "r1", "r2"]
    assert [st.id for st in step.exited] == ["a", "b", "c"]
    assert [st.id for st in step.entered] == ["b", "c", "d"]
    assert s.datamodel.evaluate("n") == 1


def test_the_trace_records_of_a_macrostep_are_built_from_its_steps():
    group, s = _session()
    records: list[dict] = []
    group.listeners.append(records.append)
    s.start()
    s.inject("go")
    step = s.macrostep()
    macro = [r for r in records if r["type"] == "macrostep"][-1]
    assert list(macro) == [
        "type", "seq", "session", "time", "event", "internal_events", "transitions", "exited", "entered",
        "configuration",
    ]  # fmt: skip
    assert macro["transitions"] == [
        {"id": t.id, "source": t.source.id, "targets": [x.id for x in t.targets], "event": " ".join(t.events),
         "file": t.file, "line": t.line}
        for t in step.transitions
    ]  # fmt: skip
    assert macro["exited"] == ["a", "b", "c"] and macro["entered"] == ["b", "c", "d"]
    micro = [r for r in records if r["type"] == "microstep"]
    assert [r["entered"] for r in micro] == [["b"], ["c"], ["d"]]


def test_sessions_of_one_model_share_its_plan():
    model = model_from_string(DOC)
    first = SessionGroup(seed=1).create_session(model)
    first.start()
    first.inject("go")
    first.step_macrostep()
    learnt = len(model.plan.configurations)
    assert learnt >= 4  # {}, {a}, {b}, {c}, {d}
    second = SessionGroup(seed=2).create_session(model)
    second.start()
    second.inject("go")
    second.step_macrostep()
    assert second.configuration_ids == ["d"] and len(model.plan.configurations) == learnt
    assert second.plan is first.plan is model.plan


def test_a_plan_out_of_room_keeps_nothing_more_and_answers_the_same():
    model = model_from_string(DOC.replace("<state", "<!-- no room --><state", 1))
    model.plan.room = 0
    group = SessionGroup(seed=1)
    s = group.create_session(model)
    s.start()
    for _ in range(3):
        s.inject("go")
        group.run_until_idle(max_time=1)
    assert s.configuration_ids == ["d"] and s.datamodel.evaluate("n") == 1
    assert not model.plan.configurations and not model.plan.entries
