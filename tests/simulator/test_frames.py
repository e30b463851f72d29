"""State frames: a snapshot on connect and on demand, then one delta per step carrying what changed.

Over the real websocket stack (WebsocketCommunicator, real database and channel layer): the state a
client rebuilds from deltas is the state a fresh snapshot gives, for the owner and for a watcher
fed through the channel layer; and a frame's size follows what the step did, not the history, so
3,000 injected events cost linear bytes.
"""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from designer import history
from designer.models import Project
from simulator.frames import ClientState, _diff, encode

from .client import SimClient, pending
from .test_consumer import open_simulation, start, started_id

pytestmark = pytest.mark.django_db(transaction=True)


async def fresh_snapshot(client: SimClient) -> dict:
    """The whole state asked now (`snapshot` action), as the client's state holds it (no key)."""
    answer = await client.request("snapshot")
    assert answer["type"] == "snapshot", answer
    frame = next(f for f in reversed(client.frames) if f["type"] == "snapshot")
    return {k: v for k, v in frame.items() if k not in ("type", "key", "reply_to", "running")}


async def rebuilt(client: SimClient) -> dict:
    state = client.client.snapshot()
    return {k: v for k, v in state.items() if k != "running"}


async def test_the_state_rebuilt_from_deltas_equals_a_fresh_snapshot_after_every_kind_of_operation(sim_world):
    client = await start(sim_world, fakes="fakes/manual-submit.json")
    await client.step_until(lambda s: "varCustLevel" in s["datamodel"])
    operations = [
        ("step", {"unit": "microstep"}),
        ("inject", {"event": "custom.one", "data": {"n": 1}}),
        ("inject", {"event": "later", "delay": 30}),
        ("set_watches", {"watches": ["varCustLevel", "1 + 1"]}),
        ("set_variable", {"name": "varCustLevel", "value": "gold"}),
        ("eval", {"expression": "var fromConsole = {a: [1, 2]}"}),
        ("step", {"unit": "macrostep"}),
        ("advance", {"seconds": 5}),
    ]
    for action, fields in operations:
        expect = "eval" if action == "eval" else "watches" if action == "set_watches" else "state"
        answer = await client.request(action, expect=expect, **fields)
        assert answer["type"] != "error", answer
        if expect != "state":
            await client.until("delta")
        assert await rebuilt(client) == await fresh_snapshot(client), action
    waiting = await client.step_until(lambda s: pending(s, "queue", "submit"))
    request = pending(waiting, "queue", "submit")[0]
    await client.request("respond", request=request["id"], events=[{"name": "queue.submit.done", "data": {}}])
    final = await client.step_until(lambda s: s["status"] == "final")
    deltas = [f for f in client.frames if f["type"] == "delta"]

    assert await rebuilt(client) == await fresh_snapshot(client)
    assert final["requests"][-1]["status"] == "answered" and final["pending"] == []
    assert {"datamodel", "external_queue", "timers", "requests", "watches"} <= {k for d in deltas for k in d}
    assert all("op_seqs" not in d or len(d["op_seqs"]) <= 1 for d in deltas)  # appended, never resent
    await client.close()


async def test_a_watcher_fed_through_the_channel_layer_holds_the_owners_state(sim_world):
    owner = await start(sim_world)
    simulation_id = started_id(owner)
    await owner.request("share", expect="shared", shared=True)
    watcher, connected, _ = await open_simulation(sim_world, simulation_id, sim_world.teammate)
    assert connected
    await watcher.until("snapshot")

    for n in range(6):
        await owner.step()
        await owner.request("inject", event=f"e{n}")
    last = owner.client.key
    while watcher.client.key != last:
        await watcher.receive()

    assert watcher.client.snapshot() == owner.client.snapshot()
    assert watcher.records == owner.records
    await watcher.close()
    await owner.close()


async def test_a_delta_that_does_not_follow_the_clients_state_asks_for_a_snapshot():
    client = ClientState()
    client.apply({"type": "snapshot", "key": "a.1", "seq": 1})

    assert client.apply({"type": "delta", "base": "a.1", "key": "a.2", "seq": 2}) is True
    assert client.apply({"type": "delta", "base": "a.2", "key": "a.2", "seq": 2}) is True  # already held
    assert client.apply({"type": "delta", "base": "b.7", "key": "b.8", "seq": 9}) is False
    assert client.snapshot() == {"seq": 2}


#: a strategy that counts the events it gets: its state stays the same size whatever it received
#: (the Composer sample keeps every unexpected event in `system.uncaughtApplicationEvents`, a
#: variable that grows with the flood and that every step's trace record then carries whole)
COUNTER = b"""<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript">
<datamodel><data id="seen" expr="0"/></datamodel>
<state id="listening"><transition event="flood"><assign location="seen" expr="seen + 1"/></transition></state>
</scxml>"""


@pytest.fixture
def counter_version(sim_world):
    project = Project.objects.create(team=sim_world.project.team, name="Counter", created_by=sim_world.owner)
    return history.create_version(
        project, {"counter.scxml": COUNTER}, author=sim_world.owner, message="count", parent=None, entry="counter.scxml"
    )


