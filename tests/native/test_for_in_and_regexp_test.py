"""for-in with its keys in a list (patches/99d-for-in-key-list.patch) and RegExp.prototype.test
without the match's array (patches/99e-regexp-test-without-array.patch): both are meant to be
invisible, so these are guards: every case below gives what it gave before the patches (the
same expected texts pass against the binding built without them)."""

from __future__ import annotations

import json

import orchweb_quickjs
import pytest


def _run(source: str) -> object:
    """The completion value of the program `source` (its last expression), through JSON."""
    ctx = orchweb_quickjs.Context()
    return json.loads(ctx.eval(source).json())


FOR_IN_CASES = {
    # own keys: integer-like first, ascending, then strings in insertion order
    "order": (
        "var o = {b: 1, 2: 1, a: 1, 1: 1, c: 1}; var r = []; for (var k in o) r.push(k); r",
        ["1", "2", "b", "a", "c"],
    ),
    # a key deleted before it is reached is skipped; a key added during the loop is not visited
    "delete and add": (
        "var o = {a: 1, b: 2, c: 3, d: 4}; var r = [];"
        "for (var k in o) { r.push(k); if (k == 'a') { delete o.c; o.e = 5; } } r",
        ["a", "b", "d"],
    ),
    # deleted then added again before it is reached: visited (it is there when its turn comes)
    "delete and re-add": (
        "var o = {a: 1, b: 2, c: 3}; var r = [];"
        "for (var k in o) { r.push(k); if (k == 'a') { delete o.b; o.b = 9; } } r",
        ["a", "b", "c"],
    ),
    # non-enumerable and symbol keys are not listed; getters are not called by the loop
    "non-enumerable, symbols, getters": (
        "var n = 0, o = {a: 1}; Object.defineProperty(o, 'h', {value: 1, enumerable: false});"
        "o[Symbol('s')] = 1; Object.defineProperty(o, 'g', {get: function () { n++; return 1; }, enumerable: true});"
        "var r = []; for (var k in o) r.push(k); r.push(n); r",
        ["a", "g", 0],
    ),
    # enumerable keys of the prototype chain (the other path), shadowed by a non-enumerable own one
    "prototype chain": (
        "var p = {x: 1, y: 2}; var o = Object.create(p); o.a = 1;"
        "Object.defineProperty(o, 'y', {value: 3, enumerable: false}); var r = []; for (var k in o) r.push(k); r",
        ["a", "x"],
    ),
    "Object.prototype made enumerable, then not": (
        "var r = []; Object.prototype.zz = 1; for (var k in {a: 1}) r.push(k); delete Object.prototype.zz;"
        "for (var k in {b: 1}) r.push(k); Object.defineProperty(Object.prototype, 'q', {value: 1, enumerable: false,"
        " configurable: true}); for (var k in {c: 1}) r.push(k); r",
        ["a", "zz", "b", "c"],
    ),
    "arrays, strings, arguments, primitives": (
        "var r = []; var a = [5, 6]; a.x = 1; for (var k in a) r.push(k); for (var k in [7, 8]) r.push(k);"
        "for (var k in 'hi') r.push(k); (function () { for (var k in arguments) r.push('arg' + k); })(1, 2);"
        "for (var k in null) r.push(k); for (var k in undefined) r.push(k); for (var k in 5) r.push(k);"
        "for (var k in Object.freeze({f: 1})) r.push(k); r",
        ["0", "1", "x", "0", "1", "0", "1", "arg0", "arg1", "f"],
    ),
    # a proxy's traps are called as before, in the same order (no has check for a proxy's keys)
    "proxy": (
        "var log = []; var t = {a: 1, b: 2};"
        "var p = new Proxy(t, {ownKeys: function (x) { log.push('ownKeys'); return Reflect.ownKeys(x); },"
        " getOwnPropertyDescriptor: function (x, k) { log.push('gopd ' + String(k));"
        " return Reflect.getOwnPropertyDescriptor(x, k); },"
        " has: function (x, k) { log.push('has ' + k); return k in x; },"
        " getPrototypeOf: function (x) { log.push('proto'); return Reflect.getPrototypeOf(x); }});"
        "for (var k in p) log.push('key ' + k); var o = Object.create(p); o.c = 1;"
        "for (var k in o) log.push('key ' + k); log",
        [
            "proto",  # the proxy's own prototype: nothing enumerable there
            "ownKeys",
            "gopd a",
            "gopd b",
            "key a",
            "key b",
            "ownKeys",  # o's prototype (the proxy) lists keys: the other path
            "gopd a",
            "gopd b",
            "ownKeys",
            "gopd a",
            "gopd b",
            "proto",
            "key c",
            "has a",
            "key a",
            "has b",
            "key b",
        ],
    ),
    "many keys, all deleted on the way": (
        "var o = {}; for (var i = 0; i < 300; i++) o['k' + i] = i; var r = [];"
        "for (var k in o) { r.push(k); for (var j in o) delete o[j]; } r",
        ["k0"],
    ),
    "nested loops and break": (
        "var o = {a: 1, b: 2}, r = []; for (var x in o) { for (var y in o) { r.push(x + y); break; } } r",
        ["aa", "ba"],
    ),
}


