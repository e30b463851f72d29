"""ORCHWEB_CPU (`orchweb.serve --pin`): a Daphne process's threads, and those it starts later, on
one CPU (orchweb/affinity.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import daphne_servers

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
needs_two_cpus = pytest.mark.skipif(len(ALLOWED) < 2, reason="one CPU: nothing to choose from")

PROBE = """
import json, os, threading
import orchweb.asgi
later = []
thread = threading.Thread(target=lambda: later.append(sorted(os.sched_getaffinity(0))))
thread.start()
thread.join()
print(json.dumps({"main": sorted(os.sched_getaffinity(0)), "later": later[0]}))
"""


def cpus_after_import(cpu: str | None) -> dict:
    """The CPUs of the main thread and of a thread started afterwards, in a fresh interpreter
    that imported the ASGI entry point (what Daphne loads) with ORCHWEB_CPU=`cpu` (None: unset)."""
    env = {key: value for key, value in os.environ.items() if key != "ORCHWEB_CPU"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "tests.settings", **({"ORCHWEB_CPU": cpu} if cpu else {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def threads_cpus(pid: int) -> set[str]:
    """The CPU lists every thread of process `pid` may run on."""
    lists = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
        lists.update(line.split(":")[1].strip() for line in status.splitlines() if line.startswith("Cpus_allowed_list"))
    return lists


@needs_two_cpus
def test_the_process_and_the_threads_it_starts_later_run_on_the_chosen_cpu() -> None:
    index = len(ALLOWED) + 1  # modulo the CPUs the process may use
    expected = [ALLOWED[index % len(ALLOWED)]]

    assert cpus_after_import(str(index)) == {"main": expected, "later": expected}


@needs_two_cpus
def test_without_a_cpu_the_threads_may_run_on_any() -> None:
    assert cpus_after_import(None) == {"main": ALLOWED, "later": ALLOWED}


@needs_two_cpus
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="no /proc")
def test_pinned_servers_each_run_every_thread_on_a_cpu_of_their_own(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    with daphne_servers("pinned", env, 2, pin=True) as servers:
        placed = [threads_cpus(server.process.pid) for server in servers]

    assert placed == [{str(ALLOWED[0])}, {str(ALLOWED[1])}]


def test_a_cpu_that_is_not_a_number_stops_the_start() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, "ORCHWEB_CPU": "first"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode != 0
    assert "ORCHWEB_CPU='first' is not an integer" in done.stderr.strip().splitlines()[-1]
