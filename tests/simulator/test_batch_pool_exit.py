"""The local pool's worker processes end with the process driving the batch.

A server stopped while a batch runs (or just after a cancel, while the last chunks finish) must
not leave its pool workers behind: each waits on the pool's task queue, whose pipe its siblings
keep open, so without a watch on their parent they would wait forever.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: bounds of the waits below (the machine is shared and slow to spawn; never a verdict on speed):
#: for the pool to start, and for its workers to notice their parent is gone (they look every second)
START_SECONDS = 180
EXIT_SECONDS = 60

DRIVER = """
from pathlib import Path
from simulator.runners.batch import run_batch

root = Path("designer/starters/basic")
files = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
run_batch(files, 1_000_000, workers=2, coverage=False)
"""


def children_of(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_pool_workers_leave_when_the_process_driving_the_batch_is_killed() -> None:
    driver = subprocess.Popen([sys.executable, "-c", DRIVER], cwd=ROOT)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + START_SECONDS
        # the pool's two workers (the spawn machinery adds a resource tracker: not a worker)
        while time.monotonic() < deadline and len(workers) < 2:
            workers = [p for p in children_of(driver.pid) if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
            time.sleep(0.2)
        assert len(workers) == 2, "the pool did not start"
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()

    deadline = time.monotonic() + EXIT_SECONDS
    while time.monotonic() < deadline and any(alive(p) for p in workers):
        time.sleep(0.2)
    left = [p for p in workers if alive(p)]
    for pid in left:  # do not leave them to the next test either
        os.kill(pid, signal.SIGKILL)
    assert left == []
