"""Batches at scale: chunks run by a real `celery -A orchweb worker` process on the real Redis give
the report a local run with the same seed gives.

Runs in the scaled pass (REDIS_URL set); an embedded run deselects it (tests/conftest.py).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

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


def pool_children(worker: RunningWorker) -> list[int]:
    """Pids of the worker's pool processes (the processes running chunks)."""
    found = subprocess.run(["pgrep", "-P", str(worker.process.pid)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def test_a_pool_process_killed_mid_chunk_loses_no_interaction(worker: RunningWorker, shared_dir: Path) -> None:
    """acks_late + reject_on_worker_lost: the chunk of a killed process goes back to the queue
    and runs again (same task id, same seeded result); the report still equals a local run."""
    files = load_project(shared_dir / "ors-samples" / "crd-gvp-wf")
    local = run_batch(files, 80, vary=VARY, seed=11, workers=1, coverage=False)
    executor = CeleryExecutor(workers=2, queue=worker.queue, timeout=300)
    log_before = worker.log_path.read_text(errors="replace")
    killed: list[int] = []

    def kill_one_busy_child() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            log = worker.log_path.read_text(errors="replace")[len(log_before) :]
            if "batch_chunk" in log and "received" in log:  # a chunk is being run (prefetch 1)
                children = pool_children(worker)
                if children:
                    os.kill(children[0], signal.SIGKILL)
                    killed.append(children[0])
            time.sleep(0.02)

    killer = threading.Thread(target=kill_one_busy_child)
    killer.start()
    try:
        scaled = run_batch(files, 80, vary=VARY, seed=11, coverage=False, executor=executor)
    finally:
        killer.join()

    assert killed, "no pool process was killed"
    log = worker.log_path.read_text(errors="replace")[len(log_before) :]
    assert "WorkerLostError" in log or "signal 9" in log, log[-3000:]
    received = re.findall(r"batch_chunk\[([\w-]+)\] received", log)
    assert len(received) > len(set(received)), "no chunk was delivered again after the kill"
    assert comparable(scaled) == comparable(local)
