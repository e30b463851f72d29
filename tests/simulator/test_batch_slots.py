"""Batch slots of one process (simulator.batches.Slots): at most `total` runs at once, at most
`per_user` of one user's, so a user who started first cannot hold every slot while another
user's batch waits."""

from __future__ import annotations

import threading
from collections.abc import Callable

from simulator.batches import Slots

TIMEOUT = 30  # for a thread to get going on the shared machine; never a verdict on speed

ALICE, BOB = 1, 2


class Runner:
    """A thread holding a slot for one run until released."""

    def __init__(self, slots: Slots, run_id: int, user_id: int) -> None:
        self.inside = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(slots, run_id, user_id), daemon=True)
        self.thread.start()

    def _run(self, slots: Slots, run_id: int, user_id: int) -> None:
        with slots.hold(run_id, user_id):
            self.inside.set()
            self.release.wait(TIMEOUT)

    def finish(self) -> None:
        self.release.set()
        self.thread.join(TIMEOUT)


def waiting_for(slots: Slots, run_id: int) -> Callable[[], bool]:
    return lambda: any(run == run_id for run, _ in slots.waiting)


def until(condition: Callable[[], bool], slots: Slots) -> None:
    with slots.changed:
        assert slots.changed.wait_for(condition, TIMEOUT)


def test_a_later_batch_of_another_user_starts_before_the_second_batch_of_the_first():
    slots = Slots(total=2, per_user=1)
    alice_first = Runner(slots, 1, ALICE)
    assert alice_first.inside.wait(TIMEOUT)
    alice_second = Runner(slots, 2, ALICE)
    until(waiting_for(slots, 2), slots)

    bob = Runner(slots, 3, BOB)

    assert bob.inside.wait(TIMEOUT)
    assert not alice_second.inside.is_set()  # Alice already holds her share
    alice_first.finish()
    assert alice_second.inside.wait(TIMEOUT)
    for runner in (alice_second, bob):
        runner.finish()


def test_no_more_than_the_total_run_at_once_and_waiting_runs_start_in_order():
    slots = Slots(total=1, per_user=1)
    first = Runner(slots, 1, ALICE)
    assert first.inside.wait(TIMEOUT)
    second = Runner(slots, 2, BOB)
    until(waiting_for(slots, 2), slots)
    third = Runner(slots, 3, ALICE)
    until(waiting_for(slots, 3), slots)

    first.finish()

    assert second.inside.wait(TIMEOUT)
    assert not third.inside.is_set()
    second.finish()
    assert third.inside.wait(TIMEOUT)
    third.finish()
    assert slots.running == {ALICE: 0, BOB: 0} and slots.waiting == []
