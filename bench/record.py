#!/usr/bin/env python
"""The datamodel record (`ECMAScriptDataModel.changes`) on the real ORS sample. Prints; never asserts.

    .venv/bin/python bench/record.py digest --runs 40
    valgrind --tool=callgrind --dump-instr=no --instr-atstart=no .venv/bin/python bench/record.py calls --calls 100

* **digest** - the SHA-256 of the `datamodel` trace records of `--runs` traced runs of the sample
  (seeds 0, 1, ...), with their count: the check that a change of the record leaves its answers
  byte-identical (run it before and after; docs/performance.md, "The datamodel record in C").
* **calls** - `--calls` calls of `changes()` on a session stopped in the middle of the sample,
  nothing changed between them (the usual step: most variables unchanged); under callgrind the
  collection is switched on for those calls only (``callgrind_control``), so the instruction count
  divided by `--calls` is the cost of one call. Without callgrind: CPU us per call.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.ors.fakes import load_fakes  # noqa: E402
from simulator.ors.project import find_entry, load_project  # noqa: E402
from simulator.runners.driver import OrsRun  # noqa: E402

SHARED = Path(os.environ.get("ORCHWEB_SHARED", ROOT.parent / "shared"))
SAMPLE = SHARED / "ors-samples" / "crd-gvp-wf"


def digest(files: dict[str, bytes], runs: int) -> dict:
    h = hashlib.sha256()
    count = 0
    entry = find_entry(files)
    for seed in range(runs):
        run = OrsRun(files, entry, fakes=load_fakes({}), seed=seed, trace=True)
        run.run()
        for record in run.records:
            if record.get("type") == "datamodel":
                h.update(json.dumps(record, sort_keys=True).encode() + b"\n")
                count += 1
        run.session.close()
    return {"runs": runs, "datamodel_records": count, "sha256": h.hexdigest()}


def calls(files: dict[str, bytes], count: int, macrosteps: int) -> dict:
    run = OrsRun(files, find_entry(files), fakes=load_fakes({}), trace=True)
    run.run(max_macrosteps=macrosteps)
    dm = run.session.datamodel
    dm.changes()
    pid = str(os.getpid())
    subprocess.run(["callgrind_control", "-i", "on", pid], capture_output=True, check=False)
    cpu = time.process_time()
    for _ in range(count):
        dm.changes()
    cpu = time.process_time() - cpu
    subprocess.run(["callgrind_control", "-i", "off", pid], capture_output=True, check=False)
    variables = len(dm.snapshot_json())
    run.session.close()
    return {"calls": count, "variables": variables, "cpu_us_per_call": round(cpu / count * 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["digest", "calls"])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--macrosteps", type=int, default=60, help="calls: where the session stops")
    args = parser.parse_args()
    files = load_project(SAMPLE)
    if args.what == "digest":
        print(json.dumps(digest(files, args.runs)))
    else:
        print(json.dumps(calls(files, args.calls, args.macrosteps)))
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
