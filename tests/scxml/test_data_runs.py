"""A state's `<data>` without a value, declared in one JavaScript call per run (`declare_undefined`):
what each declaration does and raises must be what it did alone, once each and in document order."""

from __future__ import annotations

import contextlib
import json

import pytest

from simulator.scxml import datamodel as datamodel_module
from simulator.scxml.datamodel import ECMAScriptDataModel, JSError, SharedCode

from .conftest import Run, chart, counted_models

#: names met by a run: new ones, a name given twice, a system variable (read-only accessor), a
#: non-writable built-in, a writable one, an invalid name, the run's own private names (refused)
NAMES = [
    "p1",
    "p2",
    "_sessionid",
    "p3",
    "NaN",
    "p4",
    "if",
    "p1",
    "p5",
    "__orchweb_j",
    "__orchweb_s",
    "p6",
    "Infinity2",
    "acc",
    "p7",
    "fixed",
    "p8",
    "lex",
    "p9",
    "dead",
    "p10",
    "arguments",
    "eval",
    "p11",
]
#: what a document may have made before (late binding, or a document's own state): an accessor
#: whose getter and setter log, a `const`, a `let`, a `let` left in its dead zone
SETUP = (
    "var log = []; Object.defineProperty(globalThis, 'acc', {configurable: true,"
    " get: function () { log.push('get'); return 1; }, set: function (v) { log.push('set ' + v); }});"
    " const fixed = 1; let lex = 2;"
)
STATE = (
    "JSON.stringify([log, lex, Object.getOwnPropertyNames(globalThis).filter(function (k) {"
    # (`_{2}`: a document's text with the private prefix itself is refused)
    " return /^(p|q)[0-9]+$|^_{2}orchweb_[js]$|^Infinity2$|^arguments$/.test(k); }).map(function (k) {"
    " var d = Object.getOwnPropertyDescriptor(globalThis, k); return [k, d.value, d.writable, d.enumerable,"
    " d.configurable]; }), typeof NaN, typeof eval, typeof arguments])"
)


def _alone(dm: ECMAScriptDataModel, ids: list[str]) -> list[tuple[int, str, str]]:
    """What `initialize_data` did for each `<data>` without a value before runs."""
    errors = []
    for k, id in enumerate(ids):
        try:
            dm.declare(id, None)
        except Exception as exc:
            with contextlib.suppress(Exception):
                dm.declare(id, None)
            errors.append((k, type(exc).__name__, str(exc)))
    return errors


def _in_runs(dm: ECMAScriptDataModel, ids: list[str]) -> list[tuple[int, str, str]]:
    """What `ExecutableContent._declare_run` does with `declare_undefined`."""
    errors = []
    names, i = tuple(ids), 0
    while i < len(ids):
        stop, exc = dm.declare_undefined(names, i)
        if stop >= len(ids):
            break
        if exc is None:
            errors += [(stop, *e[1:]) for e in _alone(dm, [ids[stop]])]
        else:
            with contextlib.suppress(Exception):
                dm.declare(ids[stop], None)
            errors.append((stop, type(exc).__name__, str(exc)))
        i = stop + 1
    return errors


@pytest.mark.parametrize("shared", [False, True])
def test_a_run_of_declarations_raises_and_does_what_each_declaration_did_alone(shared):
    code = SharedCode() if shared else None
    outcomes = []
    for declare in (_alone, _in_runs, _in_runs, _alone):  # compiled, then from the shared bundle
        dm = ECMAScriptDataModel()
        if code is not None:
            dm.share_code(code)
        try:
            dm.set_system("_sessionid", "s1")
            dm.execute(SETUP)
            with contextlib.suppress(JSError):
                dm.execute("let dead = (function () { throw new Error('never'); })();")
            first = declare(dm, NAMES)
            dm.execute("Object.preventExtensions(globalThis);")
            then = declare(dm, ["q1", "p1", "q2", "q3"])
            outcomes.append((first, then, dm.evaluate(STATE)))
        finally:
            dm.close()
    assert outcomes[1] == outcomes[0] and outcomes[2] == outcomes[0] and outcomes[3] == outcomes[0]
    first, then, state = outcomes[0]
    # each error once, in document order: the system variable, `if`, the two private names, the
    # const, the dead `let`
    assert [k for k, _, _ in first] == [2, 6, 9, 10, 15, 19], first
    assert "reserved by the simulator" in first[2][2] and "reserved by the simulator" in first[3][2]
    assert [k for k, _, _ in then] == [0, 2, 3], then  # the non-extensible global refuses new names
    assert json.loads(state)[0] == ["get", "set undefined"]  # the accessor's own, once each


def _records(one_by_one: bool) -> list[str]:
    class OneByOne(ECMAScriptDataModel):
        def declare_undefined(self, ids, start):
            return start, None

    with pytest.MonkeyPatch.context() as patch:
        if one_by_one:
            patch.setattr(datamodel_module, "ECMAScriptDataModel", OneByOne)
        body = "".join(f'<data id="{id}"/>' for id in NAMES if id not in ("acc", "fixed", "lex", "dead"))
        text = chart(
            f'<datamodel>{body}<data id="x" expr="1"/><data id="p20"/><data id="p21"/></datamodel>'
            '<state id="s"><datamodel><data id="p22"/><data id="p23"/></datamodel>'
            '<onentry><log label="seen" expr="JSON.stringify([typeof p23, p1, Object.keys(globalThis)])"/></onentry>'
            "</state>"
        )
        run = Run(text)
        try:
            run.idle()
            assert isinstance(run.session.datamodel, OneByOne) is one_by_one
            return [json.dumps(r, sort_keys=True, default=str) for r in run.records]
        finally:
            run.session.close()


def test_a_documents_data_is_declared_as_it_was_one_by_one():
    runs = _records(False)
    assert runs == _records(True)
    assert sum('"error.execution"' in r for r in runs) >= 2


def test_a_run_of_declarations_without_a_value_is_one_javascript_call():
    calls: list[object] = []
    for session, model in enumerate(counted_models(calls, 3)):  # compiled, then from the shared bundle
        model.declare("warm")  # the bundle loaded (or this session's own function compiled)
        del calls[:]
        assert model.declare_undefined(("a", "b", "c"), 0) == (3, None)
        assert len(calls) == (3 if session == 0 else 1)  # the first compiles it (a factory)
        assert model.evaluate("Object.keys(globalThis).join()").endswith("a,b,c")
        model.execute("var b2 = 1; const c2 = 1;")
        assert model.declare_undefined(("a2", "b2", "c2", "d2"), 0) == (1, None)  # b2 exists: alone
        stop, error = model.declare_undefined(("a2", "b2", "c2", "d2"), 2)
        assert stop == 2 and isinstance(error, JSError) and error.name == "TypeError"
        assert model.evaluate("'d2' in globalThis") is False  # none after the failing one
        assert model.declare_undefined(("a2", "b2", "c2", "d2"), 3) == (4, None)
        assert model.declare_undefined(("x", "if", "y"), 0) == (0, None)  # an invalid name: alone
