"""Batches at scale: chunks run by a real `celery -A orchweb worker` process on the real Redis give
the report a local run with the same seed gives.

Runs in the scaled pass (REDIS_URL set); an embedded run deselects it (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchweb.celery import app
from simulator.ors.project import load_project
from simulator.runners.batch import run_batch
from simulator.tasks import CeleryExecutor
from tests.servers import RunningWorker, celery_worker

pytestmark = pytest.mark.scaled

VARY = {"queue.available": [True, False], "ani": ["5551234", "5550100", "5559999"]}


@pytest.fixture(scope="module")
def worker() -> Iterator[RunningWorker]:
    if not os.environ.get("REDIS_URL"):
        pytest.fail("the scaled run needs REDIS_URL (broker and results of the Celery workers)")
    queue = f"orchweb-test-{uuid.uuid4().hex[:8]}"  # other runs sharing the Redis never take our chunks
    with celery_worker("batch", queue, {"REDIS_URL": os.environ["REDIS_URL"]}, concurrency=2) as running:
        yield running


def comparable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "timing"}


def test_chunks_run_by_a_celery_worker_merge_into_the_report_of_a_local_run(
    worker: RunningWorker, shared_dir: Path
) -> None:
    files = load_project(shared_dir / "ors-samples" / "crd-gvp-wf")
    local = run_batch(files, 120, vary=VARY, seed=7, workers=1)

    scaled = run_batch(
        files, 120, vary=VARY, seed=7, executor=CeleryExecutor(workers=2, queue=worker.queue, timeout=300)
    )

    assert scaled["timing"]["executor"] == "celery" and scaled["timing"]["chunks"] > 1
    assert comparable(scaled) == comparable(local), worker.log_tail()
    assert scaled["count"] == 120 and sum(scaled["outcomes"].values()) == 120
    assert "simulator.batch_chunk" in worker.log_path.read_text(errors="replace")


def redelivered(log: str) -> bool:
    """Whether a chunk was received again (same task id) in this part of the worker's log."""
    received = re.findall(r"batch_chunk\[([\w-]+)\] received", log)
    return len(received) > len(set(received))


def test_a_pool_process_killed_mid_chunk_loses_no_interaction(worker: RunningWorker, shared_dir: Path) -> None:
    """acks_late + reject_on_worker_lost: the chunk of a killed process goes back to the queue
    and runs again (same task id, same seeded result); the report still equals a local run."""
    files = load_project(shared_dir / "ors-samples" / "crd-gvp-wf")
    # 400 interactions: chunks of 50, long enough to be caught running on a loaded machine
    local = run_batch(files, 400, vary=VARY, seed=11, workers=1, coverage=False)
    executor = CeleryExecutor(workers=2, queue=worker.queue, timeout=300)
    log_before = worker.log_path.read_text(errors="replace")
    killed: list[int] = []
    finished = threading.Event()

    def new_log() -> str:
        return worker.log_path.read_text(errors="replace")[len(log_before) :]

    def kill_a_process_running_a_chunk() -> None:
        """Kill the pool process the worker says runs a chunk (its `worker_pid`, set once a pool
        process took the job). A chunk may end between the answer and the kill: nothing is lost
        then, and the next running chunk is killed, until one is delivered again."""
        inspector = app.control.inspect(destination=[worker.nodename], timeout=1.0)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not finished.is_set():
            running = [
                task["worker_pid"]
                for tasks in (inspector.active() or {}).values()
                for task in tasks
                if task["name"] == "simulator.batch_chunk" and task.get("worker_pid")
            ]
            if not running:
                time.sleep(0.02)
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(running[0], signal.SIGKILL)
                killed.append(running[0])
            chance = time.monotonic() + 3
            while time.monotonic() < chance and not finished.is_set():
                if redelivered(new_log()):
                    return
                time.sleep(0.05)

    killer = threading.Thread(target=kill_a_process_running_a_chunk)
    killer.start()
    try:
        scaled = run_batch(files, 400, vary=VARY, seed=11, coverage=False, executor=executor)
    finally:
        finished.set()
        killer.join()

    assert killed, "no pool process was killed"
    log = new_log()
    assert "WorkerLostError" in log or "signal 9" in log, log[-3000:]
    assert redelivered(log), "no chunk was delivered again after the kill"
    assert comparable(scaled) == comparable(local)
