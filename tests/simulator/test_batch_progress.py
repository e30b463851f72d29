"""run_batch's progress and cancellation (Django-free): progress after each chunk, a cancel that
stops the executor with the chunks done so far, and reports that do not depend on the chunking."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from simulator.ors.project import load_project
from simulator.runners.batch import CHUNK, InProcess, LocalPool, plan_chunks, run_batch

VARY = {"queue.available": [True, False], "ani": ["5551234", "5550100"]}


@pytest.fixture(scope="module")
def sample(shared_dir: Path) -> dict[str, bytes]:
    return load_project(shared_dir / "ors-samples" / "crd-gvp-wf")


def without_timing(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "timing"}


class CountingInProcess(InProcess):
    """InProcess that counts the chunks it ran and notes when it was closed."""

    def __init__(self) -> None:
        self.ran = 0
        self.closed = False

    def run(self, job, chunks):  # type: ignore[no-untyped-def]
        try:
            for part in super().run(job, chunks):
                self.ran += 1
                yield part
        finally:
            self.closed = True


def test_progress_is_reported_after_every_chunk_up_to_the_count(sample):
    seen: list[tuple[int, int]] = []

    summary = run_batch(sample, 50, vary=VARY, seed=4, coverage=False, progress=lambda d, n: seen.append((d, n)))

    assert [n for _, n in seen] == [50] * len(seen)
    assert [d for d, _ in seen] == [stop for _, stop in plan_chunks(50, 1)]
    assert summary["count"] == 50 and "cancelled" not in summary


def test_a_cancel_stops_the_executor_and_returns_the_chunks_done(sample):
    executor = CountingInProcess()
    chunks = plan_chunks(40, 1)

    summary = run_batch(sample, 40, vary=VARY, seed=4, coverage=False, executor=executor, cancelled=lambda: True)

    assert executor.ran == 1 and executor.closed
    assert summary["cancelled"] is True and summary["count"] == chunks[0][1] < 40
    assert sum(summary["outcomes"].values()) == summary["count"]
    first = run_batch(sample, chunks[0][1], vary=VARY, seed=4, coverage=False)
    assert without_timing({**summary, "cancelled": None}) == without_timing({**first, "cancelled": None})


def test_a_cancel_of_a_pool_run_drops_the_chunks_not_started(sample):
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) >= 2

    summary = run_batch(sample, 4000, coverage=False, executor=LocalPool(2), cancelled=cancelled)

    assert summary["cancelled"] is True and summary["count"] == 2 * CHUNK


def test_the_report_does_not_depend_on_how_the_batch_is_cut(sample):
    one_process = run_batch(sample, 120, vary=VARY, seed=9, workers=1)
    pool = run_batch(sample, 120, vary=VARY, seed=9, executor=LocalPool(3))

    assert pool["timing"]["chunks"] != one_process["timing"]["chunks"]
    assert without_timing(pool) == without_timing(one_process)


def test_the_order_of_the_variation_keys_does_not_change_the_draws(sample):
    reordered = dict(reversed(list(VARY.items())))

    assert without_timing(run_batch(sample, 30, vary=reordered, seed=2, coverage=False)) == without_timing(
        run_batch(sample, 30, vary=VARY, seed=2, coverage=False)
    )


def test_big_batches_are_cut_into_chunks_small_enough_for_progress():
    chunks = plan_chunks(1_000_000, 2)

    assert max(stop - start for start, stop in chunks) == CHUNK
    assert chunks[0][0] == 0 and chunks[-1][1] == 1_000_000
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
    assert plan_chunks(10, 2) == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]
