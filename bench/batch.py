#!/usr/bin/env python
"""Batch simulation throughput on the real Composer sample (``ors-samples/crd-gvp-wf``). Prints figures.

    .venv/bin/python bench/batch.py                    # N = 1000 and 5000, coverage on, default pool
    .venv/bin/python bench/batch.py --counts 1000 --no-coverage --workers 1

For each N: wall seconds and interactions/s of ``simulator.runners.batch.run_batch`` (default fakes with a
``queue.available`` true/false variation, so both outcomes occur), the worker count, and the
outcome split as a sanity check (the run is deterministic: the same N and seed give the same
split). Wall time on the shared 2-core machine includes whatever the neighbours run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.ors.project import load_project  # noqa: E402
from simulator.runners.batch import run_batch  # noqa: E402

SHARED = Path(os.environ.get("ORCHWEB_SHARED", ROOT.parent / "shared"))
SAMPLE = SHARED / "ors-samples" / "crd-gvp-wf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--workers", type=int, default=None, help="default: min(2, cpu) for N >= 400")
    parser.add_argument("--no-coverage", action="store_true")
    args = parser.parse_args()
    files = load_project(SAMPLE)
    print(f"sample: {SAMPLE} ({len(files)} files), cpu count {os.cpu_count()}")
    for count in args.counts:
        summary = run_batch(
            files,
            count,
            vary={"queue.available": [True, False]},
            coverage=not args.no_coverage,
            workers=args.workers,
        )
        timing = summary["timing"]
        cov = summary.get("coverage")
        coverage = (
            f", coverage states {cov['states']['percent']}% transitions {cov['transitions']['percent']}%" if cov else ""
        )
        print(
            f"N={count}: {timing['seconds']:.2f} s wall, {timing['interactions_per_second']:.0f} interactions/s "
            f"with {timing['workers']} worker(s); outcomes {summary['outcomes']}, "
            f"errors {summary['errors']['sessions']}{coverage}"
        )


if __name__ == "__main__":
    main()
