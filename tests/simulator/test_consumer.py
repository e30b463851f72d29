"""The simulation websocket (ws/simulations/): every action, bad messages and permission refusals.

Real database, real channel layer (in-memory, or Redis when REDIS_URL is set: CI runs both),
real ASGI stack (origin check, session cookie authentication).
"""

from __future__ import annotations

import threading

import channels.testing.application
import pytest
from channels.db import DatabaseSyncToAsync, database_sync_to_async
from channels.layers import get_channel_layer
from django.db import close_old_connections
from django.db.backends.signals import connection_created

from simulator.models import Simulation
from simulator.quotas import quotas

from .client import SimClient, entered, pending
from .conftest import SimWorld

pytestmark = pytest.mark.django_db(transaction=True)

HANGUP_PATH_STATE = "_composer_global_exit"


async def start(world: SimWorld, user=None, **fields) -> SimClient:
    """A socket of `user` (default: the owner) with a new simulation of the sample version."""
    headers = await database_sync_to_async(world.headers)(user or world.owner)
    client, connected, _ = await SimClient.open("/ws/simulations/", headers)
    assert connected
    hello = await client.receive()
    assert hello == {"type": "hello", "simulation": None, "readonly": False}
    version = fields.pop("version_override", None) or world.version.pk
    answer = await client.request("start", expect="started", version=version, **fields)
    assert answer["type"] == "started", answer
    await client.until("snapshot")
    return client


async def open_simulation(world: SimWorld, simulation_id: int, user) -> tuple[SimClient, bool, object]:
    headers = await database_sync_to_async(world.headers)(user)
    return await SimClient.open(f"/ws/simulations/{simulation_id}/", headers)


async def refusal(world: SimWorld, simulation_id: int, user) -> int:
    """The close code of `user`'s socket on the simulation (the server accepts, says why, closes)."""
    headers = await database_sync_to_async(world.headers)(user)
    code, frame = await SimClient.refusal(f"/ws/simulations/{simulation_id}/", headers)
    assert frame["type"] == "error" and frame["code"] == code
    return code


def stored_simulation(simulation_id: int) -> Simulation:
    """The row with its stored inputs log read (sync: DB)."""
    row = Simulation.objects.get(pk=simulation_id)
    row.inputs  # noqa: B018  (read now, in this thread)
    return row


async def simulation_row(simulation_id: int) -> Simulation:
    return await database_sync_to_async(stored_simulation)(simulation_id)


def started_id(client: SimClient) -> int:
    return next(f["simulation"] for f in client.frames if f["type"] == "started")


# ---- start, connect, permissions --------------------------------------------------------------


async def test_start_creates_the_users_simulation_and_sends_the_initial_state(sim_world):
    client = await start(sim_world)

    snapshot = client.snapshot
    assert snapshot["status"] == "running"
    assert "_composer_init" in snapshot["configuration"]
    assert snapshot["time"] == 0.0
    assert [r["type"] for r in client.records][:1] == ["start"]
    assert snapshot["seq"] == client.records[-1]["seq"]
    assert snapshot["interactions"]["006502A8E4B1C002"]["voice"]["ani"] == "5551234"
    assert [e["name"] for e in snapshot["external_queue"]] == ["interaction.added", "interaction.onrouterequest"]
    row = await simulation_row(started_id(client))
    assert (row.owner_id, row.version_id, row.inputs) == (sim_world.owner.pk, sim_world.version.pk, [])
    await client.close()


async def test_it_refuses_anonymous_sockets(sim_world):
    code, frame = await SimClient.refusal("/ws/simulations/", await database_sync_to_async(sim_world.headers)(None))

    assert code == 4401 and frame["fatal"] is True and "log in" in frame["message"]


