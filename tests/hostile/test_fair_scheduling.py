"""One user's slow simulations do not delay another user's steps (issue 11): the simulation
worker pool serves per-user queues in turn, at most `SIMULATION_WORKERS_PER_USER` jobs of one
user at once, and keeps the jobs of one simulation in order, one at a time.

The assertions are about order (whose job was served first), never about wall-clock figures.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from designer import history
from designer.models import Project, Version
from simulator import sessions
from simulator.scheduling import HANDED_OVER, FairPool
from tests.simulator.client import SimClient
from tests.simulator.conftest import HOSTILE, SimWorld, build_sim_world
from tests.simulator.test_consumer import open_simulation, start, started_id


@pytest.fixture
def small_pool(settings) -> Iterator[None]:
    """A fresh pool of two workers, one job per user at a time; scripts stop after 0.5 s."""
    settings.SIMULATION_WORKERS = 2
    settings.SIMULATION_WORKERS_PER_USER = 1
    settings.JS_TIME_LIMIT_MS = 500
    saved, sessions._pool = sessions._pool, None
    try:
        yield
    finally:
        if sessions._pool is not None:
            sessions._pool.shutdown()
        sessions._pool = saved


@pytest.fixture
def sim_world(transactional_db: None, shared_dir: Path) -> SimWorld:
    return build_sim_world(shared_dir)


@pytest.fixture
def hostile_version(sim_world: SimWorld) -> Version:
    """A strategy that spins in a script until the time limit stops it, once it gets an event."""
    project = Project.objects.create(team=sim_world.project.team, name="Hostile", created_by=sim_world.owner)
    return history.create_version(
        project, {"hostile.scxml": HOSTILE}, author=sim_world.owner, message="spin", parent=None, entry="hostile.scxml"
    )


async def reply(client: SimClient, message_id: str, order: list[str]) -> dict:
    frame = await client.until_reply(message_id)
    order.append(message_id)
    return frame


@pytest.mark.django_db(transaction=True)
async def test_bob_is_served_while_alice_runs_five_slow_simulations(sim_world, small_pool, hostile_version):
    alice, bob = sim_world.owner, sim_world.teammate
    slow = [await start(sim_world, alice, version_override=hostile_version.pk) for _ in range(5)]
    quick = await start(sim_world, bob)
    order: list[str] = []

    # Each of Alice's steps spins in JavaScript until the time limit stops it.
    waits = []
    for number, client in enumerate(slow, 1):
        await client.communicator.send_json_to({"action": "step", "unit": "macrostep", "id": f"alice-{number}"})
        waits.append(asyncio.ensure_future(reply(client, f"alice-{number}", order)))
    for _ in range(1000):  # until the five jobs are in the pool (running or queued)
        if sessions.pool_load()[1] >= 5 or order:
            break
        await asyncio.sleep(0.01)
    assert not order, "an Alice step finished before Bob could ask: the test proves nothing"
    await quick.communicator.send_json_to({"action": "step", "unit": "macrostep", "id": "bob"})
    bobs = await reply(quick, "bob", order)
    alices = await asyncio.gather(*waits)

    # Bob waited for at most the one Alice job that held a worker, not for her queue.
    assert order.index("bob") <= 1, order
    assert bobs["type"] == "delta" and bobs["seq"] > quick.records[0]["seq"]
    assert all(frame["final_state"] == "stopped" for frame in alices)  # each hit the time limit
    for client in (*slow, quick):
        await client.close()


def test_one_users_jobs_never_take_more_workers_than_the_cap() -> None:
    pool = FairPool(workers=3, per_user=2)
    lock = threading.Lock()
    running = {"alice": 0, "bob": 0}
    peak = {"alice": 0, "bob": 0}
    release = threading.Event()
    bob_started = threading.Event()

    def job(user: str) -> None:
        with lock:
            running[user] += 1
            peak[user] = max(peak[user], running[user])
        if user == "bob":
            bob_started.set()
        release.wait(30)
        with lock:
            running[user] -= 1

    alice_jobs = [pool.submit(lambda: job("alice"), user="alice") for _ in range(6)]
    bob_job = pool.submit(lambda: job("bob"), user="bob")
    started = bob_started.wait(30)  # a worker was left for Bob although Alice queued six jobs
    deadline = time.monotonic() + 30  # Alice's second worker may start just after Bob's
    while time.monotonic() < deadline and running["alice"] < 2:
        time.sleep(0.01)
    release.set()
    for future in [*alice_jobs, bob_job]:
        future.result(30)
    pool.shutdown()

    assert started
    assert peak == {"alice": 2, "bob": 1}


def test_jobs_of_one_simulation_run_one_at_a_time_in_order() -> None:
    pool = FairPool(workers=4, per_user=4)
    done: list[int] = []
    inside = threading.Semaphore(1)
    overlaps: list[int] = []

    def job(number: int) -> None:
        if not inside.acquire(blocking=False):
            overlaps.append(number)
            return
        try:
            done.append(number)
            threading.Event().wait(0.001)  # give another worker the chance to overlap
        finally:
            inside.release()

    futures = [pool.submit(lambda n=n: job(n), user="alice", key="simulation-1") for n in range(40)]
    for future in futures:
        future.result(30)
    pool.shutdown()

    assert overlaps == [] and done == list(range(40))


def test_users_take_turns_when_every_worker_is_busy() -> None:
    pool = FairPool(workers=1, per_user=1)
    gate = threading.Event()
    order: list[str] = []
    first = pool.submit(gate.wait, user="alice")  # holds the only worker
    futures = [pool.submit(lambda: order.append("alice"), user="alice") for _ in range(3)]
    futures += [pool.submit(lambda name=name: order.append(name), user=name) for name in ("bob", "carol")]
    gate.set()
    for future in [first, *futures]:
        future.result(30)
    pool.shutdown()

    assert order.index("bob") <= 1 and order.index("carol") <= 2, order


@pytest.mark.django_db(transaction=True)
async def test_a_watchers_reads_are_the_watchers_jobs_not_the_owners(sim_world, small_pool, hostile_version):
    alice = sim_world.owner
    busy, waiting = [await start(sim_world, alice, version_override=hostile_version.pk) for _ in range(2)]
    shared = await start(sim_world, alice)
    await shared.request("share", expect="shared", shared=True)
    watcher, _, _ = await open_simulation(sim_world, started_id(shared), sim_world.teammate)
    await watcher.until("snapshot")
    order: list[str] = []

    # Alice's one slot is taken by a slow step and another waits for it in her queue.
    await busy.communicator.send_json_to({"action": "step", "unit": "macrostep", "id": "alice-1"})
    await waiting.communicator.send_json_to({"action": "step", "unit": "macrostep", "id": "alice-2"})
    waits = [asyncio.ensure_future(reply(c, f"alice-{n}", order)) for n, c in ((1, busy), (2, waiting))]
    for _ in range(1000):
        if sessions.pool_load()[1] >= 2 or order:
            break
        await asyncio.sleep(0.01)
    await watcher.communicator.send_json_to({"action": "eval", "expression": "1 + 1", "id": "bob"})
    answer = await watcher.until("eval", reply_to="bob")
    order.append("bob")
    await asyncio.gather(*waits)

    assert answer["value"] == 2 and answer["copy"] is True
    assert order[0] == "bob", order  # not queued behind Alice's steps
    for client in (busy, waiting, shared, watcher):
        await client.close()


async def test_a_coroutines_jobs_answer_fail_and_are_dropped_when_cancelled_while_queued() -> None:
    pool = FairPool(workers=1, per_user=1)
    gate = threading.Event()
    ran: list[str] = []

    def fail() -> None:
        raise ValueError("no")

    assert await pool.submit_async(lambda: 6 * 7, user="alice") == 42
    with pytest.raises(ValueError, match="no"):
        await pool.submit_async(fail, user="alice")
    blocker = pool.submit_async(gate.wait, user="alice")  # holds the only worker
    dropped = pool.submit_async(lambda: ran.append("dropped"), user="alice", key="simulation-1")
    kept = pool.submit_async(lambda: ran.append("kept"), user="alice", key="simulation-1")
    dropped.cancel()
    gate.set()
    await asyncio.gather(blocker, kept)
    pool.shutdown()
    # a job counts until its worker has done its bookkeeping, just after it handed the outcome over
    for _ in range(500):
        if pool.pending == 0:
            break
        await asyncio.sleep(0.01)

    assert ran == ["kept"] and pool.pending == 0  # the cancelled job was dropped, not left queued


async def test_a_job_handing_its_future_over_frees_its_key_and_is_answered_by_the_other_thread() -> None:
    """`hand_over`: the job gets its awaited future; returning HANDED_OVER leaves it to whoever
    it gave it to (the journal), and the next job of the same key runs meanwhile; any other
    return or exception is the outcome, as for other jobs."""
    pool = FairPool(workers=1, per_user=1)
    loop = asyncio.get_running_loop()
    given: list[asyncio.Future] = []

    def hand(future: asyncio.Future) -> object:
        given.append(future)
        return HANDED_OVER

    def fail(future: asyncio.Future) -> None:
        raise ValueError("no")

    handed = pool.submit_async(hand, user="alice", key="simulation-1", hand_over=True)
    after = pool.submit_async(lambda: "next", user="alice", key="simulation-1")
    assert await after == "next" and not handed.done()  # the worker left it and served the key
    assert given == [handed]
    threading.Thread(target=loop.call_soon_threadsafe, args=(handed.set_result, "committed")).start()
    assert await handed == "committed"
    assert await pool.submit_async(lambda future: [future.done()], user="alice", hand_over=True) == [False]
    with pytest.raises(ValueError, match="no"):
        await pool.submit_async(fail, user="alice", hand_over=True)
    pool.shutdown()


def test_a_job_of_a_closed_loop_leaves_the_worker_serving() -> None:
    """The loop that awaited a job is gone when it ends: its outcome is dropped, as
    `asyncio.wrap_future` dropped it, and the worker takes the next job."""
    pool = FairPool(workers=1, per_user=1)
    gate = threading.Event()

    async def submit() -> None:
        pool.submit_async(gate.wait, user="alice")

    asyncio.run(submit())  # the loop is closed when the job ends
    gate.set()
    assert pool.submit(lambda: "served", user="alice").result(30) == "served"
    pool.shutdown()
