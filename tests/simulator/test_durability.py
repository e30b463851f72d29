"""An operation is stored before its frame is sent; the stored log orders the operations of
processes sharing a simulation (compare-and-set of its revision). In one process, with another
process played by writes straight to the database; tests/simulator/test_durability_scaled.py runs
real processes."""

from __future__ import annotations

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import DatabaseError, connection

from simulator import persistence
from simulator.access import group_name
from simulator.models import Simulation
from simulator.persistence import LogWrite, commit, journal, load_stored

from .test_consumer import start, started_id, stored_simulation

pytestmark = pytest.mark.django_db(transaction=True)


def another_process_advances(simulation_id: int, seconds: float) -> int:
    """Append an `advance` as another process would (its seq stamp is not checked on replay): the
    new revision."""
    stored, _ = load_stored(simulation_id)
    op = {"op": "advance", "seconds": seconds, "seq": 0}
    write = LogWrite(simulation_id, stored.revision, stored.length, False, [op], stored.fakes, stored.seed)
    (revision,) = commit([write])
    assert revision == stored.revision + 1
    return revision


async def test_an_operation_is_stored_when_its_frame_arrives(sim_world):
    owner = await start(sim_world)
    stepped = await owner.step()
    row = await database_sync_to_async(stored_simulation)(started_id(owner))

    assert [op["seq"] for op in row.inputs] == stepped["op_seqs"] == [stepped["seq"]]
    await owner.close()


async def test_a_stopped_journal_has_committed_what_was_queued_and_the_next_write_starts_it_again(sim_world):
    owner = await start(sim_world)
    await owner.step()
    writer = journal().thread
    assert writer is not None and writer.is_alive()
    await asyncio.to_thread(journal().stop)  # as at a process's exit, or before the test database goes
    assert not writer.is_alive() and journal().thread is None
    stepped = await owner.step()
    row = await database_sync_to_async(stored_simulation)(started_id(owner))
    assert [op["seq"] for op in row.inputs][-1] == stepped["seq"] and len(row.inputs) == 2
    assert journal().thread is not None and journal().thread is not writer
    await owner.close()


async def test_a_rewind_truncates_the_stored_log_and_later_steps_append_to_it(sim_world):
    owner = await start(sim_world)
    kept = await owner.step()
    for _ in range(3):
        await owner.step()
    await owner.request("rewind", seq=kept["seq"])
    again = await owner.step()
    row = await database_sync_to_async(stored_simulation)(started_id(owner))

    assert [op["seq"] for op in row.inputs] == again["op_seqs"]
    assert (len(row.inputs), row.log_length) == (2, 2)
    await owner.close()


async def test_an_operation_on_a_state_another_process_changed_is_refused_with_the_stored_state(sim_world):
    owner = await start(sim_world)
    await owner.step()
    simulation_id = started_id(owner)
    await database_sync_to_async(another_process_advances)(simulation_id, 60)

    refused = await owner.request("step", unit="macrostep")
    current = owner.snapshot  # the stored state came with the refusal
    row = await database_sync_to_async(stored_simulation)(simulation_id)

    assert refused["type"] == "error" and "changed at the same time from another window" in refused["message"]
    assert (current["step"], current["time"], row.log_length) == (2, 60.0, 2)
    assert (await owner.request("advance", seconds=1))["step"] == 3  # the next one applies on the stored state
    await owner.close()


async def test_a_change_another_process_stored_reaches_the_socket(sim_world):
    owner = await start(sim_world)
    await owner.step()
    simulation_id = started_id(owner)
    revision = await database_sync_to_async(another_process_advances)(simulation_id, 30)

    await get_channel_layer().group_send(
        group_name(simulation_id), {"type": "simulation.changed", "revision": revision, "process": "elsewhere"}
    )
    caught_up = await owner.until("snapshot", step=2)

    assert caught_up["time"] == 30.0
    assert (await owner.request("advance", seconds=1))["step"] == 3
    row = await database_sync_to_async(Simulation.objects.get)(pk=simulation_id)
    assert row.log_length == 3
    await owner.close()


def commit_a_batch(ids: list[int], converted: list) -> tuple[list[int | None], list[tuple[int, int, list]], list]:
    """Three writes in one transaction: an append, a truncation with a new recipe, a stale one;
    and the statements Django's SQLite cursor converted meanwhile."""
    (a, _), (b, _) = (load_stored(i) for i in ids)
    converted.clear()
    op = {"op": "advance", "seconds": 1.5, "seq": 0}
    writes = [
        LogWrite(ids[0], a.revision, a.length, False, [op, {**op, "seconds": 2}], a.fakes, a.seed),
        LogWrite(ids[1], b.revision, 0, b.length > 0, [op], {"lists": {}}, 9, "{}", recipe=True),
        LogWrite(ids[0], a.revision - 1, 0, False, [op], a.fakes, a.seed),  # lost: stale base
    ]
    results = commit(writes)
    during = list(converted)
    rows = [(r.revision, r.log_length, [o.get("seconds") for o in r.inputs]) for r in map(stored_simulation, ids)]
    return results, rows, during