async def test_an_outsider_cannot_start_a_simulation_of_a_version_they_cannot_view(sim_world):
    headers = await database_sync_to_async(sim_world.headers)(sim_world.outsider)
    client, _, _ = await SimClient.open("/ws/simulations/", headers)
    await client.receive()

    answer = await client.request("start", expect="started", version=sim_world.version.pk)

    assert answer["type"] == "error"
    assert f"no version {sim_world.version.pk}" in answer["message"]
    assert await database_sync_to_async(Simulation.objects.count)() == 0
    await client.close()


async def test_an_outsider_cannot_open_someone_elses_simulation(sim_world):
    owner = await start(sim_world)

    assert await refusal(sim_world, started_id(owner), sim_world.outsider) == 4404
    await owner.close()


async def test_a_teammate_cannot_open_a_simulation_that_is_not_shared(sim_world):
    owner = await start(sim_world)

    assert await refusal(sim_world, started_id(owner), sim_world.teammate) == 4403
    await owner.close()


async def test_a_teammate_watches_a_shared_simulation_live_and_read_only(sim_world):
    owner = await start(sim_world)
    assert (await owner.request("share", expect="shared", shared=True))["shared"] is True
    watcher, connected, _ = await open_simulation(sim_world, started_id(owner), sim_world.teammate)
    assert connected
    hello = await watcher.until("hello")
    assert (hello["role"], hello["readonly"]) == ("watcher", True)
    await watcher.until("snapshot")

    stepped = await owner.step()
    seen = await watcher.until("snapshot", seq=stepped["seq"])
    refused = await watcher.request("step", unit="macrostep")

    assert seen["configuration"] == stepped["configuration"]
    assert watcher.records == owner.records
    assert refused["type"] == "error" and "read-only" in refused["message"]
    assert (await owner.step())["seq"] > stepped["seq"]  # the owner's simulation carries on
    await watcher.close()
    await owner.close()


async def test_an_unknown_simulation_is_refused(sim_world):
    assert await refusal(sim_world, 999999, sim_world.owner) == 4404


async def test_opening_a_stored_simulation_calls_the_database_thread_twice(sim_world, monkeypatch):
    # The session's user, then the access check and the stored log together (the quota is
    # claimed before, in between before).
    owner = await start(sim_world)
    simulation_id = started_id(owner)
    await owner.step()
    await owner.close()
    headers = await database_sync_to_async(sim_world.headers)(sim_world.owner)
    calls = []
    handler = DatabaseSyncToAsync.thread_handler

    def counted(self, *args, **kwargs):
        calls.append(getattr(self.func, "__qualname__", repr(self.func)))
        return handler(self, *args, **kwargs)

    monkeypatch.setattr(DatabaseSyncToAsync, "thread_handler", counted)
    client, connected, _ = await SimClient.open(f"/ws/simulations/{simulation_id}/", headers)
    assert connected
    snapshot = await client.until("snapshot")

    assert len(calls) == 2, calls
    assert snapshot["seq"] == owner.records[-1]["seq"]  # rebuilt from the stored log
    await client.close()


@pytest.mark.embedded  # PostgreSQL's connections come from a pool
async def test_handshakes_open_no_sqlite_connection_on_the_database_thread(sim_world, monkeypatch):
    # Under Daphne, Channels closes old connections around each call of its database thread;
    # its test communicator skips that (a no-op while it waits), so it is put back here.
    monkeypatch.setattr(channels.testing.application, "no_op", close_old_connections)
    owner = await start(sim_world)
    simulation_id = started_id(owner)
    await owner.close()
    headers = await database_sync_to_async(sim_world.headers)(sim_world.owner)
    database_thread = await database_sync_to_async(threading.get_ident)()
    opened = []

    def count(sender, connection, **kwargs):
        opened.append(threading.get_ident())

    connection_created.connect(count)
    try:
        for _ in range(2):  # the session's user, the access check and the stored log, twice
            client, connected, _ = await SimClient.open(f"/ws/simulations/{simulation_id}/", headers)
            assert connected
            await client.until("snapshot")
            await client.close()
    finally:
        connection_created.disconnect(count)

    assert opened.count(database_thread) == 0  # 4 when each call opened one


