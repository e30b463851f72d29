"""The datamodel record in C (`Context.record_changes`, native/quickjs/module.c) against the JS
helper it replaced, kept here verbatim as the reference: the raw answers must be the same text.

docs/performance.md, "The datamodel record in C". Each scenario runs in two datamodels, one
recording through the binding and one through the reference (loaded before any document code, as
the datamodel's own helpers were), and compares every answer (or error) of the two.
"""

from __future__ import annotations

from typing import Any

import pytest

from simulator.scxml import datamodel as datamodel_module
from simulator.scxml.datamodel import ECMAScriptDataModel, JSError

# The JS `changes` helper of simulator/scxml/datamodel.py before the record moved into the
# binding (with `visibleNames` of _EXTRAS), with the built-ins it used captured at load.
REFERENCE = r"""
(function (P) {
  'use strict';
  var G = P.G, json = P.json, stringify = P.stringify, keys = P.keys, hidden = P.hidden, StringCtor = P.String,
      getterOf = P.getterOf, create = Object.create, join = Function.prototype.call.bind(Array.prototype.join);
  function visibleNames() {
    var ks = keys(G), names = [], n = 0;
    for (var i = 0; i < ks.length; i++) {
      var k = ks[i];
      if (hidden[k] === true || (k.charCodeAt(0) === 95 && k.slice(0, 10) === '__orchweb_')) continue;
      if (getterOf(G, k) === undefined && typeof G[k] === 'function') continue;
      names[n++] = k;
    }
    return names;
  }
  // The visible globals new or changed since the last call and those gone since, compared by JSON
  // text kept here (`reset`: compared with nothing), as one JSON text
  // [[[name, value] | [name, "JSON text", 1], ...], [gone name, ...]]: the unchanged ones never
  // cross. The texts kept here are bounded (MEMO characters, counted in the session's memory limit):
  // the variables past it cross every time as text ([name, text, 1]), compared by the caller.
  var MEMO = 65536, OVER = {}, lastTexts = null, lastCount = 0;
  function changes(reset) {
    var names = visibleNames(), prev = reset || lastTexts === null ? create(null) : lastTexts,
        next = create(null), parts = [], removed = [], n = 0, m = 0, kept = 0, count = 0, known = 0,
        i, k, text, old;
    for (i = 0; i < names.length; i++) {
      k = names[i];
      if (!(k in G)) continue;
      try { text = json(G[k]); } catch (err) { text = stringify('<' + StringCtor(err) + '>'); }
      if (text === undefined) text = null;
      count++;
      old = prev[k];
      if (old !== undefined) known++;
      if (text !== null && kept + text.length > MEMO) {
        next[k] = OVER;
        parts[n++] = '[' + stringify(k) + ',' + stringify(text) + ',1]';
        continue;
      }
      kept += text === null ? 0 : text.length;
      next[k] = text;
      if (old !== text) parts[n++] = '[' + stringify(k) + ',' + (text === null ? 'null' : text) + ']';
    }
    // every name of the last call seen again: none is gone (names are unique)
    if (known < lastCount) {
      var before = keys(prev);
      for (i = 0; i < before.length; i++) if (!(before[i] in next)) removed[m++] = before[i];
    }
    // join, not +: quickjs-ng concatenates long strings into ropes, which the binding cannot return
    var out = join(['[[', join(parts, ','), '],', stringify(removed), ']'], '');
    lastTexts = next;
    lastCount = count;
    return out;
  }
  return changes;
})
"""