async def test_a_batch_is_stored_with_named_parameters(sim_world, monkeypatch):
    # Django's SQLite cursor converts positional placeholders with a regular expression (~34 k
    # instructions a statement); the journal's are named, converted by one `%` formatting.
    from django.db.backends.sqlite3 import base

    converted = []
    regex = base.FORMAT_QMARK_REGEX
    monkeypatch.setattr(
        base,
        "FORMAT_QMARK_REGEX",
        type("Counted", (), {"sub": lambda self, *a: converted.append(a) or regex.sub(*a)})(),
    )
    owners = [await start(sim_world) for _ in range(2)]
    for owner in owners:
        await owner.step()
    ids = [started_id(owner) for owner in owners]
    before = [await database_sync_to_async(stored_simulation)(i) for i in ids]
    results, rows, during = await database_sync_to_async(commit_a_batch)(ids, converted)
    assert results == [before[0].revision + 1, before[1].revision + 1, None]
    assert rows == [
        (before[0].revision + 1, len(before[0].inputs) + 2, [None, 1.5, 2]),
        (before[1].revision + 1, 1, [1.5]),
    ]
    assert (await database_sync_to_async(Simulation.objects.values("fakes", "seed").get)(pk=ids[1])) == {
        "fakes": {"lists": {}},
        "seed": 9,
    }
    if connection.vendor == "sqlite":  # only the ORM's update of the recipe went through the expression
        assert [text[:40] for _, text in during] == ['UPDATE "simulator_simulation" SET "fakes']
    for owner in owners:
        await owner.close()


async def test_a_steps_worker_queues_its_write_and_its_frame_waits_for_the_commit(sim_world, monkeypatch):
    """The worker that applied a step hands its write to the journal itself (no trip through the
    event loop between them); the step's frame still leaves only once the write is committed."""
    owner = await start(sim_world)
    await owner.step()
    simulation_id = started_id(owner)
    queued_by: list[str] = []
    put = persistence.Journal.put

    def recording_put(self, write):
        queued_by.append(threading.current_thread().name)
        put(self, write)

    gate = threading.Event()

    def held_commit(writes):
        assert gate.wait(30)
        return commit(writes)

    monkeypatch.setattr(persistence.Journal, "put", recording_put)
    monkeypatch.setattr(persistence, "commit", held_commit)
    await owner.communicator.send_json_to({"action": "step", "unit": "macrostep", "id": "held"})
    for _ in range(200):  # the write is queued, its commit held
        if queued_by:
            break
        await asyncio.sleep(0.01)
    assert await owner.communicator.receive_nothing(timeout=0.3)  # no frame before the commit
    row = await database_sync_to_async(stored_simulation)(simulation_id)
    assert len(row.inputs) == 1

    gate.set()
    stepped = await owner.until_reply("held")
    row = await database_sync_to_async(stored_simulation)(simulation_id)

    assert queued_by and queued_by[0].startswith("simulation-"), queued_by
    assert [op["seq"] for op in row.inputs][-1] == stepped["seq"] and len(row.inputs) == 2
    await owner.close()


async def test_a_handed_over_write_the_database_refused_is_kept_told_and_saved_later(sim_world, monkeypatch):
    """The journal's error for a write a worker queued reaches the socket as `save` tells it
    (the unsaved operations), and the store retries until it is stored."""
    owner = await start(sim_world)
    await owner.step()
    simulation_id = started_id(owner)
    failures = [DatabaseError("the database is away")]

    def failing_commit(writes):
        if failures:
            raise failures.pop()
        return commit(writes)

    monkeypatch.setattr(persistence, "commit", failing_commit)
    monkeypatch.setattr(persistence, "RETRY_FIRST", 0.05)
    await owner.communicator.send_json_to({"action": "step", "unit": "macrostep", "id": "down"})
    told = await owner.until("error")
    stepped = await owner.until_reply("down")

    assert told["unsaved"] == 1 and "not saved yet" in told["message"]
    async with asyncio.timeout(30):
        while True:
            row = await database_sync_to_async(stored_simulation)(simulation_id)
            if len(row.inputs) == 2:
                break
            await asyncio.sleep(0.05)
    assert row.inputs[-1]["seq"] == stepped["seq"]
    await owner.close()