async def test_a_user_over_the_quota_is_refused_before_the_simulation_is_looked_up(sim_world, settings):
    settings.SIMULATION_MAX_OPEN_PER_USER = 1
    assert await refusal(sim_world, 999999, sim_world.owner) == 4404  # claimed, refused, released
    owner = await start(sim_world)  # so there is room for this one

    assert await refusal(sim_world, 999999, sim_world.owner) == 4429
    await owner.close()


# ---- stepping ---------------------------------------------------------------------------------


async def test_step_units_micro_macro_and_next_timer_move_the_simulation(sim_world):
    client = await start(sim_world)
    first = client.snapshot["seq"]

    micro = await client.step("microstep")
    macro = await client.step("macrostep")
    timer_wait = await client.step_until(lambda s: s["next_timer"] is not None)
    timed = await client.step("next-timer")

    assert first < micro["seq"] < macro["seq"]
    trace_types = {r["type"] for r in client.records}
    assert {"macrostep", "microstep"} <= trace_types
    assert timed["time"] >= timer_wait["next_timer"] > 0
    assert any(r["type"] == "clock" for r in client.records)
    assert [r["seq"] for r in client.records] == list(range(1, client.records[-1]["seq"] + 1))
    await client.close()


async def test_a_manual_submit_is_answered_with_a_chosen_agent_and_the_call_is_routed_there(sim_world):
    client = await start(sim_world, fakes="fakes/manual-submit.json")
    waiting = await client.step_until(lambda s: pending(s, "queue", "submit"))
    idle = await client.step()
    request = pending(waiting, "queue", "submit")[0]
    done = {
        "name": "queue.submit.done",
        "data": {"targetselected": "4242@SW2.DN", "resource": {"type": "A", "dn": "4242", "agent": "Sales42"}},
    }

    answered = await client.request("respond", request=request["id"], events=[done])
    final = await client.step_until(lambda s: s["status"] == "final")

    assert request["attributes"]["route"] is True and request["line"]
    assert idle["idle"] is True and idle["seq"] == waiting["seq"]
    assert answered["type"] == "delta" and answered["pending"] == []
    assert final["outcome"] == {"status": "routed", "target": "4242@SW2.DN", "via": "queue:submit"}
    assert final["final_state"] == "_composer_global_exit"
    await client.close()


async def test_a_hangup_injected_during_the_dialog_takes_the_hangup_path(sim_world):
    client = await start(sim_world)
    await client.step_until(lambda s: pending(s, "dialog", "start"))

    injected = await client.request("inject", kind="hangup")
    final = await client.step_until(lambda s: s["status"] == "final")

    assert [e["name"] for e in injected["external_queue"]][:2] == ["error.dialog.start", "interaction.deleted"]
    assert final["outcome"] == {"status": "abandoned"}
    assert final["interactions"] == {}
    assert not any(r["module"] == "queue" for r in final["requests"])
    assert HANGUP_PATH_STATE in entered(client.records)
    await client.close()


async def test_inject_delivers_party_changes_udata_changes_and_custom_events(sim_world):
    client = await start(sim_world)

    party = await client.request("inject", kind="party_changed", focusdeviceid="7777")
    udata = await client.request("inject", kind="udata_changed", data={"Segment": "Gold"})
    custom = await client.request("inject", kind="event", event="custom.ping", data={"n": 1})
    later = await client.request("inject", kind="event", event="custom.later", delay=5)

    names = [e["name"] for e in custom["external_queue"]]
    assert "interaction.partystatechanged" in [e["name"] for e in party["external_queue"]]
    # the object model changes when the session processes the event reporting the change (ORS)
    assert "Segment" not in udata["interactions"]["006502A8E4B1C002"]["udata"]
    assert names[-3:] == ["interaction.partystatechanged", "interaction.udata.changed", "custom.ping"]
    assert custom["external_queue"][-1]["data"] == {"n": 1}
    assert later["next_timer"] == 5.0
    processed = await client.step_until(lambda s: "interaction.udata.changed" not in str(s["external_queue"]))
    assert processed["interactions"]["006502A8E4B1C002"]["udata"]["Segment"] == "Gold"
    await client.close()