class Pair:
    """A datamodel recording in C and one recording with the reference, run in step."""

    def __init__(self, **options: Any) -> None:
        self.native = ECMAScriptDataModel(**options)
        self.js = ECMAScriptDataModel(**options)
        self.reference = self.js._run(self.js._eval(REFERENCE), self.js._js["P"])
        self.native.changes()  # sets the binding's record up; the baseline of both: no variable
        self.js._run(self.reference, False)

    def close(self) -> None:
        self.native.close()
        self.js.close()

    def both(self, action: str, *args: Any) -> None:
        for dm in (self.native, self.js):
            getattr(dm, action)(*args)

    def record(self, reset: bool = False) -> str | tuple[str, str]:
        """The raw answer of both (or the error of both), which must be the same."""
        answers = []
        for dm, fn in ((self.native, self.native._record), (self.js, self.reference)):
            try:
                answers.append(dm._run(fn, reset))
            except JSError as exc:
                answers.append((exc.name, exc.message))
        assert answers[0] == answers[1]
        return answers[0]


@pytest.fixture
def pair():
    p = Pair()
    yield p
    p.close()


def run(pair: Pair, *steps: str, action: str = "execute") -> list[str | tuple[str, str]]:
    """Execute each script in both, recording after each; every answer is compared. A script
    making orchweb's own private names (`__orchweb_*`, refused in a document's) runs as the
    embedder's (`action="execute_host"`)."""
    out = []
    for script in steps:
        pair.both(action, script)
        out.append(pair.record())
    return out


def test_variables_changes_removals_and_reset(pair):
    answers = run(
        pair,
        "var a = 1, b = {x: [1, 'two', null]}, u, s = 'text'; function f() {} var g = function () {};",
        "",
        "b.x.push(3); globalThis.added = [1]; delete globalThis.gone; u = undefined;",
        "delete globalThis.added; f = 3; a = function () {}; s = null;",
        "var added = 2; delete globalThis.b; globalThis.b = 'back, now last';",
        "delete globalThis.added; delete globalThis.f; var h = 1;",  # as many gone as new
    )
    assert answers[1] == "[[],[]]"
    assert answers[3] == '[[["s",null],["f",3]],["a","added"]]'
    assert pair.record(reset=True) == pair.record(reset=True)
    assert pair.record() == "[[],[]]"


def test_names_hidden_internal_odd_and_numeric(pair):
    pair.both("hide_globals", ["shim"])
    run(
        pair,
        "var shim = 1, __orchweb_x = 2, __orchweb = 3, _ = 4, __orchwebX = 5;"
        r" globalThis['q\"uote'] = 1; globalThis['back\\slash'] = 2; globalThis['tab\t\u0001'] = 3;"
        r" globalThis['caf\u00e9'] = 4; globalThis['\ud800lone'] = 5; globalThis['\ud83d\ude00'] = 6;"
        r" globalThis[''] = 7; globalThis['\u2028'] = 8; globalThis['nul\u0000x'] = 9;",
        "globalThis[5] = 'five'; globalThis[0] = 0; globalThis['4294967295'] = 'big'; globalThis['-1'] = 1;",
        r"delete globalThis[0]; delete globalThis['\ud800lone']; delete globalThis['q\"uote'];",
        action="execute_host",
    )


def test_names_found_not_internal_at_one_call_are_classified_again_at_the_next(pair):
    # The binding remembers which names it found not internal (functions too): a function that
    # becomes a value is a variable at once, an internal name never, a name hidden later is hidden.
    pair.both("execute_host", "function f() {} function g() {} function h() {} function __orchweb_f() {} var a = 1;")
    pair.record()
    run(
        pair,
        "f = 1; __orchweb_f = 2;",
        "",
        "delete globalThis.a; g = {v: [g.length]};",
        "f = function () {}; var a = 'again';",
        action="execute_host",
    )
    pair.both("hide_globals", ["g", "h"])
    run(pair, "h = 3; g = 4; f = 5;", "delete globalThis.f; globalThis.f = 6;")


