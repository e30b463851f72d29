#!/usr/bin/env python
"""Batch simulation throughput on the real Composer sample (``ors-samples/crd-gvp-wf``). Prints figures.

    .venv/bin/python bench/batch.py                    # N = 1000 and 5000, coverage on, default pool
    .venv/bin/python bench/batch.py --counts 1000 --no-coverage --workers 1
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/batch.py --counts 10000 100000 --executor celery

With ``--executor celery`` the script starts ``--workers`` (default 2) ``celery -A orchweb worker``
processes of one process each (as tests do, ``tests/servers.py``) on the Redis of ``REDIS_URL``,
and the chunks run there.

For each N: wall seconds and interactions/s of ``simulator.runners.batch.run_batch`` (default fakes with a
``queue.available`` true/false variation, so both outcomes occur), the worker count, the peak
memory of the driving process so far (ru_maxrss: with a pool or Celery it only merges chunks, so
it must not grow with N), and the outcome split as a sanity check (the run is deterministic: the
same N and seed give the same split). Wall time on the shared 2-core machine includes whatever the neighbours run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import contextlib  # noqa: E402
import resource  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402

from simulator.ors.project import load_project  # noqa: E402
from simulator.runners.batch import ChunkExecutor, run_batch  # noqa: E402

SHARED = Path(os.environ.get("ORCHWEB_SHARED", ROOT.parent / "shared"))
SAMPLE = SHARED / "ors-samples" / "crd-gvp-wf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--workers", type=int, default=None, help="default: min(2, cpu) for N >= 400")
    parser.add_argument("--no-coverage", action="store_true")
    parser.add_argument("--executor", choices=["local", "celery"], default="local")
    args = parser.parse_args()
    files = load_project(SAMPLE)
    print(f"sample: {SAMPLE} ({len(files)} files), cpu count {os.cpu_count()}, load {os.getloadavg()}")
    with contextlib.ExitStack() as stack:
        executor = stack.enter_context(celery_executor(args.workers or 2)) if args.executor == "celery" else None
        for count in args.counts:
            report(files, count, args, executor)
    print(f"load {os.getloadavg()}")


@contextlib.contextmanager
def celery_executor(workers: int) -> Iterator[ChunkExecutor]:
    """`workers` single-process Celery workers on a queue of their own, and the executor feeding it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from simulator.tasks import CeleryExecutor
    from tests.servers import celery_worker

    queue = f"orchweb-bench-{uuid.uuid4().hex[:8]}"
    env = {"REDIS_URL": os.environ["REDIS_URL"]}
    with contextlib.ExitStack() as stack:
        for index in range(workers):
            stack.enter_context(celery_worker(f"bench{index}", queue, env, concurrency=1))
        yield CeleryExecutor(workers=workers, queue=queue)


def report(files: dict[str, bytes], count: int, args: argparse.Namespace, executor: ChunkExecutor | None) -> None:
    """One batch of `count` interactions and its figures."""
    summary = run_batch(
        files,
        count,
        vary={"queue.available": [True, False]},
        coverage=not args.no_coverage,
        workers=args.workers,
        executor=executor,
    )
    timing = summary["timing"]
    cov = summary.get("coverage")
    coverage = (
        f", coverage states {cov['states']['percent']}% transitions {cov['transitions']['percent']}%" if cov else ""
    )
    print(
        f"N={count}: {timing['seconds']:.2f} s wall, {timing['interactions_per_second']:.0f} interactions/s "
        f"with {timing['workers']} {timing['executor']} worker(s) in {timing['chunks']} chunks; "
        f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; "
        f"outcomes {summary['outcomes']}, errors {summary['errors']['sessions']}{coverage}"
    )


if __name__ == "__main__":
    main()
