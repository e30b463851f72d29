"""The ASGI entry point leaves what importing built out of the garbage collector's generations
(orchweb/asgi.py: a full collection would otherwise walk them each time, every socket waiting)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import gc, json
import orchweb.asgi
print(json.dumps({"frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects()), "thresholds": gc.get_threshold()}))
"""


def imported() -> dict:
    """The collector's figures in a fresh interpreter that imported the ASGI entry point."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_leaves_the_long_lived_objects_out_of_collections() -> None:
    counts = imported()
    # Django, Channels and the application's modules: tens of thousands of objects, frozen; what a
    # full collection still walks is what the process makes afterwards
    assert counts["frozen"] > 20_000
    assert counts["tracked"] < counts["frozen"] // 10


def test_the_young_generation_is_collected_less_often_than_by_default() -> None:
    """A young collection walks and promotes the steps in flight; promoted objects count towards
    the next full collection (orchweb/asgi.py)."""
    young, middle, old = imported()["thresholds"]
    assert young >= 5000 and (middle, old) == (10, 10)
