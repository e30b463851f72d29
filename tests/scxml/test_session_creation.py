"""What creating a session does once per process instead of once per session (bench/engine.py
memory; docs/performance.md, helper create7): the same behaviour as when every session did it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulator.scxml import datamodel
from simulator.scxml.datamodel import ECMAScriptDataModel, JSError, RuntimePool

ROOT = Path(__file__).resolve().parents[2]

# Expressions whose answers tell a function parsed in its context from one read from bytecode, or
# one bound to the realm that read it from one that runs in its caller's.
PROBES = [
    "arguments.callee.toString()",  # the compiled function's own source text
    "(function f(a, b) { return a; }).toString() + (function g() {}).name",
    "new Error('x').stack",  # its line and column, file <input>
    "(function (s) { return Object.isFrozen(s); })`a${1}b`",  # template literal: left as text
    "[[] instanceof Array, Object.getPrototypeOf(function () {}) === Function.prototype]",
    "(function* () { yield 1; })().next().value",
    "typeof secret + ':' + ({}).polluted + ':' + [].push(1)",
    "eval('var local = 3; local') + new Function('return 2')()",
    "/a(b)/.exec('xab')[1] + 12345678901234567890n",
]


def _answers(dm: ECMAScriptDataModel) -> list:
    out = []
    for expr in PROBES:
        try:
            out.append(dm.evaluate(expr))
        except JSError as exc:
            out.append((exc.name, exc.message, exc.line))
    dm.assign("seen", "arguments.callee.toString()")
    out.append(dm.evaluate("seen"))
    return out


def _private(**kwargs) -> ECMAScriptDataModel:
    dm = ECMAScriptDataModel(**kwargs)
    dm.declare("seen", "0")
    return dm


TAMPER = "var secret = 1; Object.prototype.polluted = 'yes'; Array.prototype.push = null;"


def _parsed(tamper: bool) -> list:
    """The answers of a context that parses every factory (the table past its limit)."""
    limit, datamodel._FACTORY_CODE_LIMIT = datamodel._FACTORY_CODE_LIMIT, 0
    dm = _private()
    try:
        if tamper:
            dm.execute(TAMPER)
        return _answers(dm)
    finally:
        dm.close()
        datamodel._FACTORY_CODE_LIMIT = limit


def test_compiled_functions_read_from_bytecode_answer_as_parsed_ones_in_every_context_of_a_runtime():
    # The runtime's first context reads the factories itself, the second reads them for the
    # runtime, later ones make closures of that read: each answers as a context that parses them,
    # and one context's tampering stays its own.
    datamodel._factory_codes.clear()
    clean, tampered = _parsed(False), _parsed(True)
    assert not datamodel._factory_codes
    assert clean[3] is True  # the tagged template's strings are frozen, as parsed
    assert clean != tampered
    pool = RuntimePool()
    sessions = [_private(runtimes=pool) for _ in range(4)]
    try:
        sessions[1].execute(TAMPER)
        for i, dm in enumerate(sessions):
            assert _answers(dm) == (tampered if i == 1 else clean)
        assert datamodel._factory_codes  # from bytecode, but the template literal's
        assert all(("`" in s) == (code is None) for s, code in datamodel._factory_codes.items())
    finally:
        for dm in sessions:
            dm.close()


def test_a_factory_that_does_not_compile_reports_the_error_its_evaluation_gives():
    pool = RuntimePool()
    dms = [ECMAScriptDataModel(runtimes=pool) for _ in range(3)]
    try:
        for dm in dms:
            with pytest.raises(JSError) as info:
                dm.evaluate("1 +\n (")
            assert info.value.name == "SyntaxError" and info.value.line == 2
        assert datamodel._factory_codes[datamodel._FACTORY % (datamodel._EVALUATE % "1 +\n (")] is None
    finally:
        for dm in dms:
            dm.close()


def test_the_table_of_factories_stops_at_its_limit_and_keeps_the_bytes_of_a_source():
    source = datamodel._FACTORY % (datamodel._EVALUATE_BOOL % "x === 'limit-test'")
    datamodel._factory_codes.pop(source, None)
    limit, datamodel._FACTORY_CODE_LIMIT = datamodel._FACTORY_CODE_LIMIT, len(datamodel._factory_codes)
    try:
        assert datamodel._factory_code(source) is None and source not in datamodel._factory_codes
    finally:
        datamodel._FACTORY_CODE_LIMIT = limit
    code = datamodel._factory_code(source)
    assert code is not None and datamodel._factory_code(source) is code  # one bytes object a source


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


# -- the system variables in one call, _CORE's helpers in one read (helper create8) -------------

SYSTEMS = (
    ("_sessionid", "s1"),
    ("_name", "doc"),
    ("_ioprocessors", {"http://www.w3.org/TR/scxml/#SCXMLEventProcessor": {"location": "#_scxml_s1"}}),
    ("_x", {}),
)

# what a document can see of the system variables: the globals' order, each one's descriptor
# (its getter's and setter's source text and names), value and what assigning it throws
FINGERPRINT = r"""JSON.stringify([Object.getOwnPropertyNames(globalThis), ['_sessionid', '_name', '_ioprocessors', '_x']
  .map(function (n) {
    var d = Object.getOwnPropertyDescriptor(globalThis, n), thrown;
    try { globalThis[n] = 1; } catch (e) { thrown = String(e); }
    return [n, String(d.get), d.get.name, String(d.set), d.set.name, d.enumerable, d.configurable,
            'value' in d, JSON.stringify(globalThis[n]), thrown];
  })])"""


def test_set_systems_defines_what_set_system_does_one_by_one():
    one_by_one, together = ECMAScriptDataModel(), ECMAScriptDataModel()
    try:
        for name, value in SYSTEMS:
            one_by_one.set_system(name, value)
        together.set_systems(SYSTEMS)
        assert together.evaluate(FINGERPRINT) == one_by_one.evaluate(FINGERPRINT)
        assert together.snapshot() == one_by_one.snapshot() == {}
        together.set_systems((("_sessionid", "s2"), ("_x", {"a": [1]})))  # the engine may update them
        assert together.evaluate("_sessionid + JSON.stringify(_x)") == 's2{"a":[1]}'
    finally:
        one_by_one.close()
        together.close()


def test_set_systems_checks_every_name_before_defining_any():
    dm = ECMAScriptDataModel()
    try:
        for bad in ("_event", "a b"):
            with pytest.raises(JSError):
                dm.set_systems((("_first", 1), (bad, 2)))
            assert dm.evaluate("typeof _first") == "undefined"
    finally:
        dm.close()
