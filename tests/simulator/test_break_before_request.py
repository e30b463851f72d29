"""Action breakpoints stop a run *before* the extension request is sent (issue 15), over the
websocket: the macrostep that would send it is undone by replay, the paused state is the state
before that macrostep, continuing goes past the request once, and a rewind or a reconnect gives
the same state back.

The sample (ors-samples/crd-gvp-wf, default fakes) sends session:fetch, then dialog:start (left
pending), then queue:submit (Main.scxml line 750), then ends.
"""

from __future__ import annotations

import pytest

from .client import SimClient, pending
from .test_consumer import open_simulation, start, started_id

pytestmark = pytest.mark.django_db(transaction=True)

#: what "the same state" compares (a run's frames differ from a step's in `running`/`reply_to`)
STATE = ("seq", "configuration", "datamodel", "pending", "requests", "time", "external_queue", "op_seqs")


def state(snapshot: dict) -> dict:
    return {k: snapshot[k] for k in STATE}


def actions(records: list[dict], module: str, name: str) -> list[dict]:
    return [
        r
        for r in records
        if r["type"] == "action" and (r["request"]["module"], r["request"]["action"]) == (module, name)
    ]


async def before_the_request(world, module: str, name: str) -> tuple[dict, list[dict]]:
    """The snapshot and trace right before the macrostep that sends `module:name`, by stepping."""
    client = await start(world)
    previous, records = client.snapshot, list(client.records)
    while True:
        snapshot = await client.step()
        if actions(client.records, module, name):
            await client.close()
            return previous, records
        previous, records = snapshot, list(client.records)


async def run_until_paused(client: SimClient, **fields) -> dict:
    answer = await client.request("run", expect="running", **fields)
    assert answer["type"] == "running", answer
    return await client.until("paused")


async def with_breakpoints(world, breakpoints: dict) -> SimClient:
    client = await start(world)
    answer = await client.request("set_breakpoints", expect="breakpoints", breakpoints=breakpoints)
    assert answer["type"] == "breakpoints", answer
    return client


async def test_a_run_stops_before_the_request_is_sent_in_the_state_before_its_macrostep(sim_world):
    expected, expected_records = await before_the_request(sim_world, "queue", "submit")
    client = await with_breakpoints(sim_world, {"actions": ["queue:submit"]})

    paused = await run_until_paused(client)

    assert paused["reason"] == "breakpoint"
    assert paused["hits"] == [
        {
            "kind": "actions",
            "value": "queue:submit",
            "seq": expected["seq"],
            "request": {"module": "queue", "action": "submit", "file": "src-gen/Main.scxml", "line": 750},
            "before": True,
            "message": "before queue:submit at src-gen/Main.scxml:750",
        }
    ]
    assert not actions(client.records, "queue", "submit") and not pending(client.snapshot, "queue", "submit")
    assert client.records == expected_records
    assert state(client.snapshot) == state(expected)
    await client.close()


async def test_continuing_sends_the_request_and_stops_at_the_next_breakpoint_or_the_end(sim_world):
    client = await with_breakpoints(sim_world, {"actions": ["dialog:start", "queue:submit"]})

    first = await run_until_paused(client)
    dialogs_at_first = len(actions(client.records, "dialog", "start"))
    second = await run_until_paused(client)
    submits_at_second = len(actions(client.records, "queue", "submit"))
    last = await run_until_paused(client)

    assert [h["message"].split(" at ")[0] for h in first["hits"] + second["hits"]] == [
        "before dialog:start",
        "before queue:submit",
    ]
    assert dialogs_at_first == 0 and submits_at_second == 0
    assert len(actions(client.records, "dialog", "start")) == 1  # sent once, no second stop before it
    assert len(actions(client.records, "queue", "submit")) == 1
    assert last["reason"] == "finished" and last["hits"] == []
    await client.close()


async def test_a_step_goes_past_the_request_a_run_paused_before(sim_world):
    client = await with_breakpoints(sim_world, {"actions": ["queue:submit"]})
    await run_until_paused(client)

    await client.step()

    assert len(actions(client.records, "queue", "submit")) == 1
    assert (await run_until_paused(client))["reason"] == "finished"
    await client.close()