async def test_set_fakes_changes_the_answers_of_later_requests(sim_world):
    client = await start(sim_world)
    agent = {"agent": "Live7", "place": "P7", "dn": "7777", "switch": "SW7", "statserver": "SS"}

    answer = await client.request("set_fakes", fakes={"queue": {"agent": agent}})
    final = await client.step_until(lambda s: s["status"] == "final")

    assert answer["fakes"] == {"queue": {"agent": agent}}
    assert final["outcome"]["target"] == "7777@SW7.DN"
    await client.close()


async def test_advance_moves_the_virtual_clock_and_fires_due_timers(sim_world):
    client = await start(sim_world)
    await client.step_until(lambda s: pending(s, "queue", "submit"))

    moved = await client.request("advance", seconds=30)

    assert moved["time"] == pytest.approx(client.records[-1]["time"]) and moved["time"] >= 30
    assert not pending(moved, "queue", "submit")
    await client.close()


# ---- run, pause, breakpoints -------------------------------------------------------------------


async def test_run_goes_as_fast_as_possible_to_the_end(sim_world):
    client = await start(sim_world)

    assert (await client.request("run", expect="running"))["type"] == "running"
    stopped = await client.until("paused")

    assert stopped["reason"] == "finished"
    assert client.snapshot["status"] == "final"
    assert client.snapshot["outcome"]["status"] == "routed"
    await client.close()


async def test_a_run_stops_at_a_breakpoint_on_an_extension_action_and_on_a_state(sim_world):
    client = await start(sim_world)
    bp = await client.request(
        "set_breakpoints",
        expect="breakpoints",
        breakpoints={"actions": ["queue:submit"], "entered": ["MainWorkflow.playMain"]},
    )
    await client.request("run", expect="running")
    first = await client.until("paused")
    await client.request("run", expect="running")
    second = await client.until("paused")

    assert bp["breakpoints"]["actions"] == ["queue:submit"]
    assert first["reason"] == "breakpoint" and first["hits"][0]["value"] == "MainWorkflow.playMain"
    assert second["reason"] == "breakpoint" and second["hits"][0]["kind"] == "actions"
    # an action breakpoint stops before the request is sent (test_break_before_request.py)
    assert second["hits"][0]["before"] is True and not pending(client.snapshot, "queue", "submit")
    await client.close()


async def test_pause_interrupts_a_paced_run(sim_world):
    client = await start(sim_world)
    # 1/1000 of the wall clock: the first timer (a second of virtual time) is far away.
    await client.request("run", expect="running", speed=0.001)
    await client.until("snapshot", running=True)

    answer = await client.request("pause", expect="snapshot")
    stopped = next(f for f in reversed(client.frames) if f["type"] == "paused")

    assert stopped["reason"] == "pause"
    assert answer["running"] is False and answer["status"] == "running"
    assert (await client.step())["seq"] >= answer["seq"]  # the simulation is still usable
    await client.close()


# ---- rewind, restart, reconnect ----------------------------------------------------------------


async def test_rewind_goes_back_to_the_same_state_and_stepping_again_gives_the_same_trace(sim_world):
    client = await start(sim_world)
    snapshots = [await client.step() for _ in range(8)]
    records = list(client.records)

    back = await client.request("rewind", seq=snapshots[4]["seq"])
    again = [await client.step() for _ in range(3)]

    assert {k: v for k, v in back.items() if k not in ("type", "reply_to", "running")} == {
        k: v for k, v in snapshots[4].items() if k not in ("type", "reply_to", "running")
    }
    assert client.records == records[: len(client.records)]
    assert [s["configuration"] for s in again] == [s["configuration"] for s in snapshots[5:8]]
    assert again[-1]["seq"] == snapshots[7]["seq"]
    await client.close()


