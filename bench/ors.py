#!/usr/bin/env python
"""ORS benchmarks on the real Composer sample (``ors-samples/crd-gvp-wf``). Prints figures; never asserts.

    .venv/bin/python bench/ors.py              # everything
    .venv/bin/python bench/ors.py throughput   # a subset: throughput, creation, memory, phases
    .venv/bin/python bench/ors.py --count 200 --runs 5

Figures (single process, virtual clock, default fakes, no trace listeners). The load average is
printed before and after: on the shared 2-core machine the neighbours move the figures a lot.

* **throughput** - simulated interactions per second: a session of the IPD is created, started,
  and run until it ends (``interaction.added`` ... ``queue.submit.done`` -> routed), then closed;
  every run is checked to end *routed* in ``_composer_global_exit``. Median of ``--runs`` rounds
  of ``--count`` interactions (wall clock, and CPU time of this process). Goal: >= 1,000/s.
* **creation** - ms to create and start one session (to its first stable configuration, the
  start events queued): the per-interaction fixed cost, dominated by loading Composer's include
  libraries (~81 KiB of JS) and the ``_genesys`` surfaces into a fresh JS context.
* **memory** - KiB of RSS per live session of the IPD (N sessions started and kept, waiting in
  the middle of the strategy for a manual ``queue:submit``). Goal: < 1 MiB per session.
* **phases** - where the time of one interaction goes (start / run), for tuning.
* **instructions** - instructions per interaction under callgrind (valgrind, when installed): this
  script run twice under ``valgrind --tool=callgrind``, 5 and 5 + ``--callgrind-count`` (30)
  interactions after the warm-up (``PYTHONHASHSEED=0``), the difference divided by that count. The machine's load
  does not move it: the figure to compare changes by on the shared machine (~1 min for 30).

Where the CPU time of one interaction goes (py-spy, 2026-11-25, ~4.7 ms in all):

* fixed per session, about 1.3 ms: a new JS runtime + context and freeing it (~0.3 ms); the 9
  Composer include libraries (99 KB of JS), read from process-wide bytecode and run (~0.7 ms);
  the ``_genesys`` surfaces (~0.16 ms); the document's shared compiled functions (one bytecode
  bundle, ~0.12 ms). This alone caps a single process near 750 interactions/s.
* the strategy itself, about 3.4 ms: JS of expressions, scripts and the Python callbacks they make
  (~1.3 ms); the SCXML engine's Python (~0.5 ms); the fake platform (~0.4 ms); JSON between
  Python and JS (~0.3 ms); Python's cyclic GC (~0.13 ms). (``get_model`` hashed the 191 KiB of
  project files on every run, ~0.13 ms, until it remembered the digest per bytes object.)

docs/performance.md breaks the per-session part down further (heap by part, callgrind).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.ors.fakes import load_fakes  # noqa: E402
from simulator.ors.project import find_entry, load_project  # noqa: E402
from simulator.runners.driver import OrsRun  # noqa: E402
from simulator.scxml.datamodel import MAX_SESSIONS_PER_RUNTIME, RuntimePool  # noqa: E402

SHARED = Path(os.environ.get("ORCHWEB_SHARED", ROOT.parent / "shared"))
SAMPLE = SHARED / "ors-samples" / "crd-gvp-wf"


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


#: sessions per JS runtime (--sessions-per-runtime): the runs of one figure are one user's batch
#: and share a RuntimePool as batch chunks do; 1 = a runtime per session
PER_RUNTIME = MAX_SESSIONS_PER_RUNTIME


#: the sample's entry document, found once as the product's callers do (finding it per run was
#: ~1.5% of an interaction)
ENTRY = ""


def _pool() -> RuntimePool:
    return RuntimePool(PER_RUNTIME)


def _interaction(files: dict[str, bytes], fakes, runtimes: RuntimePool) -> bool:
    run = OrsRun(files, ENTRY, fakes=fakes, runtimes=runtimes)
    run.run()
    ok = run.session.final_state == "_composer_global_exit" and run.platform.outcome.get("status") == "routed"
    run.session.close()
    return ok


def throughput(files: dict[str, bytes], count: int, runs: int = 5) -> dict:
    """Interactions/s, start -> routed, one after another in this process (median of `runs`)."""
    fakes = load_fakes({})
    runtimes = _pool()
    for _ in range(20):  # warm-up: model cache, shared compiled code, lazy imports
        _interaction(files, fakes, runtimes)
    ok = True
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            ok = _interaction(files, fakes, runtimes) and ok
        walls.append((time.perf_counter() - start) / count)
        cpus.append((time.process_time() - cpu) / count)
    # CPU time too: on the shared 2-core machine the wall clock mostly measures the neighbours.
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    return {
        "interactions_per_s": 1 / wall,
        "ms_per_interaction": wall * 1000,
        "cpu_ms_per_interaction": cpu * 1000,
        "interactions_per_cpu_s": 1 / cpu,
        "best_interactions_per_s": 1 / min(walls),
        "ok": ok,
    }


def creation(files: dict[str, bytes], count: int) -> dict:
    """ms to create + start one session of the IPD (median of `count`)."""
    fakes = load_fakes({})
    runtimes = _pool()
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        run = OrsRun(files, ENTRY, fakes=fakes, runtimes=runtimes)
        run.start()
        times.append(time.perf_counter() - t0)
        run.session.close()
    return {"creation_ms_median": statistics.median(times) * 1000, "creation_ms_min": min(times) * 1000}


def memory(files: dict[str, bytes], count: int) -> dict:
    """KiB of RSS per live session, each waiting on a manual queue:submit mid-strategy."""
    fakes = load_fakes({"rules": [{"module": "queue", "action": "submit", "manual": True}]})
    _interaction(files, load_fakes({}), _pool())
    gc.collect()
    before = _rss()
    runtimes = _pool()
    runs = []
    for _ in range(count):
        run = OrsRun(files, ENTRY, fakes=fakes, runtimes=runtimes)
        run.run()
        runs.append(run)
    gc.collect()
    after = _rss()
    ok = all(r.platform.final_outcome(False)["status"] == "waiting" for r in runs)
    js = runtimes.heap_bytes() / count / 1024
    for r in runs:
        r.session.close()
    return {"kib_per_session": (after - before) / count / 1024, "js_heap_kib_per_session": js, "ok": ok}


def phases(files: dict[str, bytes], count: int) -> dict:
    """Median ms of start() and of the run to the end, per interaction."""
    fakes = load_fakes({})
    runtimes = _pool()
    starts, runs = [], []
    for _ in range(count):
        run = OrsRun(files, ENTRY, fakes=fakes, runtimes=runtimes)
        t0 = time.perf_counter()
        run.start()
        t1 = time.perf_counter()
        run.run()
        t2 = time.perf_counter()
        run.session.close()
        starts.append(t1 - t0)
        runs.append(t2 - t1)
    return {"start_ms": statistics.median(starts) * 1000, "run_ms": statistics.median(runs) * 1000}


def _child(files: dict[str, bytes], count: int) -> None:
    """The interactions `instructions` counts: the warm-up of `throughput`, then `count`."""
    fakes = load_fakes({})
    runtimes = _pool()
    for _ in range(20 + count):
        if not _interaction(files, fakes, runtimes):
            raise SystemExit("an interaction did not end routed")


def instructions(count: int) -> dict:
    """Callgrind instructions per interaction: (5 + count) minus 5 interactions, two children."""
    if shutil.which("valgrind") is None:
        return {"skipped": "valgrind is not installed (apt-get install valgrind)"}
    totals = []
    with tempfile.TemporaryDirectory() as folder:
        for n in (5, 5 + count):
            out = os.path.join(folder, f"callgrind.{n}")
            command = ["valgrind", "--tool=callgrind", "--dump-instr=no", f"--callgrind-out-file={out}"]
            command += [sys.executable, __file__, "--child", str(n), "--sessions-per-runtime", str(PER_RUNTIME)]
            subprocess.run(command, check=True, env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True)
            with open(out) as handle:
                totals.append(next(int(line.split()[1]) for line in handle if line.startswith("totals:")))
    return {"M_instructions_per_interaction": (totals[1] - totals[0]) / count / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", default=["throughput", "creation", "memory", "phases"])
    parser.add_argument("--count", type=int, default=200, help="interactions/sessions per figure")
    parser.add_argument("--runs", type=int, default=5, help="throughput rounds (the median is printed)")
    parser.add_argument(
        "--sessions-per-runtime",
        type=int,
        default=MAX_SESSIONS_PER_RUNTIME,
        help="sessions sharing one JS runtime (1: a runtime per session, as before runtimes were shared)",
    )
    parser.add_argument("--callgrind-count", type=int, default=30, help="interactions counted by `instructions`")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)  # the runs `instructions` counts
    args = parser.parse_args()
    global PER_RUNTIME, ENTRY
    PER_RUNTIME = args.sessions_per_runtime
    files = load_project(SAMPLE)
    ENTRY = find_entry(files)
    if args.child is not None:
        _child(files, args.child)
        return
    print(f"sample: {SAMPLE} ({sum(len(b) for b in files.values()) / 1024:.0f} KiB of project files)")
    print(f"load average before: {_loadavg()}")
    for part in args.parts:
        if part == "throughput":
            result = throughput(files, args.count, args.runs)
        elif part == "instructions":
            result = instructions(args.callgrind_count)
        else:
            result = {"creation": creation, "memory": memory, "phases": phases}[part](files, args.count)
        figures = "  ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items())
        print(f"{part:<11} {figures}")
    print(f"load average after: {_loadavg()}")


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as handle:
            return " ".join(handle.read().split()[:3])
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
