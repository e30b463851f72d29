"""The session manager without websockets: replay determinism, rewind, breakpoints, operations."""

from __future__ import annotations

import dataclasses
import gc
from pathlib import Path

import pytest

from simulator.breakpoints import Breakpoints
from simulator.ors.project import load_project
from simulator.protocol import OpError, parse_op
from simulator.scxml.trace import jsonable
from simulator.sessions import SimulationError, SimulationRuntime
from tests.simulator.conftest import SimWorld

MANUAL_SUBMIT = {"rules": [{"module": "queue", "action": "submit", "manual": True}]}


@pytest.fixture(scope="module")
def files(shared_dir: Path) -> dict[str, bytes]:
    return load_project(shared_dir / "ors-samples" / "crd-gvp-wf")


def drive(runtime: SimulationRuntime) -> dict[int, dict]:
    """Step a mix of micro/macro/timer steps, answer the submit, inject; snapshot after each op."""
    snapshots = {}
    units = ["micro", "macro", "micro", "timer"]
    for i in range(60):
        runtime.apply({"op": "step", "unit": units[i % len(units)]})
        snapshots[runtime.seq] = runtime.snapshot()
        submit = runtime.platform.pending("queue", "submit")
        if submit:
            runtime.apply(
                {
                    "op": "respond",
                    "request": submit[0].id,
                    "events": [{"name": "queue.submit.done", "data": {"targetselected": "1@S.DN"}, "delay": 2.0}],
                }
            )
            snapshots[runtime.seq] = runtime.snapshot()
        if runtime.finished:
            break
    return snapshots