async def test_restart_starts_over_and_start_changes_the_recipe(sim_world):
    client = await start(sim_world)
    await client.step_until(lambda s: pending(s, "session", "fetch"))

    restarted = await client.request("restart")
    changed = await client.request("start", fakes={"interaction": {"ani": "5550000"}}, seed=3)

    assert restarted["inputs"] == 0 and restarted["time"] == 0.0
    assert changed["interactions"]["006502A8E4B1C002"]["voice"]["ani"] == "5550000"
    assert changed["seed"] == 3
    row = await simulation_row(started_id(client))
    assert (row.fakes, row.seed, row.inputs) == ({"interaction": {"ani": "5550000"}}, 3, [])
    await client.close()


async def test_a_reconnect_resumes_the_simulation_by_replay(sim_world):
    client = await start(sim_world, fakes="fakes/manual-submit.json")
    waiting = await client.step_until(lambda s: pending(s, "queue", "submit"))
    records = list(client.records)
    await client.close()  # saves the inputs log; the live runtime is dropped

    again, connected, _ = await open_simulation(sim_world, started_id(client), sim_world.owner)
    resumed = await again.until("snapshot")

    assert connected
    assert again.records == records
    assert {k: v for k, v in resumed.items() if k not in ("type", "reply_to", "running")} == {
        k: v for k, v in waiting.items() if k not in ("type", "reply_to", "running")
    }
    await again.close()


async def test_a_socket_that_cannot_leave_its_groups_still_saves_and_releases_its_claim(sim_world, monkeypatch):
    client = await start(sim_world, fakes="fakes/manual-submit.json")
    waiting = await client.step_until(lambda s: pending(s, "queue", "submit"))
    records = list(client.records)

    async def unreachable(group: str, channel: str) -> None:
        raise ConnectionError("the channel layer is gone")

    monkeypatch.setattr(get_channel_layer(), "group_discard", unreachable)
    await client.close()
    monkeypatch.undo()

    # the claim is gone: with a quota of one, the owner may open a simulation again
    await quotas().claim(sim_world.owner.pk, None, "probe", 1)
    # and the last save ran: a reopen replays to the same state
    again, connected, _ = await open_simulation(sim_world, started_id(client), sim_world.owner)
    resumed = await again.until("snapshot")
    assert connected and again.records == records
    assert resumed["configuration"] == waiting["configuration"]
    await again.close()


# ---- bad messages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"hello": 1}, '"action" field'),
        ({"action": "fly"}, "unknown action"),
        ({"action": "step", "unit": "century"}, "step unit"),
        ({"action": "inject", "kind": "earthquake"}, "inject kind"),
        ({"action": "inject", "kind": "event"}, "inject event"),
        ({"action": "respond", "request": "REQ99999", "events": [{"name": "x"}]}, "no request"),
        ({"action": "respond", "request": "REQ00001", "events": []}, "respond needs events"),
        ({"action": "set_fakes", "fakes": {"queue": {"delay": "soon"}}}, "queue.delay"),
        ({"action": "advance", "seconds": -1}, "advance seconds"),
        ({"action": "run", "speed": "fast"}, "run speed"),
        ({"action": "set_breakpoints", "breakpoints": {"moons": ["x"]}}, "unknown breakpoint kinds"),
        ({"action": "rewind", "seq": "yesterday"}, "rewind needs seq"),
        ({"action": "start", "fakes": "fakes/broken.json"}, "queue.delay"),
        ({"action": "start", "fakes": "fakes/missing.json"}, "no fakes profile"),
    ],
)
async def test_a_bad_message_gets_an_error_frame_and_the_simulation_carries_on(sim_world, message, problem):
    client = await start(sim_world)
    before = client.snapshot["seq"]

    answer = await client.request(message.pop("action", None) or "", **message) if "action" in message else None
    if answer is None:
        await client.communicator.send_json_to(message)
        answer = await client.until("error")

    assert answer["type"] == "error"
    assert problem in answer["message"]
    assert (await client.step())["seq"] > before
    await client.close()


