"""ORCHWEB_CPU (`orchweb.serve --pin`): a Daphne process's threads, and those it starts later, on
one CPU (orchweb/affinity.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.servers import daphne_servers

ROOT = Path(__file__).resolve().parent.parent
#: the CPUs the tests may use (the machines of CI have two; with one, every index is CPU 0)
ALLOWED = sorted(os.sched_getaffinity(0))

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
    """The CPU lists every thread of process `pid` may run on (of those still running when read:
    a short-lived thread, e.g. asgiref's, may end between the listing and its read)."""
    lists = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
        except FileNotFoundError:
            continue
        lists.update(line.split(":")[1].strip() for line in status.splitlines() if line.startswith("Cpus_allowed_list"))
    return lists


def test_the_process_and_the_threads_it_starts_later_run_on_the_chosen_cpu() -> None:
    index = len(ALLOWED) + 1  # modulo the CPUs the process may use
    expected = [ALLOWED[index % len(ALLOWED)]]

    assert cpus_after_import(str(index)) == {"main": expected, "later": expected}


def test_without_a_cpu_the_threads_may_run_on_any() -> None:
    assert cpus_after_import(None) == {"main": ALLOWED, "later": ALLOWED}


def test_pinned_servers_each_run_every_thread_on_a_cpu_of_their_own(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    with daphne_servers("pinned", env, 2, pin=True) as servers:
        placed = [threads_cpus(server.process.pid) for server in servers]

    assert placed == [{str(ALLOWED[0])}, {str(ALLOWED[1 % len(ALLOWED)])}]


POOL_PROBE = """
import json, os
import orchweb.asgi
from simulator.batches import POOL_THRESHOLD, _executor
from simulator.models import BatchRun
from simulator.runners.batch import BatchJob

doc = b'<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="a"><final id="a"/></scxml>'
executor = _executor(BatchRun(executor="local", count=POOL_THRESHOLD))
pool = executor.start(BatchJob({"main.scxml": doc}, "main.scxml", {}, [], 0, False, 60.0))
try:
    workers = pool.submit(os.sched_getaffinity, 0).result(timeout=60)
finally:
    pool.shutdown()
print(json.dumps({"server": sorted(os.sched_getaffinity(0)), "workers": sorted(workers)}))
"""


def test_a_pinned_servers_batch_pool_runs_on_the_cpus_it_had_before() -> None:
    """The local pool's spawned processes would inherit the server's one CPU: two batch workers
    sharing it, while the other CPUs idle."""
    env = {key: value for key, value in os.environ.items() if key != "ORCHWEB_CPU"}
    done = subprocess.run(
        [sys.executable, "-c", POOL_PROBE],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "tests.settings", "ORCHWEB_CPU": "1", "ORCHWEB_BATCH_POOL_WORKERS": "2"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "server": [ALLOWED[1 % len(ALLOWED)]],
        "workers": ALLOWED,
    }


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
