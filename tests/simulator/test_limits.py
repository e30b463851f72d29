"""The simulation limits of the settings change what a simulation may do.

`JS_MEMORY_LIMIT` and `JS_TIME_LIMIT_MS` reach every session through `Limits.from_settings` (the
live runtime and the management commands); `SIMULATION_WORKERS` sizes the live worker pool, which
is created on first use.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from simulator.runners.driver import OrsRun
from simulator.runners.limits import MIB, Limits
from simulator.sessions import SimulationRuntime
from tests.ors.strategies import document

ROOT = Path(__file__).resolve().parents[2]

#: about 24 MB of numbers in one array, then a final state that says it got through
HUNGRY = document(
    """
  <state id="wait">
    <onentry><script>
      var kept = new Array(3000000).fill(1.5);
    </script></onentry>
    <transition target="done"/>
  </state>
  <final id="done"/>""",
    name="Hungry",
)

#: a loop of a few million iterations: well under a second, well over 10 ms
BUSY = document(
    """
  <state id="wait">
    <onentry><script>
      var total = 0;
      for (var i = 0; i &lt; 3000000; i++) { total += i % 7; }
    </script></onentry>
    <transition target="done"/>
  </state>
  <final id="done"/>""",
    name="Busy",
)


def live_run(doc: bytes) -> SimulationRuntime:
    runtime = SimulationRuntime({"src-gen/IPD_T.scxml": doc}, "src-gen/IPD_T.scxml", {})
    for _ in range(20):
        if runtime.finished:
            break
        runtime.apply({"op": "step", "unit": "macro"})
    return runtime


def error_messages(runtime: SimulationRuntime) -> list[str]:
    return [str(e.get("message")) for e in runtime.session.errors]


def test_limits_are_read_from_the_settings(settings) -> None:
    settings.JS_MEMORY_LIMIT = 16 * MIB
    settings.JS_TIME_LIMIT_MS = 250
    settings.SIMULATION_WORKERS = 3
    settings.SIMULATION_WORKERS_PER_USER = 0
    assert Limits.from_settings(settings) == Limits(js_memory=16 * MIB, js_time=0.25, workers=3, workers_per_user=1)


def test_a_script_allocating_beyond_the_memory_setting_fails_only_under_the_smaller_limit(settings) -> None:
    settings.JS_TIME_LIMIT_MS = 20_000  # a loaded machine must not turn this into a time-limit test
    settings.JS_MEMORY_LIMIT = 64 * MIB
    roomy = live_run(HUNGRY)
    assert roomy.session.final_state == "done" and error_messages(roomy) == []
    roomy.close()

    settings.JS_MEMORY_LIMIT = 8 * MIB
    tight = live_run(HUNGRY)
    assert any("exceeded the memory limit of 8 MiB" in m for m in error_messages(tight)), error_messages(tight)
    tight.close()


def test_a_restarted_simulation_has_its_whole_memory_limit_again(settings) -> None:
    """A restart runs in the JS runtime of the run before (SimulationRuntime keeps it): the closed
    run's memory is given back, so every run fits the limit as the first did, and one that did not
    fails the same way."""
    settings.JS_TIME_LIMIT_MS = 20_000
    settings.JS_MEMORY_LIMIT = 64 * MIB  # room for one run's array (3,000,000 values of 16 bytes), not two
    runtime = live_run(HUNGRY)
    for _ in range(3):
        runtime.restart()
        for _ in range(20):
            if runtime.finished:
                break
            runtime.apply({"op": "step", "unit": "macro"})
        assert runtime.session.final_state == "done" and error_messages(runtime) == []
    runtime.close()

    settings.JS_MEMORY_LIMIT = 8 * MIB
    tight = live_run(HUNGRY)
    first = error_messages(tight)
    tight.restart()
    for _ in range(20):
        if tight.finished:
            break
        tight.apply({"op": "step", "unit": "macro"})
    assert error_messages(tight) == first and any("exceeded the memory limit of 8 MiB" in m for m in first)
    tight.close()


def test_a_busy_loop_hits_the_time_setting_only_when_it_is_short(settings) -> None:
    settings.JS_TIME_LIMIT_MS = 20_000
    patient = live_run(BUSY)
    assert patient.session.final_state == "done" and error_messages(patient) == []
    patient.close()

    settings.JS_TIME_LIMIT_MS = 10
    hasty = live_run(BUSY)
    assert any("exceeded the time limit of 0.01 s" in m for m in error_messages(hasty)), error_messages(hasty)
    hasty.close()


def test_the_simulate_command_applies_the_memory_setting(settings, tmp_path: Path) -> None:
    path = tmp_path / "Hungry.scxml"
    path.write_bytes(HUNGRY)

    def summary() -> dict:
        out = io.StringIO()
        call_command("simulate", str(path), "--profile", "ors", stdout=out)
        return json.loads(out.getvalue().splitlines()[-1])

    settings.JS_TIME_LIMIT_MS = 20_000
    settings.JS_MEMORY_LIMIT = 64 * MIB
    assert summary()["errors"] == []
    settings.JS_MEMORY_LIMIT = 8 * MIB
    assert "exceeded the memory limit of 8 MiB" in summary()["errors"][0]["message"]


@pytest.mark.parametrize("workers", [1, 3])
def test_the_worker_pool_is_created_on_first_use_with_the_workers_setting(workers: int) -> None:
    """A fresh process: importing the web layer creates no pool; the first job sizes it from
    ORCHWEB_SIMULATION_WORKERS, and that many jobs run at once (one more waits)."""
    script = """
import asyncio, threading, django
django.setup()
from simulator import sessions
assert sessions._pool is None, "the pool exists before any job"
workers, _ = sessions.pool_load()
gate = threading.Barrier(workers + 1, timeout=5)
async def main():
    jobs = [asyncio.ensure_future(sessions.execute(None, gate.wait)) for _ in range(workers)]
    await asyncio.sleep(0.2)
    gate.wait()  # passes only when every worker thread waits at the barrier too
    await asyncio.gather(*jobs)
    print(workers, sessions.pool().workers)
asyncio.run(main())
"""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "ORCHWEB_SIMULATION_WORKERS": str(workers)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(workers), str(workers)]


def test_a_session_started_by_the_strategy_runs_under_the_same_limits() -> None:
    """`<session:start>` creates another session in the run: the driver's limits reach it too."""
    parent = document(
        """<datamodel><data id="App" expr="({})"/></datamodel>
  <state id="wait"><onentry><session:start requestid="App.s" src="child.scxml"/></onentry>
    <transition event="done.scxml.Hungry" target="done"/></state>
  <final id="done"/>""",
        name="Parent",
    )
    files = {"main.scxml": parent, "child.scxml": HUNGRY}

    def child_errors(limits: Limits) -> list[str]:
        run = OrsRun(files, "main.scxml", limits=limits)
        run.run(max_time=60)
        child = next(s for s in run.group.sessions.values() if s is not run.session)
        messages = [str(e.get("message")) for e in child.errors]
        run.close()
        return messages

    assert child_errors(Limits(js_memory=64 * MIB, js_time=20.0)) == []
    assert any("exceeded the memory limit of 8 MiB" in m for m in child_errors(Limits(js_memory=8 * MIB, js_time=20.0)))