@pytest.mark.parametrize("name", list(FOR_IN_CASES))
def test_for_in_visits_the_keys_it_did(name: str) -> None:
    source, expected = FOR_IN_CASES[name]
    assert _run(source) == expected


def test_a_loop_left_early_frees_its_keys() -> None:
    ctx = orchweb_quickjs.Context()
    ctx.eval("var o = {}; for (var i = 0; i < 50; i++) o['key' + i] = i;")
    loop = "for (var n = 0; n < 2000; n++) { for (var k in o) break; }"
    ctx.eval(loop)
    ctx.runtime.gc()
    before = ctx.runtime.memory()["malloc_size"]
    ctx.eval(loop)
    ctx.runtime.gc()
    assert ctx.runtime.memory()["malloc_size"] <= before


REGEXP_TEST_CASES = {
    "match or not, no argument": (
        "[/a/.test('xa'), /a/.test('b'), /undefined/.test(), /^$/.test('')]",
        [True, False, True, True],
    ),
    # global and sticky: lastIndex moves on a match and goes back to 0 on a miss
    "global lastIndex": (
        "var re = /a/g, r = []; for (var i = 0; i < 3; i++) { r.push(re.test('aa'), re.lastIndex); } r",
        [True, 1, True, 2, False, 0],
    ),
    "sticky lastIndex": (
        "var re = /a/y, r = []; r.push(re.test('ab'), re.lastIndex, re.test('ab'), re.lastIndex); r",
        [True, 1, False, 0],
    ),
    # not global: lastIndex is read (valueOf runs) but kept
    "lastIndex read, kept": (
        "var n = 0, re = /b/; re.lastIndex = {valueOf: function () { n++; return 7; }};"
        "var t = re.test('abc'); [t, n, typeof re.lastIndex]",
        [True, 1, "object"],
    ),
    "lastIndex past the end": ("var re = /a/g; re.lastIndex = 9; [re.test('aa'), re.lastIndex]", [False, 0]),
    # an exec reached from inside test (the argument's toString) makes its array as ever
    "nested exec": (
        "var inner; var s = {toString: function () { inner = /(b)(c)?/.exec('xb'); return 'a'; }};"
        "var t = /a/.test(s); [t, inner.length, inner[0], inner[1], inner[2] === undefined, inner.index, inner.input]",
        [True, 3, "b", "b", True, 1, "xb"],
    ),
    "nested test": (
        "var inner; var s = {toString: function () { inner = /b/.test('b'); return 'a'; }}; [/a/.test(s), inner]",
        [True, True],
    ),
    # a replaced exec is called and checked as before
    "own exec": (
        "var re = /a/, calls = [];"
        "re.exec = function (s) { calls.push(String(s)); return calls.length == 1 ? {} : null; };"
        "var r = [re.test('q'), re.test('a')];"
        "re.exec = function () { return 1; }; try { re.test('a'); } catch (e) { r.push(e.name + ': ' + e.message); }"
        "re.exec = RegExp.prototype.exec.bind(/z/); r.push(re.test('z'), re.test('a')); r.concat(calls)",
        [True, False, "TypeError: RegExp exec method must return an object or null", True, False, "q", "a"],
    ),
    "prototype exec replaced and restored": (
        "var saved = RegExp.prototype.exec, n = 0;"
        "RegExp.prototype.exec = function (s) { n++; return saved.call(this, s); };"
        "var r = [/a/.test('a'), /a/.test('b'), n]; RegExp.prototype.exec = saved; r.push(/a/.test('a')); r",
        [True, False, 2, True],
    ),
    "exec not a function": (
        "var re = /a/; re.exec = 5; [re.test('a'), re.test('b')]",
        [True, False],
    ),
    "not a regexp": (
        "var r = []; try { RegExp.prototype.test.call({}, 'a'); } catch (e) { r.push(e.name); }"
        "r.push(RegExp.prototype.test.call({exec: function () { return null; }}, 'a'));"
        "try { RegExp.prototype.test.call(5, 'a'); } catch (e) { r.push(e.name); } r",
        ["TypeError", False, "TypeError"],
    ),
    "named groups, then exec": (
        "var re = /(?<x>a)|(?<y>b)/; var t = re.test('b'); var m = re.exec('b');"
        "[t, m.groups.y, m.groups.x === undefined]",
        [True, "b", True],
    ),
    "wide strings and unicode": (
        "[/é/.test('café'), /\\u{1F600}/u.test('a\\u{1F600}'), /^.$/u.test('\\u{1F600}'), /^.$/.test('\\u{1F600}')]",
        [True, True, True, False],
    ),
}


@pytest.mark.parametrize("name", list(REGEXP_TEST_CASES))
def test_regexp_test_answers_what_it_did(name: str) -> None:
    source, expected = REGEXP_TEST_CASES[name]
    assert _run(source) == expected


def test_an_error_inside_test_has_the_stack_it_had() -> None:
    # exec is still called as a function of its own: its frame shows in the stack
    source = "var s = {toString: function () { throw new Error('boom'); }};try { /a/.test(s); } catch (e) { e.stack; }"
    stack = orchweb_quickjs.Context().eval(source)
    lines = [line.strip() for line in stack.splitlines()]
    assert lines[0].startswith("at toString (<input>:1")
    assert lines[1] == "at exec (native)"
    assert lines[2] == "at test (native)"