async def test_text_that_is_not_json_gets_an_error_frame(sim_world):
    client = await start(sim_world)

    await client.communicator.send_to(text_data="{step")
    answer = await client.until("error")

    assert answer["message"].startswith("not JSON")
    assert (await client.step())["type"] == "delta"
    await client.close()


async def test_actions_before_start_are_refused_with_a_clear_message(sim_world):
    headers = await database_sync_to_async(sim_world.headers)(sim_world.owner)
    client, _, _ = await SimClient.open("/ws/simulations/", headers)
    await client.receive()

    answer = await client.request("step", unit="macrostep")
    bad_start = await client.request("start", expect="started", version="v1")

    assert answer["type"] == "error" and "send start" in answer["message"]
    assert bad_start["type"] == "error" and "start needs version" in bad_start["message"]
    await client.close()


async def test_a_watcher_may_ask_for_a_snapshot(sim_world):
    owner = await start(sim_world)
    await owner.request("share", expect="shared", shared=True)
    watcher, _, _ = await open_simulation(sim_world, started_id(owner), sim_world.teammate)
    await watcher.until("snapshot")

    answer = await watcher.request("snapshot")

    assert answer["type"] == "snapshot" and answer["seq"] == owner.snapshot["seq"]
    await watcher.close()
    await owner.close()


async def test_a_paced_run_reaches_the_end_on_the_virtual_clock(sim_world):
    client = await start(sim_world)

    # 10,000 virtual seconds per wall second: the 3.25 virtual seconds of the path pass at once.
    await client.request("run", expect="running", speed=10_000)
    stopped = await client.until("paused")

    assert stopped["reason"] == "finished"
    assert client.snapshot["outcome"]["status"] == "routed"
    assert client.snapshot["time"] == pytest.approx(3.25)
    await client.close()


async def test_a_hostile_simulation_does_not_hold_up_the_others(sim_world, hostile_version):
    hostile = await start(sim_world, version_override=hostile_version.pk)
    normal = await start(sim_world)

    # The hostile step spins in JavaScript until the datamodel's time limit stops it.
    await hostile.communicator.send_json_to({"action": "step", "unit": "macrostep", "id": "slow"})
    fast = await normal.step()
    hostile_still_busy = await hostile.communicator.receive_nothing(timeout=0)
    slow = await hostile.until("snapshot", reply_to="slow")

    assert fast["seq"] > 0
    assert hostile_still_busy  # the other simulation was served while the hostile one spun
    errors = [r for r in hostile.records if r["type"] == "error"]
    assert [(e["event"], e["line"]) for e in errors] == [("error.script.InternalError", 4)]
    assert "time limit" in errors[0]["message"]
    assert slow["final_state"] == "stopped"  # the strategy caught the error and went on
    await hostile.close()
    await normal.close()


async def test_breakpoints_are_kept_with_the_simulation_across_reconnects(sim_world):
    client = await start(sim_world)
    wanted = {"entered": ["MainWorkflow.playMain"], "actions": ["queue:submit"]}
    await client.request("set_breakpoints", expect="breakpoints", breakpoints=wanted)
    await client.close()

    again, _, _ = await open_simulation(sim_world, started_id(client), sim_world.owner)
    snapshot = await again.until("snapshot")

    assert snapshot["breakpoints"] == {**{k: [] for k in ("exited", "transitions", "events")}, **wanted}
    await again.close()
