"""What creating a session does once per process instead of once per session (bench/engine.py
memory; docs/performance.md, helper create7): the same behaviour as when every session did it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulator.scxml import datamodel
from simulator.scxml.datamodel import ECMAScriptDataModel

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("intrinsics", ["modern", "es5"])
def test_the_globals_a_fresh_context_enumerates_stay_hidden_from_snapshots(intrinsics):
    # _CORE's baseline is read once per kind of context: a "modern" one enumerates `performance`
    dm = ECMAScriptDataModel(intrinsics=intrinsics)
    try:
        dm.execute("performance = 5; var mine = 1;")
        visible = set(dm.snapshot())
        assert visible == ({"mine"} if intrinsics == "modern" else {"mine", "performance"})
        fresh = datamodel._new_context(8 << 20, datamodel.DEFAULT_STACK_SIZE, intrinsics)
        try:
            fresh.add_event_getter("__orchweb_event")
            keys = fresh.eval("JSON.stringify(Object.keys(globalThis))")
        finally:
            fresh.close()
        assert f"baseline = {keys};" in datamodel._core(intrinsics)
    finally:
        dm.close()


def test_a_null_datamodel_session_still_loads_no_js_engine():
    # make_datamodel and create_session keep their classes after the first use, imported lazily
    code = (
        "import sys\n"
        "from simulator.scxml.group import SessionGroup\n"
        "from simulator.scxml.model import model_from_string\n"
        'doc = \'<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="null">'
        '<state id="a"/></scxml>\'\n'
        "group = SessionGroup()\n"
        "for _ in range(2):\n"
        "    s = group.create_session(model_from_string(doc)); s.start()\n"
        "    assert s.configuration_ids == ['a'], s.configuration_ids\n"
        "print(type(s).__module__, 'simulator.scxml.datamodel' in sys.modules, 'orchweb_quickjs' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["simulator.scxml.interpreter", "False", "False"]
