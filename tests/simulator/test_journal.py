"""The journal's group commit: a transaction waits a bounded moment after its first write for
others to share it (simulator/persistence.py, `Journal._gather`). The commit itself is replaced
by a recorder: what is checked is which writes share a transaction, and how long the journal
waits, not the database (tests/simulator/test_durability.py stores for real)."""

from __future__ import annotations

import asyncio
import gc
import queue
import threading
import weakref

import pytest

from simulator import persistence
from simulator.persistence import Journal, LogWrite


class RecordingQueue(queue.SimpleQueue):
    """The journal's queue, recording the timeout of every blocking `get`."""

    def __init__(self) -> None:
        self.timeouts: list[float | None] = []

    def get(self, block: bool = True, timeout: float | None = None) -> LogWrite | None:
        self.timeouts.append(timeout)
        return super().get(block, timeout)


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The simulation ids of each transaction's writes, in commit order (every write wins)."""
    committed: list[list[int]] = []

    def recording_commit(writes: list[LogWrite]) -> list[int | None]:
        committed.append([write.simulation_id for write in writes])
        return [write.base + 1 for write in writes]

    monkeypatch.setattr(persistence, "commit", recording_commit)
    return committed


def journal(seconds: float, writes: int) -> Journal:
    """A journal of its own (not the process's) with these bounds; its queue records its waits
    (until `stop`, which gives it a new queue)."""
    writer = Journal()
    writer.GATHER_SECONDS, writer.GATHER_WRITES = seconds, writes
    writer.queue = RecordingQueue()
    return writer


def write(simulation_id: int) -> LogWrite:
    return LogWrite(simulation_id, 1, 0, False, [{"op": "advance", "seconds": 1, "seq": 0}], {}, 0)


async def taken(writer: Journal) -> None:
    """Until the journal's thread has taken what was queued (the writing tasks have run first)."""
    for _ in range(2000):
        await asyncio.sleep(0)
        if writer.thread is not None and writer.queue.empty():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the journal did not take its write")


async def test_writes_that_arrive_while_the_first_waits_share_its_transaction(batches):
    writer = journal(seconds=60, writes=3)  # the third write ends the wait, not the minute
    first = asyncio.ensure_future(writer.write(write(1)))
    await taken(writer)  # the journal holds the first write, waiting for company
    revisions = await asyncio.gather(first, writer.write(write(2)), writer.write(write(3)))
    await asyncio.to_thread(writer.stop)

    assert revisions == [2, 2, 2]
    assert batches == [[1, 2, 3]]


async def test_a_lone_write_waits_for_company_no_longer_than_the_gather_time(batches):
    writer = journal(seconds=0.05, writes=4)
    recorded = writer.queue
    assert await writer.write(write(1)) == 2  # nothing else comes: committed alone all the same
    await asyncio.to_thread(writer.stop)

    waits = [timeout for timeout in recorded.timeouts if timeout != writer.IDLE_CLOSE]
    assert batches == [[1]]
    assert waits and all(timeout is not None and 0 < timeout <= 0.05 for timeout in waits), waits


async def test_the_writes_queued_during_a_commit_all_share_the_next_one_whatever_their_number(batches, monkeypatch):
    """GATHER_WRITES ends the wait for more writes; it does not split the writes already queued."""
    gate = threading.Event()
    recording_commit = persistence.commit

    def held_commit(writes: list[LogWrite]) -> list[int | None]:
        assert gate.wait(30)
        return recording_commit(writes)

    monkeypatch.setattr(persistence, "commit", held_commit)
    writer = journal(seconds=0, writes=2)
    first = asyncio.ensure_future(writer.write(write(1)))
    await taken(writer)  # its commit is held
    rest = [asyncio.ensure_future(writer.write(write(n))) for n in range(2, 8)]
    await asyncio.sleep(0)  # the six are queued
    gate.set()
    await asyncio.gather(first, *rest)
    await asyncio.to_thread(writer.stop)

    assert batches == [[1], [2, 3, 4, 5, 6, 7]]


async def test_a_journal_told_to_stop_commits_its_waiting_write_without_waiting_out_the_gather_time(batches):
    writer = journal(seconds=60, writes=4)
    waiting = asyncio.ensure_future(writer.write(write(1)))
    await taken(writer)
    thread = writer.thread
    await asyncio.to_thread(writer.stop, 30)

    assert thread is not None and not thread.is_alive()
    assert await waiting == 2 and batches == [[1]]


async def test_a_handed_over_write_is_freed_with_its_outcome_without_the_garbage_collector(batches):
    """The future of a handed-over write gets `(write, outcome)`: a write still holding that
    future would be a reference cycle (the write, its frames and operations) left to the
    collector after every step, whose collections hold every socket of the process."""
    writer = journal(seconds=0, writes=1)
    handed = write(1)
    handed.future, handed.handed, handed.frames = asyncio.get_running_loop().create_future(), True, [{"seq": 0}]
    future, gone = handed.future, weakref.ref(handed)
    gc.disable()
    try:
        writer.put(handed)
        del handed
        done, outcome = await future
        assert outcome == 2 and done.frames == [{"seq": 0}]
        del done, future
        await asyncio.to_thread(writer.stop)  # its thread's last batch let go
        assert gone() is None  # freed by reference counting alone, with its frames
    finally:
        gc.enable()