def test_replaying_to_any_step_gives_the_same_snapshot_as_stepping_to_it(files):
    stepped = SimulationRuntime(files, None, MANUAL_SUBMIT, seed=7)
    snapshots = drive(stepped)
    inputs = list(stepped.inputs)
    assert stepped.session.status == "final"
    assert len(inputs) > 10

    for op in [*inputs[:: max(1, len(inputs) // 6)], inputs[-1]]:
        replayed = SimulationRuntime(files, None, MANUAL_SUBMIT, seed=7)
        replayed.inputs = list(inputs)
        replayed.rewind(op["seq"])
        assert replayed.seq == op["seq"]
        # `idle` says whether the last step request found nothing to do: not part of the state
        assert {**replayed.snapshot(), "idle": None, "key": None} == {**snapshots[op["seq"]], "idle": None, "key": None}
        assert replayed.records == stepped.records[: op["seq"]]


def test_rewind_to_a_record_inside_a_step_goes_back_to_the_end_of_the_step_before(files):
    runtime = SimulationRuntime(files, None, {}, seed=0)
    seqs = []
    for _ in range(6):
        runtime.apply({"op": "step", "unit": "macro"})
        seqs.append(runtime.seq)

    runtime.rewind(seqs[3] - 1)

    assert runtime.seq == seqs[2]
    assert len(runtime.inputs) == 3


def test_an_action_record_keeps_the_request_as_it_was_traced(files):
    # The live request's lists grow as it is answered; the trace keeps a copy (ors.fakes.copy_json).
    runtime = SimulationRuntime(files, None, {}, seed=0)
    for _ in range(20):
        runtime.apply({"op": "step", "unit": "macro"})
        actions = [r for r in runtime.records if r["type"] == "action"]
        if actions and runtime.platform.book.requests[actions[0]["request"]["id"]].responses:
            break
    traced = actions[0]["request"]
    live = runtime.platform.book.requests[traced["id"]]
    assert traced["responses"] == [] and live.responses
    assert traced["status"] == "pending" != live.status
    assert traced["attributes"] == live.attributes and traced["attributes"] is not live.attributes
    assert traced["children"] == live.children and traced["children"] is not live.children


def test_another_seed_gives_another_session_id_and_the_same_seed_the_same_trace(files):
    a, b, c = (SimulationRuntime(files, None, {}, seed=s) for s in (1, 1, 2))
    for runtime in (a, b, c):
        runtime.apply({"op": "step", "unit": "macro"})

    assert a.records == b.records
    assert a.session.sessionid != c.session.sessionid


def test_restart_with_a_new_fakes_profile_starts_from_scratch(files):
    runtime = SimulationRuntime(files, None, {}, seed=0)
    runtime.apply({"op": "step", "unit": "macro"})

    runtime.restart({"interaction": {"ani": "123"}})

    assert runtime.inputs == []
    assert runtime.snapshot()["interactions"]["006502A8E4B1C002"]["voice"]["ani"] == "123"


def test_restarts_and_rewinds_run_in_the_js_runtime_of_the_first_run_and_trace_the_same(files):
    runtime = SimulationRuntime(files, None, {}, seed=3)
    pool = runtime.run.group.js_runtimes()
    for _ in range(8):
        runtime.apply({"op": "step", "unit": "macro"})
    first = list(runtime.records)
    heap = pool.heap_bytes()

    runtime.rewind(first[len(first) // 2]["seq"])
    for _ in range(3):
        runtime.restart()
        for _ in range(8):
            runtime.apply({"op": "step", "unit": "macro"})
        assert runtime.records == first

    # one runtime, its earlier contexts' memory given back (not one run's worth more per restart)
    assert runtime.run.group.js_runtimes() is pool and len(pool) == 1
    assert pool.heap_bytes() < heap * 1.2
    runtime.close()


def test_the_snapshot_after_a_start_or_restart_has_the_variables_of_the_trace_without_reading_them_again(files):
    runtime = SimulationRuntime(files, None, {}, seed=0)
    for restarted in (False, True):
        if restarted:
            for _ in range(3):
                runtime.apply({"op": "step", "unit": "macro"})
            runtime.restart()
        assert runtime._datamodel_exact  # the start's `datamodel` record gave every variable
        reset, snapshot = runtime.reset_frames()
        assert reset["records"] == runtime.records
        assert snapshot["datamodel"] == jsonable(runtime.session.datamodel.snapshot())
        assert snapshot["datamodel"] and snapshot["datamodel_error"] is None


def test_a_project_without_an_entry_document_is_a_clear_simulation_error():
    with pytest.raises(SimulationError, match="entry document"):
        SimulationRuntime({"a.scxml": b"<scxml/>", "b.scxml": b"<scxml/>"}, None, {})


def test_breakpoints_match_states_transitions_events_and_actions():
    bp = Breakpoints.from_json(
        {"entered": ["A"], "exited": ["B"], "transitions": ["t3"], "events": ["queue.submit"], "actions": ["dialog:*"]}
    )
    records = [
        {
            "type": "macrostep",
            "seq": 4,
            "event": {"name": "queue.submit.done"},
            "internal_events": [],
            "entered": ["A"],
            "exited": ["B"],
            "transitions": [{"id": "t3"}],
        },
        {"type": "action", "seq": 5, "request": {"module": "dialog", "action": "start"}},
    ]

    hits = bp.hits(records)

    assert [(h["kind"], h["value"], h["seq"]) for h in hits] == [
        ("entered", "A", 4),
        ("exited", "B", 4),
        ("transitions", "t3", 4),
        ("events", "queue.submit", 4),
        ("actions", "dialog:*", 5),
    ]
    assert hits[-1]["request"] == {"module": "dialog", "action": "start", "file": None, "line": None}
    assert Breakpoints.from_json({"events": ["queue.submitted"]}).hits(records) == []


def test_breakpoints_cannot_change_in_place_so_their_json_made_once_stays_right(files):
    # the frames send `to_json()` at every step, made once per Breakpoints object: a change must be
    # a new object (set_breakpoints), never an edit of the one whose JSON was made
    data = {"entered": ["B", "A"], "conditions": {"entered:A": "x > 1", "entered:B": " "}, "disabled": ["entered:B"]}
    bp = Breakpoints.from_json({**data, "errors": False})
    assert bp.to_json() is bp.to_json()
    assert bp.to_json() == {
        **{kind: [] for kind in ("exited", "transitions", "events", "actions")},
        "entered": ["A", "B"],
        "conditions": {"entered:A": "x > 1"},
        "disabled": ["entered:B"],
        "errors": False,
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        bp.entered = frozenset({"C"})  # type: ignore[misc]
    with pytest.raises(AttributeError):
        bp.entered.add("C")  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        bp.conditions["entered:B"] = "y"  # type: ignore[index]

    runtime = SimulationRuntime(files, None, {}, seed=0)
    runtime.frames()
    runtime.breakpoints = bp
    runtime.apply({"op": "step", "unit": "macro"})
    (delta,) = runtime.frames()
    assert delta["breakpoints"] == bp.to_json()
    runtime.apply({"op": "step", "unit": "macro"})
    assert "breakpoints" not in runtime.frames()[0]
    runtime.breakpoints = Breakpoints()
    runtime.apply({"op": "step", "unit": "macro"})
    assert runtime.frames()[0]["breakpoints"] == {kind: [] for kind in Breakpoints.KINDS}


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"action": "step", "unit": "year"}, "step unit"),
        ({"action": "advance", "seconds": True}, "must be a number"),
        ({"action": "advance", "seconds": 10**9}, "between"),
        ({"action": "inject", "kind": "udata_changed"}, "needs data"),
        ({"action": "inject", "kind": "party_changed"}, "focusdeviceid"),
        ({"action": "respond", "request": "R", "events": [{"data": {}}]}, "events[0].name"),
        ({"action": "set_fakes", "fakes": []}, "JSON object"),
        ({"action": "dance"}, "unknown operation"),
    ],
)
def test_parse_op_rejects_bad_operations_with_a_clear_message(message, problem):
    with pytest.raises(OpError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_op(message)


def test_the_snapshot_datamodel_built_from_the_trace_diffs_is_the_datamodel(files):
    from simulator.scxml.trace import jsonable

    runtime = SimulationRuntime(files, None, {}, seed=0)
    for unit in ["macro", "macro", "micro", "macro", "timer", "macro", "macro", "timer", "macro"]:
        runtime.apply({"op": "step", "unit": unit})
        assert runtime.snapshot()["datamodel"] == jsonable(runtime.session.datamodel.snapshot())
    runtime.apply({"op": "inject", "kind": "udata_changed", "data": {"k": "v"}, "delay": 0.0})
    runtime.apply({"op": "step", "unit": "macro"})
    assert runtime.snapshot()["datamodel"] == jsonable(runtime.session.datamodel.snapshot())


def test_a_fakes_edit_replays_on_top_of_the_recipes_fakes(files):
    agent = {"agent": "Live7", "place": "P7", "dn": "7777", "switch": "SW7", "statserver": "SS"}
    runtime = SimulationRuntime(files, None, MANUAL_SUBMIT, seed=0)
    runtime.apply({"op": "step", "unit": "macro"})
    runtime.apply({"op": "set_fakes", "fakes": {"queue": {"agent": agent}}})
    edited_at = runtime.seq
    runtime.apply({"op": "step", "unit": "macro"})

    log = list(runtime.inputs)

    runtime.rewind(edited_at)  # the edit ended at that record: it is kept
    kept = (dict(runtime.fakes), len(runtime.inputs))
    runtime.inputs = list(log)
    runtime.rewind(edited_at - 1)  # before the first step: the recipe's fakes again

    assert kept == ({"queue": {"agent": agent}}, 2)
    assert runtime.fakes == MANUAL_SUBMIT == runtime.base_fakes
    assert runtime.platform.fakes.rules[0].spec["manual"] is True
    assert runtime.inputs == []


def test_a_simulations_access_check_loads_its_version_once(sim_world: SimWorld) -> None:
    """The page and the socket check access with the version loaded with the simulation
    (designer.permissions.check_version_access): the simulation with its version and project, the
    user's role in the team, and no second load of the version (its ORM compile is ~1 ms of
    every page view and socket connect). The refusals stay the designer's."""
    from django.core.exceptions import PermissionDenied
    from django.db import connection
    from django.http import Http404
    from django.test.utils import CaptureQueriesContext

    from simulator import sessions
    from simulator.models import Simulation

    simulation = Simulation.objects.create(owner=sim_world.owner, version=sim_world.version)
    with CaptureQueriesContext(connection) as queries:
        assert sessions.get_simulation_for_user(sim_world.owner, simulation.pk) == (simulation, "owner")
    assert len(queries) == 2, [q["sql"] for q in queries]
    assert not any('FROM "designer_version"' in q["sql"] for q in queries)
    with pytest.raises(PermissionDenied):
        sessions.get_simulation_for_user(sim_world.teammate, simulation.pk)
    with pytest.raises(Http404):
        sessions.get_simulation_for_user(sim_world.outsider, simulation.pk)


def test_a_pool_worker_gives_its_database_connection_back_after_building_a_runtime(sim_world: SimWorld) -> None:
    """The worker thread that built a runtime holds no open connection afterwards (it held one
    for its life: pooled connections kept from requests, DROP DATABASE refused at the run's end)."""
    import threading

    from django.db import connection

    from simulator import sessions
    from simulator.models import Simulation

    simulation = Simulation.objects.create(owner=sim_world.owner, version=sim_world.version)
    held: list[bool] = []

    def work() -> None:
        runtime = sessions.build_runtime_on_worker(Simulation.objects.get(pk=simulation.pk))
        held.append(connection.connection is not None)
        runtime.close()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(60)

    assert held == [False]


def _chart(script: str, more: str = "") -> dict[str, bytes]:
    return {
        "main.scxml": f"""<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript"
        initial="a"><datamodel><data id="kept" expr="1"/><data id="big" expr="[]"/></datamodel>
        <state id="a"><transition event="fill" target="b"/></state>
        <state id="b"><onentry><script><![CDATA[{script}]]></script></onentry>{more}</state></scxml>""".encode()
    }


def settle(runtime: SimulationRuntime) -> None:
    """Macrosteps until the queued events are taken."""
    while runtime.session.external_queue or runtime.session.internal_queue:
        runtime.apply({"op": "step", "unit": "macro"})


#: fills the scripts' memory and catches the error, as a Composer block's try/catch would: not
#: even the variables' reading can run then
FILL = "try { for (var i = 0; i < 1e8; i++) big.push('x' + i + 'yyyyyyyyyyyyyyyy'); } catch (e) { }"


def test_a_session_whose_datamodel_cannot_be_made_still_shows_and_refuses_injects() -> None:
    from simulator.runners.limits import Limits

    runtime = SimulationRuntime(_chart("1;"), "main.scxml", {}, limits=Limits(js_memory=16 << 10))
    reset, snapshot = runtime.reset_frames()  # raised "the session has not started" before
    assert reset["type"] == "reset" and snapshot["status"] == "error"
    assert snapshot["interactions"] == {} and snapshot["pending"] == [] and snapshot["requests"] == []
    errors = [r for r in reset["records"] if r["type"] == "error"]
    assert errors and errors[0]["kind"] == "datamodel" and "cannot create the datamodel" in errors[0]["message"]
    with pytest.raises(OpError, match="could not start"):
        runtime.apply({"op": "inject", "kind": "event", "event": "fill", "data": {}, "delay": 0.0})
    runtime.restart()  # tries again, and fails the same way without raising
    assert runtime.snapshot()["status"] == "error"


def _fill(runtime: SimulationRuntime) -> dict:
    """The delta of the `fill` event's steps, after the start's (ORS: interaction events)."""
    runtime.reset_frames()
    settle(runtime)
    runtime.frames()
    runtime.apply({"op": "inject", "kind": "event", "event": "fill", "data": {}, "delay": 0.0})
    settle(runtime)
    return runtime.frames()[-1]


def test_variables_a_full_memory_keeps_from_being_read_are_said_so_and_never_read_as_removed() -> None:
    from simulator.runners.limits import Limits

    runtime = SimulationRuntime(_chart(FILL), "main.scxml", {}, limits=Limits(js_memory=8 << 20))
    delta = _fill(runtime)
    assert "out of memory" in delta["datamodel_error"]  # the frames raised JSError before
    assert "datamodel" not in delta  # nothing read: nothing claimed changed or removed
    records = [r for r in delta["records"] if r["type"] in ("error", "datamodel")]
    assert [(r["type"], r.get("kind")) for r in records][-1] == ("error", "datamodel")
    assert "could not be read" in records[-1]["message"] and "out of memory" in records[-1]["message"]
    assert runtime.snapshot()["datamodel"] == {"kept": 1, "big": []}  # as the trace last had them


def test_a_reading_of_the_variables_that_failed_is_made_good_by_the_next_exactly() -> None:
    from simulator.runners.limits import Limits

    hang = "var stuck = {get x() { while (true) {} }}; kept = 2;"  # interrupted: not a value
    more = '<transition event="free" target="c"><script>stuck = null; big = [3];</script></transition>'
    chart = _chart(hang, more)
    chart["main.scxml"] = chart["main.scxml"].replace(b"</scxml>", b'<state id="c"/></scxml>')
    runtime = SimulationRuntime(chart, "main.scxml", {}, limits=Limits(js_time=0.05))
    delta = _fill(runtime)
    assert "interrupted" in delta["datamodel_error"] and "datamodel" not in delta
    assert [r["kind"] for r in delta["records"] if r["type"] == "error"] == ["datamodel"]
    runtime.apply({"op": "inject", "kind": "event", "event": "free", "data": {}, "delay": 0.0})
    settle(runtime)
    delta = runtime.frames()[-1]
    assert delta["datamodel_error"] is None
    recorded = [r for r in delta["records"] if r["type"] == "datamodel"]
    assert len(recorded) == 1  # every change since the last record, none lost, none invented
    assert recorded[0]["changed"] == {"kept": 2, "big": [3], "stuck": None} and recorded[0]["removed"] == []
    assert runtime.snapshot()["datamodel"] == {"kept": 2, "big": [3], "stuck": None}


def test_a_frame_reads_the_variables_once_and_the_script_limits_only_for_watches(files, monkeypatch):
    # `datamodel_values` copies every variable (and reads them whole when the trace's are not
    # exact): the watches, `datamodel_error` and the diff of a frame share one reading.
    runtime = SimulationRuntime(files, None, {}, seed=0)
    runtime.reset_frames()
    calls = {"values": 0, "limits": 0}
    values, limits = SimulationRuntime.datamodel_values, SimulationRuntime.js_limits

    def counted_values(self):
        calls["values"] += 1
        return values(self)

    def counted_limits(self):
        calls["limits"] += 1
        return limits(self)

    monkeypatch.setattr(SimulationRuntime, "datamodel_values", counted_values)
    monkeypatch.setattr(SimulationRuntime, "js_limits", counted_limits)
    for _ in range(3):
        runtime.apply({"op": "step", "unit": "macro"})
        runtime.frames()
    assert calls == {"values": 3, "limits": 0}
    runtime.reset_frames()  # a snapshot: the delta since the last frames, then the whole state
    assert calls == {"values": 5, "limits": 0}

    runtime.watches = ["1 + 1"]
    runtime.apply({"op": "step", "unit": "macro"})
    (delta,) = runtime.frames()
    assert delta["watches"] == [{"expression": "1 + 1", "value": 2}]
    assert calls == {"values": 6, "limits": 1}


def test_a_steps_frame_does_not_measure_again_the_values_its_trace_measured(files, monkeypatch):
    # A changed container's JSON size (is it large enough for a patch?) is measured by the trace's
    # `datamodel` record, and the step's frame diffs the very same objects: the record's sizes serve.
    # Each measure is one `orjson.dumps(value, option=jsonpatch._STRICT)` without `default` (jsonpatch
    # is compiled by mypyc, whose calls within the module cannot be patched; orjson's attribute can).
    # The values are kept, so that no id is reused.
    import orjson

    from simulator.scxml import jsonpatch

    runtime = SimulationRuntime(files, None, {}, seed=0)
    runtime.reset_frames()
    measured: list[object] = []
    dumps = orjson.dumps

    def counted(value, *args, **kwargs):
        if kwargs.get("option") == jsonpatch._STRICT and "default" not in kwargs:
            measured.append(value)
        return dumps(value, *args, **kwargs)

    monkeypatch.setattr(orjson, "dumps", counted)
    deltas = []
    for _ in range(8):
        runtime.apply({"op": "step", "unit": "macro"})
        deltas += runtime.frames()
    monkeypatch.setattr(orjson, "dumps", dumps)
    assert len(measured) >= 8  # the sample's `system` (~1.5 KB) changes at every step
    assert len(set(map(id, measured))) == len(measured)  # each object once (the frames measured them all again)
    assert [d.get("datamodel") for d in deltas] == [d.get("datamodel") for d in _replayed(runtime, 8)]


def _replayed(runtime: SimulationRuntime, steps: int) -> list[dict]:
    """The deltas of the same steps on a runtime whose frames keep no sizes."""
    again = SimulationRuntime(runtime.files, runtime.entry, {}, seed=0)
    again.reset_frames()
    deltas = []
    for _ in range(steps):
        again.apply({"op": "step", "unit": "macro"})
        again.run.session.value_sizes = None
        deltas += again.frames()
    return deltas


def test_a_frames_live_requests_are_its_pending_items(files):
    # the frame's `requests` entry of a live request is its `pending` item (made once a frame)
    from simulator.frames import _request_json
    from simulator.ors.requestbook import LIVE

    runtime = SimulationRuntime(files, None, {}, seed=0)
    runtime.reset_frames()
    shared = 0
    for _ in range(60):
        runtime.apply({"op": "step", "unit": "macro"})
        (delta,) = runtime.frames()
        if delta["status"] != "running":
            break
        pending = {r["id"]: r for r in delta.get("pending", [])}
        for record in delta.get("requests", []):
            assert record == _request_json(runtime.platform.book.requests[record["id"]], False)
            if record["status"] in LIVE:
                assert record is pending[record["id"]] or record == pending[record["id"]]
                shared += record is pending[record["id"]]
    assert shared >= 1


def test_a_frames_copies_of_the_platforms_data_serve_again_while_it_is_equal(files, monkeypatch):
    # The interactions and the live requests are copied (jsonable) only when they changed: the
    # last frame's copies serve while the platform's data equals them, and the frames are the same.
    from simulator import frames

    def run(runtime: SimulationRuntime) -> tuple[list[dict], int]:
        runtime.reset_frames()
        deltas, kept = [], 0
        for _ in range(40):
            before = runtime.publisher._values["interactions"]
            runtime.apply({"op": "step", "unit": "macro"})
            deltas += runtime.frames()
            kept += runtime.publisher._values["interactions"] is before
        return deltas, kept

    deltas, kept = run(SimulationRuntime(files, None, {}, seed=0))
    assert kept >= 20  # the sample's interaction changes at a few steps only
    monkeypatch.setattr(frames, "_copy", lambda value, sent, name: frames.jsonable(value))
    again, kept = run(SimulationRuntime(files, None, {}, seed=0))
    assert kept == 0
    strip = ("key", "base")
    assert [{k: v for k, v in d.items() if k not in strip} for d in deltas] == [
        {k: v for k, v in d.items() if k not in strip} for d in again
    ]
    assert frames.encode([d.get("pending") for d in deltas]) == frames.encode([d.get("pending") for d in again])


def tracked(value) -> int:
    """How many of a JSON tree's containers the cycle collector tracks."""
    if isinstance(value, dict):
        return gc.is_tracked(value) + sum(tracked(v) for v in value.values())
    if isinstance(value, list | tuple):
        return gc.is_tracked(value) + sum(tracked(v) for v in value)
    return 0


def test_a_live_simulations_trace_is_out_of_the_cycle_collector(files):
    # A live simulation keeps its whole trace: plain data, which no full collection needs to walk.
    runtime = SimulationRuntime(files, None, {}, seed=0)
    for _ in range(8):
        runtime.apply({"op": "step", "unit": "macro"})
        runtime.frames()
    kinds = {r["type"] for r in runtime.records}
    assert {"macrostep", "microstep", "datamodel", "action", "send"} <= kinds

    assert sum(tracked(r) for r in runtime.records) == 0
    runtime.close()


def test_a_live_simulation_keeps_only_its_pending_timers(files):
    # Every answer of a fake is a timer; once it fired (or was cancelled) neither the session nor
    # the request book keeps its callback, whose closure holds the answer's data and the session.
    runtime = SimulationRuntime(files, None, {}, seed=1)
    for _ in range(10):
        runtime.apply({"op": "step", "unit": "macro"})
    session, clock = runtime.session, runtime.run.group.clock
    answered = [r for r in runtime.platform.book.requests.values() if r.responses]
    assert len(answered) >= 2

    pending = {t for t in clock._heap if not t.cancelled}
    assert set(session._timers) <= pending and not any(t.done for t in session._timers)
    for timers in runtime.platform.book._timers.values():
        assert all(t.callback is None for t in timers if t not in pending)
    runtime.close()


def test_a_live_simulations_fakes_and_frame_state_are_out_of_the_cycle_collector(files):
    # Kept as long as the simulation lives, and plain data: the profile in force (and the recipe's),
    # and the fields the last frame was diffed against.
    runtime = SimulationRuntime(files, None, MANUAL_SUBMIT, seed=0)
    runtime.frames()
    for _ in range(3):
        runtime.apply({"op": "step", "unit": "macro"})
        runtime.frames()
    runtime.apply({"op": "set_fakes", "fakes": {**MANUAL_SUBMIT, "interaction": {"ani": "555"}}})
    runtime.frames()

    assert runtime.fakes["interaction"] == {"ani": "555"} and runtime.base_fakes == MANUAL_SUBMIT
    assert tracked(runtime.fakes) == tracked(runtime.base_fakes) == 0
    assert tracked(runtime.publisher._values) == 0
    runtime.close()


def test_a_restarted_or_closed_simulations_run_is_freed_without_the_cycle_collector(files):
    # At the open loop's ~30 restarts a second, a run's objects left as reference cycles reached
    # the old generation, which only a full collection (300-390 ms of a 500-socket server) frees.
    runtime = SimulationRuntime(files, None, {}, seed=0)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for release in (runtime.restart, runtime.restart, runtime.close):
            for _ in range(200):
                runtime.apply({"op": "step", "unit": "macro"})
                if runtime.finished:
                    break
            assert runtime.session.status == "final"
            release()
        gc.collect()
        garbage = sorted({type(o).__name__ for o in gc.garbage if not isinstance(o, list | dict | tuple | set)})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert garbage == []