def test_the_listing_and_kinds_read_from_the_shape_answer_as_object_keys(pair):
    # The binding lists the globals in one walk of the global's shape and classifies each from its
    # shape entry (quickjs patch 99a), handing array indices, varrefs and properties not made yet (a lazy
    # function) to upstream's listing and descriptors: every case against Object.keys' order.
    answers = run(
        pair,
        "var a = 1; function lazy() {} function used() {} used(); globalThis.h1 = 1; var b = 2; globalThis.h2 = 2;",
        "globalThis['4294967294'] = 'the last index, a string atom'; var c = 3;",
        "globalThis[7] = 'a tagged index'; globalThis['4294967295'] = 'no index';",
        "delete globalThis[7]; delete globalThis['4294967294']; globalThis.d = 4;",
        "globalThis[Symbol('s')] = 1; Object.defineProperty(globalThis, Symbol.for('t'), {value: 2,"
        " enumerable: true}); Object.defineProperty(globalThis, 'quiet', {value: 3, enumerable: false,"
        " writable: true, configurable: true});",
        "delete globalThis.h1; delete globalThis.h2; var a = 'after the holes';",
        "globalThis.pf = new Proxy(function () {}, {}); globalThis.po = new Proxy({v: 1}, {});"
        " var r = Proxy.revocable(function () {}, {}); globalThis.revoked = r.proxy; r.revoke();",
        "Object.defineProperty(globalThis, 'acc', {get: function () { return 5; }, enumerable: true,"
        " configurable: true}); Object.defineProperty(globalThis, 'setter', {set: function (v) {},"
        " enumerable: true, configurable: true});",
        "Object.defineProperty(globalThis, 'acc', {value: function () {}, enumerable: true, configurable: true});"
        " Object.defineProperty(globalThis, 'setter', {value: 6, enumerable: true, configurable: true});"
        " lazy = 'a value now';",
        "Object.defineProperty(globalThis, 'quiet', {enumerable: true}); Object.defineProperty(globalThis, 'd',"
        " {enumerable: false});",
    )
    assert answers[1].startswith('[[["4294967294",')
    assert pair.record(reset=True) == pair.record(reset=True)


def test_prototype_pollution_does_not_hide_a_variable(pair):
    # `hidden` has no prototype: Object.prototype.x === true hides nothing, in either path
    run(pair, "Object.prototype.polluted = true; var polluted = 1, other = 2;", "delete Object.prototype.polluted;")


def test_accessors_kept_and_data_functions_skipped(pair):
    run(
        pair,
        "var n = 0; Object.defineProperty(globalThis, 'g', {get: function () { return ++n; }, enumerable: true,"
        " configurable: true}); Object.defineProperty(globalThis, 'fg', {get: function () {"
        " return function () {}; }, enumerable: true, configurable: true});"
        " Object.defineProperty(globalThis, 'setOnly', {set: function (v) {}, enumerable: true,"
        " configurable: true}); Object.defineProperty(globalThis, 'hiddenEnum', {value: 1, enumerable: false,"
        " configurable: true}); globalThis.arrow = () => 1; globalThis.cls = class {};"
        " globalThis.bound = function () {}.bind(null); globalThis.re = /x/g; globalThis.d = new Date(0);",
        "",
        "Object.defineProperty(globalThis, 'g', {value: function () {}, enumerable: true, configurable: true});",
    )


def test_getters_and_to_json_that_throw(pair):
    run(
        pair,
        "Object.defineProperty(globalThis, 'e1', {get: function () { throw new Error('no'); }, enumerable: true,"
        " configurable: true}); Object.defineProperty(globalThis, 'e2', {get: function () { throw 'str'; },"
        " enumerable: true, configurable: true}); Object.defineProperty(globalThis, 'e3', {get: function () {"
        " throw Symbol('sym'); }, enumerable: true, configurable: true});"
        " Object.defineProperty(globalThis, 'e4', {get: function () { throw null; }, enumerable: true,"
        " configurable: true}); Object.defineProperty(globalThis, 'e5', {get: function () { throw undefined; },"
        " enumerable: true, configurable: true}); var t1 = {toJSON: function () { throw new TypeError('tj'); }};"
        " var t2 = {toJSON: function () { throw new RangeError('rj'); }}; var t3 = {toJSON: function () {"
        " return undefined; }}; var t4 = {toJSON: function () { return function () {}; }};"
        " var t5 = {toJSON: function () { throw {toString: function () { return 'custom'; }}; }};",
        "",
    )


