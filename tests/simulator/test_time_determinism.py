"""A recipe gives byte-identical traces whatever the wall-clock time and the host's time zone, and a
replay in another process rebuilds the same records (Date follows the virtual clock, Math.random is
seeded): real processes, run at different times."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

STRATEGY = """<?xml version="1.0" encoding="utf-8"?>
<scxml version="1.0" xmlns="http://www.w3.org/2005/07/scxml" initial="wait" name="T">
  <state id="wait">
    <transition event="interaction.added" target="hours"/>
  </state>
  <state id="hours">
    <onentry>
      <script>var d = new Date(); var r = Math.random();</script>
      <log label="now" expr="[Date.now(), String(d), d.getHours(), d.getDay(), r].join(' | ')"/>
      <log label="zone" expr="_genesys.session.timeInZone('ECT') + ' ' + _genesys.session.dayInZone('PST')"/>
      <send event="'later'" delay="'90m'"/>
    </onentry>
    <transition event="later" cond="new Date().getHours() &gt;= 18" target="closed"/>
    <transition event="later" target="open"/>
  </state>
  <final id="open"><onentry><log label="open" expr="String(new Date()) + ' ' + Math.random()"/></onentry></final>
  <final id="closed"><onentry><log label="closed" expr="String(new Date()) + ' ' + Math.random()"/></onentry></final>
</scxml>
"""
FAKES = {"time": {"now": "2026-03-28T17:00:00", "zone": "ECT"}}
OPS = [{"op": "step", "unit": "macro"}, {"op": "step", "unit": "macro"}, {"op": "advance", "seconds": 7200}]

SCRIPT = r"""
import json, sys
from simulator.sessions import SimulationRuntime
strategy, fakes, ops, mode = json.loads(sys.stdin.read())
runtime = SimulationRuntime({"main.scxml": strategy.encode()}, "main.scxml", fakes, seed=11)
if mode == "run":
    for op in ops:
        runtime.apply(op)
else:  # rebuild from the inputs log of a run made in another process
    runtime.replay(ops)
sys.stdout.write(json.dumps({"records": runtime.records, "inputs": runtime.inputs}, sort_keys=True))
"""


def simulate(mode: str, ops: list[dict], tz: str) -> str:
    env = {**os.environ, "TZ": tz, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        input=json.dumps([STRATEGY, FAKES, ops, mode]),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_recipe_gives_byte_identical_traces_at_other_times_in_other_zones_and_on_replay():
    first = simulate("run", OPS, "UTC")
    time.sleep(1.5)  # a later wall-clock second, in a host zone nine hours away
    second = simulate("run", OPS, "Asia/Tokyo")
    assert second == first
    inputs = json.loads(first)["inputs"]
    replayed = simulate("replay", inputs, "America/Los_Angeles")
    assert json.loads(replayed)["records"] == json.loads(first)["records"]
    assert replayed == first

    logs = {r["label"]: r["value"] for r in json.loads(first)["records"] if r["type"] == "log"}
    # 17:00 in Paris on Saturday 28 March 2026 (+1); 90 virtual minutes later it is 18:30: closed
    now, text, hours, day, random = logs["now"].split(" | ")
    assert (now, text, hours, day) == ("1774713600000", "Sat Mar 28 2026 17:00:00 GMT+0100 (CET)", "17", "6")
    assert 0 <= float(random) < 1
    assert logs["zone"] == "17:00:00 6"
    assert logs["closed"].startswith("Sat Mar 28 2026 18:30:00 GMT+0100 (CET) 0.")
