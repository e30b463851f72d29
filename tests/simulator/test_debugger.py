"""The debugger over the websocket (issue 15): console, value edits, watches, conditional and
error breakpoints, run to here, block steps. Each action: the happy path, bad input, a watcher's
refusal (or evaluation on a copy) and its limits; console and edit operations replay after a
reconnect and are undone by a rewind.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from .client import SimClient, entered, pending
from .test_consumer import open_simulation, start, started_id, stored_simulation

pytestmark = pytest.mark.django_db(transaction=True)

BRANCH = "MainWorkflow.bchIsVIP"
VIP_PATH = "MainWorkflow.emsSetVipParam"
NORMAL_PATH = "MainWorkflow.emsSetMainParam"


def after_branch(records: list[dict]) -> str:
    """The block the strategy went to from the VIP branch."""
    states = entered(records)
    return next(s for s in states[states.index(BRANCH) + 1 :] if s.startswith("MainWorkflow.") and "._" not in s)


async def at_branch(client: SimClient) -> dict:
    return await client.step_until(lambda s: BRANCH in s["configuration"])


async def watched(world, owner: SimClient) -> SimClient:
    await owner.request("share", expect="shared", shared=True)
    watcher, _, _ = await open_simulation(world, started_id(owner), world.teammate)
    await watcher.until("snapshot")
    return watcher


# ---- console ----------------------------------------------------------------------------------


async def test_the_console_evaluates_in_the_datamodel_and_a_side_effect_is_an_operation(sim_world):
    client = await start(sim_world)
    await at_branch(client)

    asked = await client.request("eval", expect="eval", expression="'[' + varCustLevel.toUpperCase() + ']'")
    changed = await client.request("eval", expect="eval", expression="varCustLevel = 'vip'; var extra = 1")
    after = await client.until("snapshot", reply_to=changed["reply_to"])
    final = await client.step_until(lambda s: s["status"] == "final")

    assert (asked["value"], asked["copy"]) == ("[]", False)
    assert changed == {**changed, "value": None, "undefined": True}
    assert after["datamodel"]["varCustLevel"] == "vip"
    console = [r for r in client.records if r["type"] == "console"]
    assert [c["expression"] for c in console][1] == "varCustLevel = 'vip'; var extra = 1"
    diff = next(r for r in client.records if r["type"] == "datamodel" and r["seq"] == console[1]["seq"] + 1)
    assert diff["changed"] == {"varCustLevel": "vip", "extra": 1}
    assert after_branch(client.records) == VIP_PATH
    assert final["status"] == "final"
    await client.close()


async def test_a_failing_expression_answers_its_error_and_bad_input_an_error_frame(sim_world):
    client = await start(sim_world)

    thrown = await client.request("eval", expect="eval", expression="nothing.here")
    missing = await client.request("eval", expect="eval")
    blank = await client.request("eval", expect="eval", expression="   ")

    assert thrown["error"] == "ReferenceError: nothing is not defined"
    assert missing["type"] == blank["type"] == "error" and "eval needs expression" in missing["message"]
    assert (await client.step())["type"] == "delta"
    await client.close()


async def test_the_console_is_limited_like_a_strategy_script(sim_world):
    client = await start(sim_world)

    spin = await client.request("eval", expect="eval", expression="while (true) {}")
    huge = await client.request("eval", expect="eval", expression="'x'.repeat(200000)")
    too_long = await client.request("eval", expect="eval", expression="1+" * 6000 + "1")

    assert spin["error"].startswith("InternalError") and "time limit" in spin["error"]
    assert "at most 65,536 are shown" in huge["error"]
    assert too_long["type"] == "error"
    assert (await client.step())["type"] == "delta"
    await client.close()


async def test_a_watcher_evaluates_on_a_copy_and_cannot_change_the_simulation(sim_world):
    owner = await start(sim_world)
    await at_branch(owner)
    watcher = await watched(sim_world, owner)

    read = await watcher.request("eval", expect="eval", expression="varCustLevel")
    written = await watcher.request("eval", expect="eval", expression="varCustLevel = 'vip'")
    edit = await watcher.request("set_variable", name="varCustLevel", value="vip")
    check = await owner.request("eval", expect="eval", expression="varCustLevel")

    assert (read["value"], read["copy"]) == ("", True)
    assert (written["value"], written["copy"]) == ("vip", True)  # on the copy only
    assert edit["type"] == "error" and "read-only" in edit["message"]
    assert check["value"] == ""
    assert not [r for r in watcher.records if r["type"] == "console" and "= 'vip'" in r["expression"]]
    await watcher.close()
    await owner.close()


# ---- edit a value -------------------------------------------------------------------------------


async def test_editing_a_variable_changes_the_branch_the_strategy_takes(sim_world):
    client = await start(sim_world)
    await at_branch(client)

    edited = await client.request("set_variable", name="varCustLevel", value="VIP")
    unknown = await client.request("set_variable", name="noSuchVariable", value=1)
    bad = await client.request("set_variable", name="not a name", value=1)
    await client.step_until(lambda s: s["status"] == "final")

    assert edited["datamodel"]["varCustLevel"] == "VIP"
    assert unknown["type"] == "error" and "no variable 'noSuchVariable'" in unknown["message"]
    assert bad["type"] == "error" and "set_variable needs name" in bad["message"]
    assert after_branch(client.records) == VIP_PATH
    await client.close()


async def test_console_and_edit_operations_replay_after_a_reconnect_and_a_rewind_undoes_them(sim_world):
    client = await start(sim_world)
    before = await at_branch(client)
    await client.request("set_variable", name="varCustLevel", value="vip")
    await client.request("eval", expect="eval", expression="varCustomerGrading = 'A+'")
    records = list(client.records)
    await client.close()

    again, _, _ = await open_simulation(sim_world, started_id(client), sim_world.owner)
    resumed = await again.until("snapshot")
    replayed = list(again.records)
    row = await database_sync_to_async(stored_simulation)(started_id(client))
    rewound = await again.request("rewind", seq=before["seq"])

    assert replayed[: len(records)] == records and replayed[-1]["type"] == "datamodel"
    assert (resumed["datamodel"]["varCustLevel"], resumed["datamodel"]["varCustomerGrading"]) == ("vip", "A+")
    assert [op["op"] for op in row.inputs][-2:] == ["set_variable", "eval"]
    assert rewound["datamodel"] == before["datamodel"]
    await again.close()


# ---- watches ------------------------------------------------------------------------------------


async def test_watches_are_evaluated_for_every_snapshot_and_kept_with_the_simulation(sim_world):
    client = await start(sim_world)
    await client.step()  # the datamodel is initialised by the first macrostep
    answer = await client.request(
        "set_watches", expect="watches", watches=["varCustLevel", "varCustLevel = 'x'", "missing.thing"]
    )
    shown = await client.until("snapshot", reply_to=answer["reply_to"])
    stepped = await client.step()
    await client.close()
    again, _, _ = await open_simulation(sim_world, started_id(client), sim_world.owner)
    resumed = await again.until("snapshot")
    too_many = await again.request("set_watches", expect="watches", watches=["1"] * 21)

    assert [w.get("value", w.get("error")) for w in shown["watches"]][:2] == ["n/a", "x"]
    assert shown["watches"][2]["error"].startswith("ReferenceError")
    assert stepped["watches"][0] == {"expression": "varCustLevel", "value": "n/a"}  # the copy's 'x' is gone
    assert [w["expression"] for w in resumed["watches"]] == ["varCustLevel", "varCustLevel = 'x'", "missing.thing"]
    assert too_many["type"] == "error" and "at most 20" in too_many["message"]
    await again.close()


async def test_a_watcher_cannot_set_watches(sim_world):
    owner = await start(sim_world)
    watcher = await watched(sim_world, owner)

    refused = await watcher.request("set_watches", expect="watches", watches=["1"])

    assert refused["type"] == "error" and "read-only" in refused["message"]
    await watcher.close()
    await owner.close()


# ---- breakpoints --------------------------------------------------------------------------------


async def run_until_paused(client: SimClient, **fields) -> dict:
    await client.request("run", expect="running", **fields)
    return await client.until("paused")


async def test_a_conditional_breakpoint_stops_only_when_its_condition_holds(sim_world):
    never = await start(sim_world)
    await never.request(
        "set_breakpoints",
        expect="breakpoints",
        breakpoints={"entered": [BRANCH], "conditions": {f"entered:{BRANCH}": "varCustLevel == 'vip'"}},
    )
    holds = await start(sim_world)
    await holds.request(
        "set_breakpoints",
        expect="breakpoints",
        breakpoints={"entered": [BRANCH], "conditions": {f"entered:{BRANCH}": "varCustLevel == ''"}},
    )

    ran_through = await run_until_paused(never)
    stopped = await run_until_paused(holds)

    assert ran_through["reason"] == "finished"
    assert after_branch(never.records) == NORMAL_PATH  # without an edit, the strategy's own branch
    assert stopped["reason"] == "breakpoint"
    assert stopped["hits"][0] == {**stopped["hits"][0], "kind": "entered", "value": BRANCH}
    assert BRANCH in holds.snapshot["configuration"]
    await never.close()
    await holds.close()


async def test_a_disabled_breakpoint_is_kept_but_does_not_stop(sim_world):
    client = await start(sim_world)
    answer = await client.request(
        "set_breakpoints", expect="breakpoints", breakpoints={"entered": [BRANCH], "disabled": [f"entered:{BRANCH}"]}
    )

    ran = await run_until_paused(client)

    assert answer["breakpoints"]["entered"] == [BRANCH] and answer["breakpoints"]["disabled"] == [f"entered:{BRANCH}"]
    assert ran["reason"] == "finished"
    await client.close()


async def test_a_run_stops_on_an_error_event_unless_switched_off(sim_world):
    on = await start(sim_world)
    off = await start(sim_world)
    await off.request("set_breakpoints", expect="breakpoints", breakpoints={"errors": False})
    for client in (on, off):
        await client.step_until(lambda s: pending(s, "dialog", "start"))
        await client.request("inject", kind="hangup")

    stopped = await run_until_paused(on)
    ran = await run_until_paused(off)

    assert stopped["reason"] == "breakpoint" and stopped["hits"][0]["kind"] == "errors"
    assert stopped["hits"][0]["value"] == "error.dialog.start"
    assert ran["reason"] == "finished"
    await on.close()
    await off.close()


async def test_bad_breakpoint_conditions_are_refused(sim_world):
    client = await start(sim_world)

    wrong_key = await client.request("set_breakpoints", expect="breakpoints", breakpoints={"conditions": {"x": "1"}})
    wrong_switch = await client.request("set_breakpoints", expect="breakpoints", breakpoints={"errors": "yes"})

    assert wrong_key["type"] == wrong_switch["type"] == "error"
    assert "kind:value" in wrong_key["message"] and "errors must be true or false" in wrong_switch["message"]
    await client.close()


async def test_run_to_here_stops_at_the_state(sim_world):
    client = await start(sim_world)

    blank = await client.request("run", expect="running", to=" ")
    stopped = await run_until_paused(client, to="MainWorkflow.playMain")
    unknown = await run_until_paused(client, to="No.Such.State")

    assert blank["type"] == "error" and "run to must be a state id" in blank["message"]

    assert stopped["reason"] == "breakpoint" and stopped["hits"] == [
        {"kind": "run_to", "value": "MainWorkflow.playMain", "seq": stopped["hits"][0]["seq"]}
    ]
    assert unknown["reason"] == "finished"
    await client.close()


# ---- block steps --------------------------------------------------------------------------------


async def test_a_block_step_goes_from_one_composer_block_to_the_next(sim_world):
    client = await start(sim_world)

    blocks = []
    for _ in range(4):
        snapshot = await client.step("block")
        blocks.append([s for s in snapshot["configuration"] if s.startswith("MainWorkflow.") and "._" not in s])
    macro_steps = [r for r in client.records if r["type"] == "macrostep"]

    assert blocks == [
        ["MainWorkflow.Entry1"],
        ["MainWorkflow.OriginateDN"],
        ["MainWorkflow.restGetProfile"],
        ["MainWorkflow.emsParseApiResult"],
    ]
    assert len(macro_steps) > 4  # the REST block took several macrosteps in one block step
    await client.close()