def test_a_thrown_value_whose_string_throws_fails_the_call_in_both(pair):
    pair.both(
        "execute",
        "var a = 1; Object.defineProperty(globalThis, 'bad', {get: function () {"
        " throw {toString: function () { throw new Error('no string'); }}; }, enumerable: true,"
        " configurable: true});",
    )
    assert pair.record() == ("Error", "no string")
    pair.both("execute", "delete globalThis.bad;")
    assert pair.record() == '[[["a",1]],[]]'  # the failed call left the memo as it was


def test_values_json_refuses(pair):
    run(
        pair,
        "var cyc = {a: 1}; cyc.self = cyc; var big = 12345678901234567890n, small = 5n;"
        " var mixed = [1, cyc, {b: 2n}]; var nan = NaN, inf = -Infinity, neg = -0;",
        "cyc.a = 2;",
        "RangeError = 5;",  # the fallback's instanceof now throws: '<TypeError ...>'
        "TypeError = null; RangeError = Error;",
    )


def test_getters_that_change_later_globals_midway(pair):
    run(
        pair,
        "var first = 0, later = 1, other = 2; Object.defineProperty(globalThis, 'aa', {get: function () {"
        " delete globalThis.later; globalThis.fresh = 1; other = function () {}; first++; return 'x'; },"
        " enumerable: true, configurable: true}); var zz = 3;",
        "var later = 'again';",
        "Object.defineProperty(globalThis, 'ab', {get: function () {"
        " Object.defineProperty(globalThis, 'zz', {get: function () { return 'redefined'; }, enumerable: true,"
        " configurable: true}); return 1; }, enumerable: true, configurable: true});",
        "Object.defineProperty(globalThis, 'ac', {get: function () { delete globalThis.zz; return 2; },"
        " enumerable: true, configurable: true}); Object.prototype.zz = 'from the prototype';",
    )


@pytest.mark.parametrize("unit", ["x", r"\u00e9", r"\ud83d\ude00", r"\u4e00"])
def test_memo_bound_counts_utf16_units(pair, unit):
    # 65,536 characters of texts are kept; the JSON text's quotes count (length + 2)
    run(
        pair,
        f"var a = '{unit}'.repeat(30000); var b = '{unit}'.repeat(40000); var c = 1;",
        "",
        f"a = '{unit}'.repeat(10);",
        "",
        "var fill = 'y'.repeat(65536 - 2 - JSON.stringify(a).length - 1);",  # exactly full with c
        "c = 22;",
        "c = 3; b = 1;",
        f"b = '{unit}'.repeat(40000);",
        "delete globalThis.b; delete globalThis.fill;",
    )
    assert pair.record(reset=True) == pair.record(reset=True)


def test_many_variables(pair):
    run(
        pair,
        "for (var i = 0; i < 3000; i++) globalThis['v' + i] = i;",
        "for (var i = 0; i < 3000; i += 7) globalThis['v' + i] = 'changed';",
        "for (var i = 0; i < 3000; i += 3) delete globalThis['v' + i];",
        "for (var i = 2999; i >= 0; i -= 5) globalThis['v' + i] = [i];",
    )


def test_interrupted_call_leaves_the_memo_as_it_was():
    pair = Pair(time_limit=0.2)
    try:
        pair.both(
            "execute",
            "var a = 1, stop = false; Object.defineProperty(globalThis, 'slow', {get: function () {"
            " while (!stop) {} return 0; }, enumerable: true, configurable: true}); var z = 'after';",
        )
        assert pair.record() == ("InternalError", "interrupted: exceeded the time limit of 0.2 s")
        pair.both("execute", "stop = true; a = 2;")
        assert pair.record() == '[[["a",2],["stop",true],["z","after"],["slow",0]],[]]'
    finally:
        pair.close()


