"""The fakes profile's ``javascript`` setting: the built-ins a strategy sees (docs/fakes.md).
ORS runs an ES5-era SpiderMonkey-based engine, so by default a strategy that uses a later global
fails as it would there: with a ReferenceError the trace shows and Composer's error transitions catch."""

from __future__ import annotations

import pytest

from simulator.ors.dialect import ORS
from simulator.ors.fakes import FakesError, load_fakes

from .strategies import assert_failed_on_error, block_strategy, run, value

USES_MAP = block_strategy("""<onentry><script>var m = new Map(); m.set('k', 7); out.k = m.get('k');
      out.kinds = [typeof Promise, typeof Proxy, typeof Uint8Array, typeof WeakMap, typeof performance,
        typeof atob];</script>
      <send event="'next'"/></onentry>
      <transition event="error.script" target="failed">
        <assign location="out.e" expr="[_event.name, _event.data.description]"/></transition>
      <transition event="next" target="ok"/>""")


def test_by_default_a_strategy_using_a_later_global_gets_an_error_event_and_a_trace_error():
    assert load_fakes(None).data["javascript"] == "es5"
    r = run(USES_MAP)
    assert_failed_on_error(r, "error.script.ReferenceError", "Map is not defined")
    assert value(r, "typeof JSON.parse + typeof Array.isArray + typeof [].indexOf + typeof ''.toSource") == (
        "function" * 4
    )


def test_a_global_the_es5_setting_leaves_out_is_reported_as_assumed_with_the_setting_that_gives_it():
    r = run(USES_MAP)
    expected = {
        "what": "javascript global",
        "asked": {"global": "Map"},
        "used": "not defined (es5 built-ins)",
        "fakes": {"path": ["javascript"], "value": "modern", "append": False},
        "file": None,
        "line": None,
    }
    assert r.platform.assumptions == [expected]
    records = [rec for rec in r.records if rec["type"] == "assumption"]
    assert [{k: rec[k] for k in expected} for rec in records] == [expected]


def test_an_undefined_name_of_the_strategys_own_is_no_assumption():
    doc = block_strategy("""<onentry><script>out.v = notDeclaredAnywhere + 1;</script><send event="'next'"/></onentry>
      <transition event="error.script" target="failed"/><transition event="next" target="ok"/>""")
    r = run(doc)
    assert r.session.final_state == "failed"
    assert r.platform.assumptions == []
    assert run(USES_MAP, {"javascript": "modern"}).platform.assumptions == []


def test_the_modern_setting_gives_the_strategy_every_global():
    r = run(USES_MAP, {"javascript": "modern"})
    assert r.session.final_state == "ok", r.session.errors
    assert value(r, "out.k") == 7
    assert value(r, "out.kinds") == ["function", "function", "function", "function", "object", "function"]


def test_the_setting_is_validated_and_read_per_run():
    with pytest.raises(FakesError, match=r"\$\.javascript: 'es6' is not one of 'es5', 'modern'"):
        load_fakes({"javascript": "es6"})
    assert ORS.js_intrinsics(None) == "es5"


def test_host_functions_print_as_native_code_and_the_documents_own_keep_their_source():
    doc = block_strategy(
        "<onentry><send event=\"'next'\"/></onentry><transition event='next' target='ok'/>",
        on_entry_script="function mine(a) { return a + 1; }",
    )
    r = run(doc)
    assert r.session.final_state == "ok", r.session.errors
    assert value(r, "String(_genesys.session.getListItemValue)") == (
        "function getListItemValue() {\n    [native code]\n}"
    )
    assert (
        value(r, "String(__Log).indexOf('[native code]') > 0 && String(mine)") == "function mine(a) { return a + 1; }"
    )


def test_the_debuggers_copy_has_the_sessions_built_ins():
    from simulator import debugger

    limits = (16 * 1024 * 1024, 1.0)
    assert debugger.evaluate_on_copy({"n": 2}, "typeof Map + n", *limits, "es5") == {"value": "undefined2"}
    assert debugger.evaluate_on_copy({"n": 2}, "new Map([[1, n]]).get(1)", *limits) == {"value": 2}
    assert debugger.watch_values({}, ["typeof Promise"], *limits, "es5") == [
        {"expression": "typeof Promise", "value": "undefined"}
    ]
    assert debugger.condition_holds({}, "new Set()", *limits, "es5") == (True, "ReferenceError: Set is not defined")
