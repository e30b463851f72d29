#!/usr/bin/env python
"""Engine benchmarks, exactly as ../shared/bench/README.md describes. Prints figures; never asserts.

    .venv/bin/python bench/engine.py                 # everything: 5 fresh-process runs per figure
    .venv/bin/python bench/engine.py pingpong nested # a subset
    .venv/bin/python bench/engine.py --runs 3
    .venv/bin/python bench/engine.py memory --sessions-per-runtime 1   # a JS runtime per session

Figures: (a) pingpong and (b) nested events/s (N = 100,000 and 160,000 external events after a
1,000-event warm-up, synchronous inject + step_macrostep, correctness check after the clock
stops), (c) the W3C suite (every automated test of the manifest, in-process, virtual clock: total
seconds), and session creation ms + KiB per idle session for N = 1,000 pingpong sessions (one
SessionGroup: their JS contexts share runtimes, 16 a runtime unless --sessions-per-runtime).

Sessions run without trace listeners, as the throughput definition requires ("no logging"): the
engine then builds no trace records and no datamodel diffs at all (both are built only when a
listener is attached).
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.scxml.datamodel import MAX_SESSIONS_PER_RUNTIME, RuntimePool  # noqa: E402
from simulator.scxml.interpreter import SessionGroup  # noqa: E402
from simulator.scxml.loader import DirectoryProject  # noqa: E402
from simulator.scxml.model import get_model  # noqa: E402

SHARED = Path(os.environ.get("ORCHWEB_SHARED", ROOT.parent / "shared"))
BENCH = SHARED / "bench"
CYCLES = {"pingpong": ["ping", "pong"], "nested": ["e1", "e2", "pause", "resume", "go", "m1", "m2", "leave"]}
TIMED = {"pingpong": 100_000, "nested": 160_000}
WARMUP = 1_000


def _session(chart: str):
    model = get_model(DirectoryProject(BENCH), f"{chart}.scxml")
    group = SessionGroup(seed=0)
    session = group.create_session(model)
    session.start()
    return session


def throughput(chart: str) -> dict:
    """Events/s for one chart in this process (README 'Events per second')."""
    session = _session(chart)
    cycle = CYCLES[chart]
    size = len(cycle)
    inject = session.inject
    step = session.step_macrostep
    for i in range(WARMUP):
        inject(cycle[i % size], {"n": i})
        step()
    n = TIMED[chart]
    start = time.perf_counter()
    for i in range(WARMUP, WARMUP + n):
        inject(cycle[i % size], {"n": i})
        step()
    elapsed = time.perf_counter() - start
    total = WARMUP + n
    dm = session.datamodel
    if chart == "pingpong":
        ok = session.configuration_ids == ["s0"] and dm.evaluate("count") == total
    else:
        cycles = dm.evaluate("cycles")
        ok = (
            session.configuration_ids == ["main", "work", "a", "a1"]
            and cycles == total // 8
            and dm.evaluate("synced") == cycles
            and dm.evaluate("work_in") == 1 + 2 * cycles
        )
    return {"value": n / elapsed, "ok": ok, "elapsed": elapsed}


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory(count: int = 1_000, per_runtime: int = MAX_SESSIONS_PER_RUNTIME) -> dict:
    """Session creation ms and KiB per idle session (README 'Session creation and memory')."""
    model = get_model(DirectoryProject(BENCH), "pingpong.scxml")
    group = SessionGroup(seed=0, runtimes=RuntimePool(per_runtime))
    warm = group.create_session(model)  # import/JIT-free warm-up of lazy imports, then discarded
    warm.start()
    warm.close()
    gc.collect()
    before = _rss()
    sessions = []
    start = time.perf_counter()
    for _ in range(count):
        session = group.create_session(model)
        session.start()
        sessions.append(session)
    elapsed = time.perf_counter() - start
    gc.collect()
    after = _rss()
    ok = all(s.configuration_ids == ["s0"] for s in sessions)
    return {"creation_ms": elapsed / count * 1000, "kib": (after - before) / count / 1024, "ok": ok}


def w3c() -> dict:
    """Total seconds for every automated W3C test, in-process on the virtual clock."""
    manifest = json.loads((SHARED / "w3c-scxml" / "manifest.json").read_text())
    tests = [t for t in manifest["tests"] if t["automated"] and t["files"]]
    start = time.perf_counter()
    passed = 0
    for test in tests:
        ok = True
        for relative in test["files"]:
            folder, _, name = relative.rpartition("/")
            model = get_model(DirectoryProject(SHARED / "w3c-scxml" / folder), name)
            group = SessionGroup(seed=0)
            session = group.create_session(model)
            session.start()
            group.run_until_idle(max_time=300)
            ok = ok and session.final_state == "pass"
            for s in list(group.sessions.values()):
                s.close()
        passed += ok
    elapsed = time.perf_counter() - start
    mandatory = sum(t["conformance"] == "mandatory" for t in tests)
    return {"value": elapsed, "ok": passed >= mandatory, "passed": passed, "total": len(tests)}


def child(kind: str, per_runtime: int) -> None:
    if kind in TIMED:
        result = throughput(kind)
    elif kind == "memory":
        result = memory(per_runtime=per_runtime)
    else:
        result = w3c()
    print(json.dumps(result))


def _runs(kind: str, runs: int, per_runtime: int) -> list[dict]:
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, str(per_runtime)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _line(label: str, values: list[float], unit: str, fmt: str = "{:,.0f}") -> str:
    return (
        f"{label:<34} median {fmt.format(statistics.median(values))} {unit}  "
        f"(min {fmt.format(min(values))}, max {fmt.format(max(values))}, runs {len(values)})"
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        # bench/peers.sh calls `--child KIND` alone: the product's sessions per runtime
        child(argv[1], int(argv[2]) if len(argv) > 2 else MAX_SESSIONS_PER_RUNTIME)
        return
    runs = 5
    if "--runs" in argv:
        runs = int(argv[argv.index("--runs") + 1])
        del argv[argv.index("--runs") : argv.index("--runs") + 2]
    per_runtime = MAX_SESSIONS_PER_RUNTIME
    if "--sessions-per-runtime" in argv:
        per_runtime = int(argv[argv.index("--sessions-per-runtime") + 1])
        del argv[argv.index("--sessions-per-runtime") : argv.index("--sessions-per-runtime") + 2]
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return
    known = ["pingpong", "nested", "w3c", "memory"]
    kinds = argv or known
    unknown = [kind for kind in kinds if kind not in known]
    if unknown:
        raise SystemExit(f"bench/engine.py: unknown figure(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    print(f"load average before the runs: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"python {sys.version.split()[0]}, {runs} fresh-process runs per figure")
    for kind in kinds:
        results = _runs(kind, runs, per_runtime)
        bad = sum(not r["ok"] for r in results)
        note = "" if not bad else f"  !! {bad} run(s) FAILED the correctness check and do not count"
        good = [r for r in results if r["ok"]] or results
        if kind in TIMED:
            events = TIMED[kind]
            print(_line(f"{kind} ({events:,} events)", [r["value"] for r in good], "events/s") + note)
        elif kind == "w3c":
            passed = f"{good[0]['passed']}/{good[0]['total']} pass"
            print(_line(f"w3c suite ({passed})", [r["value"] for r in good], "s", "{:.2f}") + note)
        else:
            print(_line("session creation (N=1,000)", [r["creation_ms"] for r in good], "ms", "{:.3f}") + note)
            print(_line("memory per idle session", [r["kib"] for r in good], "KiB", "{:.1f}"))


if __name__ == "__main__":
    main(sys.argv[1:])