def test_a_value_too_big_for_the_memory_limit_fails_alike():
    pair = Pair(memory_limit=8 * 1024 * 1024)
    try:
        pair.both(
            "execute", "var a = 1, s = 'x'.repeat(100000), huge = []; for (var i = 0; i < 100; i++) huge.push(s);"
        )
        assert "out of memory" in str(pair.record())  # JSON.stringify's 10 MB: caught as the variable's text
        pair.both("execute", "huge = null; a = 2;")
        pair.record()
    finally:
        pair.close()


def test_a_getter_recording_in_a_callback_leaves_the_outer_call_whole():
    dm = ECMAScriptDataModel()
    inner: list[Any] = []
    try:

        def record_now() -> int:
            if not inner:  # the inner call reads `g` too
                inner.append(None)
                inner[0] = dm.changes()
            return 0

        dm.define_function("recordNow", record_now)
        dm.execute(
            "var a = 1; Object.defineProperty(globalThis, 'g', {get: function () { return recordNow(); },"
            " enumerable: true, configurable: true}); var z = 2;"
        )
        first = dm.changes()
        assert first == ({"a": 1, "g": 0, "z": 2}, [])
        assert inner == [({"a": 1, "g": 0, "z": 2}, [])]  # its own reading got the same
        dm.execute("a = 3;")
        assert dm.changes() == ({"a": 3}, [])  # the outer call's memo
    finally:
        dm.close()


def test_the_ors_sample_records_the_same_at_every_step(shared_dir, monkeypatch):
    # Every record of a traced run of the real sample answered by both, in the same context.
    from simulator.ors.project import find_entry, load_project
    from simulator.runners.driver import OrsRun

    answers: list[str] = []

    class Checked(ECMAScriptDataModel):  # the engine's datamodel (a compiled class: subclassed, not patched)
        def _record_setup(self) -> Any:
            native = super()._record_setup()
            reference = self._run(self._eval(REFERENCE), self._js["P"])

            def both(reset: bool) -> str:
                answer = native(reset)
                assert reference(reset) == answer
                answers.append(answer)
                return answer

            self._record = both
            return both

    monkeypatch.setattr(datamodel_module, "ECMAScriptDataModel", Checked)
    files = load_project(shared_dir / "ors-samples" / "crd-gvp-wf")
    run = OrsRun(files, find_entry(files), trace=True)
    run.run()
    run.session.close()
    assert len(answers) > 10 and sum(len(a) > len("[[],[]]") for a in answers) > 10


def test_memo_bound_at_its_exact_edge(pair):
    full = "x" * 65534  # its JSON text: 65,536 characters, the whole memo
    assert run(pair, "var a = 'x'.repeat(65534);", "var b = 1;", "", "a = 'x'.repeat(65535);", "b = 2;") == [
        f'[[["a","{full}"]],[]]',
        '[[["b","1",1]],[]]',  # past the memo: crosses as text, every call
        '[[["b","1",1]],[]]',
        f'[[["a","\\"{full}x\\"",1],["b",1]],[]]',
        '[[["a","\\"' + full + 'x\\"",1],["b",2]],[]]',
    ]


def test_primitives_held_again_reuse_their_text(pair):
    # the binding does not stringify a primitive equal to the last call's: same answers
    answers = run(
        pair,
        "var i = 1, f = 1.5, z = 0, s = 'same', t = true, n = null, u, nan = NaN, big = 2n;",
        "i = 0.5 * 2; f = 3 / 2; z = -0; s = 'sa' + 'me'; t = !false; big = 1n + 1n; nan = 0 / 0;",
        "i = 2; z = 0; s = 'other'; t = false; n = undefined; u = null; nan = Infinity;",
        "i = '2'; s = 2; u = undefined; n = 'null';",
    )
    assert answers[1] == "[[],[]]"
