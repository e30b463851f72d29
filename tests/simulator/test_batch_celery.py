"""Batches at scale: chunks run by a real `celery -A orchweb worker` process on the real Redis give
the report a local run with the same seed gives.

Runs in the scaled pass (REDIS_URL set); an embedded run deselects it (tests/conftest.py).
"""

from __future__ import annotations

import os
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