@override_settings(SIMULATION_STEPS_PER_SECOND=1_000_000)
async def test_3000_injected_events_cost_frames_of_a_bounded_size_whatever_the_history(sim_world, counter_version):
    client = await start(sim_world, version_override=counter_version.pk)
    sizes = []
    for n in range(3000):
        await client.request("inject", event="flood", data={"n": n})
        sizes.append(len(encode(client.frames[-1])))
    queued = len(client.snapshot["external_queue"])
    for _ in range(200):  # processing them: each step drops what it consumed from the head
        await client.step()
        sizes.append(len(encode(client.frames[-1])))
    snapshot = await fresh_snapshot(client)

    assert queued >= 3000
    assert max(sizes[:3000]) < 1_500 and max(sizes[:3000]) - min(sizes[:3000]) < 100
    # a step's frame carries its records and the queue's change, not the queue of 3,000 events
    assert max(sizes[3000:]) < 2_000 and max(sizes[-100:]) <= max(sizes[3000:3100]) + 20
    assert sum(sizes) < 3200 * 2_000 and len(encode(snapshot)) > 3000 * 100
    assert snapshot["datamodel"]["seen"] == 200 - (queued - 3000)  # the start events came first
    assert await rebuilt(client) == snapshot
    await client.close()


@override_settings(SIMULATION_STEPS_PER_SECOND=1_000_000)
async def test_a_composer_strategy_keeping_every_unexpected_event_sends_frames_of_a_bounded_size(sim_world):
    # The sample appends each unexpected event to `system.uncaughtApplicationEvents`: the frames
    # and the trace carry that array's new items (a `patches` append), not the growing array.
    client = await start(sim_world, fakes="fakes/manual-submit.json")
    await client.step_until(lambda s: pending(s, "queue", "submit"))  # waiting: events are unexpected
    sizes = []
    for n in range(1000):
        await client.request("inject", event="unexpected.event", data={"n": n})
        await client.step()
        sizes.append(len(encode(client.frames[-1])))
    snapshot = await fresh_snapshot(client)
    stored = snapshot["datamodel"]["system"]["uncaughtApplicationEvents"]
    patched = [r for r in client.records if r["type"] == "datamodel" and "patches" in r]

    assert [e["name"] for e in stored[-1000:]] == ["unexpected.event"] * 1000
    assert len(encode(snapshot["datamodel"]["system"])) > 1000 * 50
    # the first ones carry `system` whole (under the 2 KiB patch threshold), then its change only
    assert max(sizes[-100:]) <= max(sizes[100:200]) + 50 and max(sizes[10:]) < 3_000
    assert len(patched) >= 990 and all(len(encode(r)) < 2_000 for r in patched)
    assert await rebuilt(client) == snapshot
    await client.close()


class _Key(str):
    """A key that is a string of another type (orjson refuses it without OPT_NON_STR_KEYS)."""


@pytest.mark.parametrize(
    ("frame", "text"),
    [
        ({"type": "delta", "datamodel": {"changed": {"x": [1, 2.5, None, "é"]}}}, None),
        (
            {"type": "delta", "records": [{3: "a", None: [{2.5: True}]}]},
            '{"type":"delta","records":[{"3":"a","null":[{"2.5":true}]}]}',
        ),
        ({_Key("type"): "snapshot"}, '{"type":"snapshot"}'),
    ],
)
def test_a_frame_is_encoded_as_compact_json_whatever_the_type_of_its_keys(frame, text):
    # Frames whose keys are all strings take orjson's faster path; any other key is encoded as
    # its text, as a frame always was.
    encoded = encode(frame)
    assert encoded == (text or json.dumps(frame, separators=(",", ":"), ensure_ascii=False))


@pytest.mark.parametrize("touched_count", [1, 3, 8, 9])
def test_the_diff_of_the_touched_variables_keeps_the_order_of_the_variables(touched_count):
    # The touched names are looked up (a set, in no order) when few, walked when many: the diff's
    # order is the variables' either way, as the diff of every variable gives it.
    names = [f"v{i}" for i in range(12)]
    sent = {name: [i] for i, name in enumerate(names)}
    now = {name: [i, "new"] for i, name in reversed(list(enumerate(names)))}
    del now["v5"]
    touched = {*names[::-1][:touched_count], "v5", "absent"}
    expected = {
        "changed": {n: now[n] for n in now if n in touched},
        "removed": ["v5"],
    }
    kept = dict(sent)
    assert _diff(kept, now, touched) == expected
    assert list(_diff(dict(sent), now, touched)["changed"]) == [n for n in now if n in touched]
    assert _diff(dict(sent), now, None)["changed"].keys() == now.keys()
    assert kept == {n: now[n] if n in touched else sent[n] for n in sent if n != "v5"}


async def test_a_value_that_turns_from_a_number_into_a_boolean_reaches_the_client(sim_world):
    # Python's `1 == True`: a variable, a watch or a field compared with `==` would keep showing 1
    client = await start(sim_world)
    await client.request("set_watches", expect="watches", watches=["flag", "[flag]"])
    await client.request("eval", expect="eval", expression="var flag = 1")
    await client.until("delta")
    await client.request("eval", expect="eval", expression="flag = true")
    await client.until("delta")

    state = await rebuilt(client)
    assert state["datamodel"]["flag"] is True
    assert [w.get("value") for w in state["watches"]] == [True, [True]]
    assert json.dumps(state, sort_keys=True) == json.dumps(await fresh_snapshot(client), sort_keys=True)
    await client.close()