async def test_a_console_evaluation_at_the_pause_does_not_make_the_run_stop_again(sim_world):
    client = await with_breakpoints(sim_world, {"actions": ["queue:submit"]})
    await run_until_paused(client)

    await client.request("eval", expect="eval", expression="var seen = 1")
    resumed = await run_until_paused(client)

    assert resumed["reason"] == "finished"
    assert len(actions(client.records, "queue", "submit")) == 1
    await client.close()


async def test_a_conditional_action_breakpoint_stops_only_when_its_condition_holds(sim_world):
    false = await with_breakpoints(
        sim_world, {"actions": ["queue:submit"], "conditions": {"actions:queue:submit": "varCustLevel == 'vip'"}}
    )
    holds = await with_breakpoints(
        sim_world, {"actions": ["queue:submit"], "conditions": {"actions:queue:submit": "varCustLevel != 'vip'"}}
    )

    ran = await run_until_paused(false)
    stopped = await run_until_paused(holds)

    assert ran["reason"] == "finished" and len(actions(false.records, "queue", "submit")) == 1
    assert stopped["reason"] == "breakpoint" and stopped["hits"][0]["before"] is True
    assert stopped["hits"][0]["condition"] == "varCustLevel != 'vip'"
    assert not actions(holds.records, "queue", "submit")
    await false.close()
    await holds.close()


async def test_a_disabled_action_breakpoint_does_not_stop(sim_world):
    client = await with_breakpoints(sim_world, {"actions": ["queue:submit"], "disabled": ["actions:queue:submit"]})

    ran = await run_until_paused(client)

    assert ran["reason"] == "finished" and len(actions(client.records, "queue", "submit")) == 1
    await client.close()


async def test_a_rewind_and_a_reconnect_after_the_pause_give_the_same_state(sim_world):
    client = await with_breakpoints(sim_world, {"actions": ["queue:submit"]})
    await run_until_paused(client)
    paused, records = client.snapshot, list(client.records)
    await client.request("pause")  # saves the inputs log
    await client.close()

    again, connected, _ = await open_simulation(sim_world, started_id(client), sim_world.owner)
    assert connected
    resumed = await again.until("snapshot")
    resumed_records = list(again.records)
    rewound = await again.request("rewind", seq=paused["seq"])
    rewound_records = list(again.records)
    continued = await run_until_paused(again)

    assert state(resumed) == state(paused) and resumed_records == records
    assert state(rewound) == state(paused) and rewound_records == records
    assert not actions(records, "queue", "submit")
    # a rebuilt runtime has no memory of the pause: its run stops before the request once more
    assert continued["reason"] == "breakpoint" and continued["hits"][0]["before"] is True
    assert (await run_until_paused(again))["reason"] == "finished"
    assert len(actions(again.records, "queue", "submit")) == 1
    await again.close()


async def test_a_rewind_in_the_live_runtime_keeps_going_past_the_request(sim_world):
    client = await with_breakpoints(sim_world, {"actions": ["queue:submit"]})
    await run_until_paused(client)
    paused = client.snapshot

    rewound = await client.request("rewind", seq=paused["seq"])
    resumed = await run_until_paused(client)

    assert state(rewound) == state(paused)
    assert resumed["reason"] == "finished" and len(actions(client.records, "queue", "submit")) == 1
    await client.close()


async def test_a_paced_run_stops_before_the_request_too(sim_world):
    expected, _ = await before_the_request(sim_world, "queue", "submit")
    client = await with_breakpoints(sim_world, {"actions": ["queue:submit"]})

    paused = await run_until_paused(client, speed=1000)

    assert paused["reason"] == "breakpoint" and paused["hits"][0]["message"].startswith("before queue:submit")
    assert state(client.snapshot) == state(expected)
    assert (await run_until_paused(client, speed=1000))["reason"] == "finished"
    assert len(actions(client.records, "queue", "submit")) == 1
    await client.close()
