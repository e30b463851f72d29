"""A live simulation's cost is bounded in total (issue 11): one operation stops at a time budget
(ORCHWEB_SIM_STEP_BUDGET_MS), the trace and the inputs log at a number of records and operations,
each with a `limit` record in the trace; the simulation stays usable and replays the same way.

Small limits come from the settings so each test is quick; what is asserted is where the work
stopped and what the trace says, not how long it took.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from designer import history
from designer.models import Project
from simulator.protocol import OpError
from simulator.sessions import SimulationRuntime
from tests.ors.strategies import document
from tests.simulator.conftest import SimWorld, build_sim_world
from tests.simulator.test_consumer import start

ENTRY = "src-gen/IPD_T.scxml"

#: every virtual second, a script that spins until the JS time limit stops it
TICKING_SPIN = document(
    """
  <state id="spin">
    <onentry><send event="'tick'" delay="'1s'"/><script>while (true) {}</script></onentry>
    <transition event="tick" target="spin"/>
  </state>""",
    initial="spin",
)

#: one macrostep of forty eventless microsteps, each entering a state whose script spins
SPIN_STORM = document(
    """
  <datamodel><data id="n" expr="0"/></datamodel>
  <state id="wait"><transition event="go" target="a"/></state>
  <state id="a">
    <onentry><assign location="n" expr="n + 1"/><script>while (true) {}</script></onentry>
    <transition cond="n &lt; 40" target="b"/>
    <transition target="end"/>
  </state>
  <state id="b"><transition target="a"/></state>
  <final id="end"/>""",
)

#: a tick every virtual second, logged (no JS cost: for the record caps)
TICKING = document(
    """
  <state id="tick">
    <onentry><send event="'tick'" delay="'1s'"/><log label="tick" expr="1"/></onentry>
    <transition event="tick" target="tick"/>
  </state>""",
    initial="tick",
)


@pytest.fixture
def small_limits(settings) -> None:
    settings.JS_TIME_LIMIT_MS = 50
    settings.SIMULATION_STEP_BUDGET_MS = 300


def runtime_of(doc: bytes) -> SimulationRuntime:
    return SimulationRuntime({ENTRY: doc}, ENTRY, {})


def limits_in(records: list[dict]) -> list[dict]:
    return [r for r in records if r["type"] == "limit"]


def comparable(records: list[dict]) -> list[tuple]:
    """Records without error messages (a script cut by the budget is replayed under its own time
    limit: the message differs, not what happened)."""
    return [(r["type"], r["seq"], r["time"], r.get("entered"), r.get("event")) for r in records]


def test_an_advance_running_many_slow_scripts_stops_at_the_step_budget(small_limits) -> None:
    runtime = runtime_of(TICKING_SPIN)

    records = runtime.apply({"op": "advance", "seconds": 1000})

    # 1,000 slow ticks would take 50 s: the budget stopped it between macrosteps
    assert runtime.run.clock.now < 1000
    (limit,) = limits_in(records)
    assert limit == records[-1]
    assert limit["limit"] == "step_budget" and limit["value"] == 0.3
    assert "time budget of 0.3 s" in limit["message"] and "step or run again" in limit["message"]
    logged = runtime.inputs[-1]
    assert logged["limit"]["macrosteps"] == sum(r["type"] == "macrostep" for r in records)
    assert runtime.snapshot()["limit"] is None  # a budget stop refuses nothing: go on
    runtime.apply({"op": "step", "unit": "macro"})

    # a replay stops at the same macrostep (no clock involved) and says so in the same place
    replayed = runtime_of(TICKING_SPIN)
    replayed.replay(runtime.inputs)
    assert comparable(replayed.records) == comparable(runtime.records)
    assert limits_in(replayed.records) == limits_in(runtime.records)
    assert replayed.run.clock.now == runtime.run.clock.now
    runtime.close()
    replayed.close()


def test_scripts_of_one_macrostep_are_cut_at_the_budget_and_the_macrostep_completes(small_limits) -> None:
    runtime = runtime_of(SPIN_STORM)
    runtime.apply({"op": "inject", "kind": "event", "event": "go"})

    records = runtime.apply({"op": "step", "unit": "block"})  # the queued events, then "go"

    messages = [r["message"] for r in records if r["type"] == "error"]
    assert any("time budget of 0.3 s ran out" in m for m in messages), messages
    assert runtime.session.final_state == "end"  # the algorithm finished its macrostep
    assert limits_in(records)[-1]["limit"] == "step_budget"
    runtime.close()


def test_the_trace_stops_at_its_record_limit_and_further_operations_are_refused(settings) -> None:
    settings.SIMULATION_MAX_TRACE_RECORDS = 100
    runtime = runtime_of(TICKING)

    records = runtime.apply({"op": "advance", "seconds": 10_000})

    assert runtime.run.clock.now < 100
    (limit,) = limits_in(records)
    assert limit["limit"] == "trace_records" and limit["value"] == 100
    assert len(runtime.records) < 100 + 10  # at most the rest of one macrostep past the limit
    assert runtime.snapshot()["limit"] == "trace_records"
    with pytest.raises(OpError, match="trace reached its limit of 100 records"):
        runtime.apply({"op": "step", "unit": "macro"})

    runtime.rewind(runtime.inputs[0]["seq"] - 1)  # back before the advance: room again
    assert runtime.snapshot()["limit"] is None
    runtime.apply({"op": "step", "unit": "macro"})
    runtime.close()


def test_the_inputs_log_says_when_it_is_full(settings) -> None:
    settings.SIMULATION_MAX_OPERATIONS = 10
    runtime = runtime_of(TICKING)

    for _ in range(10):
        last = runtime.apply({"op": "step", "unit": "macro"})

    assert limits_in(last) and limits_in(last)[0]["limit"] == "operations"
    assert runtime.snapshot()["limit"] == "operations"
    with pytest.raises(OpError, match="operations reached their limit"):
        runtime.apply({"op": "step", "unit": "macro"})
    runtime.close()


# ---- over the websocket ---------------------------------------------------------------------------


@pytest.fixture
def sim_world(transactional_db: None, shared_dir: Path) -> SimWorld:
    return build_sim_world(shared_dir)


@pytest.mark.django_db(transaction=True)
async def test_a_run_of_slow_scripts_pauses_at_the_budget_and_the_page_is_told(sim_world, small_limits):
    def spinning_version() -> int:
        project = Project.objects.create(team=sim_world.project.team, name="Spin", created_by=sim_world.owner)
        files = {ENTRY: TICKING_SPIN}
        return history.create_version(
            project, files, author=sim_world.owner, message="spin", parent=None, entry=ENTRY
        ).pk

    client = await start(sim_world, version_override=await database_sync_to_async(spinning_version)())

    await client.request("set_breakpoints", expect="breakpoints", breakpoints={"errors": False})
    await client.request("run", expect="running")
    paused = await client.until("paused")
    snapshot = client.snapshot  # the last one, sent with the chunk's trace before `paused`

    assert paused["reason"] == "limit"  # without the budget the run would go on for ever
    limit = limits_in(client.records)[-1]
    assert limit["limit"] == "step_budget" and "time budget" in limit["message"]
    assert snapshot["seq"] >= limit["seq"]
    after = await client.step()  # still usable
    assert after["seq"] > limit["seq"]
    await client.close()
