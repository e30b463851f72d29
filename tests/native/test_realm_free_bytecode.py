"""Context.run_bytecode(code, share=True) reads `code` once per runtime: its function bytecode is
realm-free (patches/40-realm-free-bytecode.patch, JS_MakeRealmFree) and every context of the
runtime evaluates the same read. A realm-free function runs in the realm of its caller, which is
its own context's only because the binding never lets one context's objects reach another.

The contract pinned here: each context sees its own globals and intrinsics in everything a shared
function does (literals, constructors, errors, generators, closures, eval, `new Function`, the
realm of a constructor whose `prototype` is not an object), a context's changes to its globals or
intrinsics never reach a sibling, and a program whose constants are bound to a realm (a tagged
template's strings) is read by each context, as before.
"""

from __future__ import annotations

import gc
import json

import orchweb_quickjs
import pytest

from tests.native.bytecode import compiled

LIBRARY = r"""var libCount = 0;
var lib = {
  array: function () { libCount++; return [1, 2]; },
  object: function () { return {a: 1}; },
  regexp: function () { return /a+/g; },
  push: function (list, item) { return list.push(item); },
  global: function () { return typeof myGlobal === 'undefined' ? 'none' : myGlobal; },
  json: function (v) { return JSON.stringify(v); },
  fail: function () { return missing.value; },
  typeError: function () { return null.x; },
  thrown: function () { throw new RangeError('range'); },
  gen: function* (n) { for (var i = 0; i < n; i++) yield [i, typeof myGlobal]; },
  counter: function () { var c = 0; return function () { c++; return [c, typeof myGlobal]; }; },
  evalIt: function (text) { return eval(text); },
  make: function (body) { return new Function(body); },
  callHost: function () { var before = typeof myGlobal; host(); return [before, typeof myGlobal, libCount]; },
  Shape: function Shape(n) { this.n = n; },
  Weird: function Weird() {}
};
lib.Shape.prototype.area = function () { return this.n * this.n; };
lib.Weird.prototype = 42;
var proto = {
  array: Object.getPrototypeOf(lib.array()) === Array.prototype,
  object: Object.getPrototypeOf(lib.object()) === Object.prototype,
  regexp: lib.regexp() instanceof RegExp
};
"""

#: what each context checks: every answer must be true
CHECKS = [
    "Object.getPrototypeOf(lib.array()) === Array.prototype",
    "lib.array() instanceof Array && Array.isArray(lib.array())",
    "Object.getPrototypeOf(lib.object()) === Object.prototype",
    "lib.regexp() instanceof RegExp && Object.getPrototypeOf(lib.regexp()) === RegExp.prototype",
    "proto.array && proto.object && proto.regexp",
    "caught(lib.fail) instanceof ReferenceError && caught(lib.fail).constructor === ReferenceError",
    "Object.getPrototypeOf(caught(lib.typeError)) === TypeError.prototype",
    "caught(lib.thrown) instanceof RangeError && caught(lib.thrown).stack.indexOf('library.js') >= 0",
    "new lib.Shape(3) instanceof lib.Shape && new lib.Shape(3).area() === 9",
    "Object.getPrototypeOf(new lib.Shape(1)) === lib.Shape.prototype",
    "Object.getPrototypeOf(lib.Shape.prototype) === Object.prototype",
    "Object.getPrototypeOf(lib.array) === Function.prototype && lib.array instanceof Function",
    "Object.getPrototypeOf(new lib.Weird()) === Object.prototype",
    "Object.getPrototypeOf(Reflect.construct(Object, [], lib.Weird)) === Object.prototype",
    "Object.getPrototypeOf(Object.getPrototypeOf(lib.gen(1))) === Object.getPrototypeOf(function* () {}).prototype",
    "Object.getPrototypeOf(lib.make('return []')()) === Array.prototype",
    "lib.make('return this')() === globalThis",
    "lib.evalIt('[]') instanceof Array && lib.evalIt('this') === lib && (0, lib.evalIt)('this') === globalThis",
    "lib.json({b: [1]}) === '{\"b\":[1]}'",
]


@pytest.fixture(scope="module")
def code() -> bytes:
    return compiled(LIBRARY, "library.js")


def contexts(count: int, code: bytes, intrinsics: str = "modern") -> list[orchweb_quickjs.Context]:
    """`count` contexts of one runtime evaluating its shared read of `code`, which the runtime's
    first two contexts made (the first reads its own, the second the runtime's) and closed."""
    runtime = orchweb_quickjs.Runtime()
    made = [orchweb_quickjs.Context(runtime, intrinsics) for _ in range(count + 2)]
    for ctx in made:
        ctx.run_bytecode(code, share=True)
    for ctx in made[:2]:
        ctx.close()
    runtime.gc()
    return made[2:]


def answers(ctx: orchweb_quickjs.Context) -> list[bool]:
    caught = "function caught(f) { try { f(); } catch (e) { return e; } }"
    return json.loads(ctx.eval(f"{caught} JSON.stringify([{', '.join(CHECKS)}])"))


@pytest.mark.parametrize("intrinsics", ["modern", "es5"])
def test_every_context_sees_its_own_intrinsics_in_the_shared_functions(code, intrinsics):
    reference = orchweb_quickjs.Context(intrinsics=intrinsics)
    reference.run_bytecode(code)  # a read of its own: what every context must answer
    assert answers(reference) == [True] * len(CHECKS)
    first, second, third = contexts(3, code, intrinsics)
    for ctx in (third, first, second):
        assert answers(ctx) == [True] * len(CHECKS)
    # the same function text, stack and positions in each
    for ctx in (first, second):
        assert ctx.eval("String(lib.Shape)") == "function Shape(n) { this.n = n; }"
        assert "at thrown (library.js:11:" in ctx.eval("caught(lib.thrown).stack")


def test_a_context_changing_its_intrinsics_or_globals_does_not_change_a_siblings(code):
    first, second = contexts(2, code)
    first.eval("""
        Array.prototype.push = function () { return 'replaced'; };
        delete globalThis.JSON;
        globalThis.myGlobal = 'first';
        libCount = 100;
        lib.extra = 1;
        Object.prototype.leak = 'first';
    """)
    assert first.eval("lib.push([], 1)") == "replaced"
    assert second.eval("lib.push([], 1)") == 1
    assert second.eval("lib.json([1])") == "[1]"
    with pytest.raises(orchweb_quickjs.JSException, match="JSON is not defined"):
        first.eval("lib.json([1])")
    assert first.eval("lib.global()") == "first"
    assert second.eval("lib.global()") == "none"
    assert second.eval("lib.array(); libCount") == 1 + 1  # the top level's call and this one
    assert first.eval("libCount") == 100
    assert second.eval("typeof lib.extra + ' ' + typeof ({}).leak + ' ' + typeof lib.object().leak") == (
        "undefined undefined undefined"
    )
    assert answers(second) == [True] * len(CHECKS)


def test_generators_and_closures_run_in_their_own_context(code):
    first, second = contexts(2, code)
    first.eval("globalThis.myGlobal = 1; var g = lib.gen(3); var next = lib.counter();")
    second.eval("var g = lib.gen(3); var next = lib.counter();")
    # interleaved resumptions: each generator resumes in its own context
    assert first.eval("JSON.stringify(g.next().value)") == '[0,"number"]'
    assert second.eval("JSON.stringify(g.next().value)") == '[0,"undefined"]'
    assert first.eval("JSON.stringify(g.next().value)") == '[1,"number"]'
    assert (
        second.eval("JSON.stringify([g.next().value, next(), next()])")
        == '[[1,"undefined"],[1,"undefined"],[2,"undefined"]]'
    )
    assert first.eval("JSON.stringify(next())") == '[1,"number"]'


def test_a_callback_running_a_siblings_shared_function_returns_to_its_own_realm(code):
    first, second = contexts(2, code)

    def host() -> None:
        assert second.eval("globalThis.myGlobal = 'second'; lib.array(); lib.global()") == "second"

    first.add_callable("host", host)
    assert json.loads(first.eval("JSON.stringify(lib.callHost())")) == ["undefined", "undefined", 1]
    assert second.eval("libCount") == 2
    assert answers(first) == [True] * len(CHECKS)


def test_the_runtime_reads_a_shared_program_once_more_for_its_second_context_and_keeps_it():
    big = compiled(
        "var big = [" + ", ".join(f"function f{i}(a) {{ return a + {i}; }}" for i in range(300)) + "];", "big.js"
    )
    runtime = orchweb_quickjs.Runtime()
    growth = []
    for _ in range(4):
        ctx = orchweb_quickjs.Context(runtime)
        runtime.gc()
        before = runtime.memory()["memory_used_size"]
        ctx.run_bytecode(big, share=True)
        runtime.gc()
        growth.append(runtime.memory()["memory_used_size"] - before)
        assert ctx.eval("big[299](1)") == 300
    # the first context reads its own, the second reads the runtime's; the others only make
    # their function objects
    assert growth[1] > growth[0] * 3 / 4
    assert growth[2] < growth[0] / 2 and growth[3] < growth[0] / 2
    copied = orchweb_quickjs.Context(runtime)
    runtime.gc()
    before = runtime.memory()["memory_used_size"]
    copied.run_bytecode(big)  # without share: a read of its own
    runtime.gc()
    assert runtime.memory()["memory_used_size"] - before > growth[0] * 3 / 4


def test_a_runtime_of_one_context_keeps_no_more_than_a_read_of_its_own():
    # a top level that runs a large function once: a context's own read frees it after the run
    once = compiled(
        "var v = (function () {\n"
        + "  var x = [1, 2, 3].map(function (y) { return y; });\n" * 300
        + "  return 1; })();",
        "once.js",
    )
    heaps = []
    for share in (False, True):
        ctx = orchweb_quickjs.Context()
        ctx.run_bytecode(compiled("1", "warm.js"), share=share)
        before = ctx.memory()["memory_used_size"]
        ctx.run_bytecode(once, share=share)
        ctx.gc()
        heaps.append(ctx.memory()["memory_used_size"] - before)
        assert ctx.eval("v") == 1
        ctx.close()
    assert heaps[1] <= heaps[0]


def test_a_program_with_constants_bound_to_a_realm_is_read_by_each_context():
    source = "function tag(s) { return s; } var site = function () { return tag`a${1}b`; }; var once = site();"
    first, second, third = contexts(3, compiled(source, "tagged.js"))
    for ctx in (first, second, third):
        # a template object is its realm's array, the same at each evaluation of its site
        assert ctx.eval("Object.getPrototypeOf(site()) === Array.prototype && site() === once")
        assert ctx.eval("site().raw.join('|')") == "a|b"
    first.eval("once.mark = 1")  # (upstream's read of a template object does not freeze it)
    second.eval("once.mark = 2")
    assert third.eval("typeof site().mark") == "undefined"


def test_contexts_close_in_any_order_and_the_runtime_goes_last(code):
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        made = contexts(3, code)
        made[0].eval("globalThis.self = globalThis; lib.cycle = lib;")  # left to the collector
        held = made[order[-1]].eval("lib.counter()")
        for i in order:
            for other in made:
                if not other.closed:
                    assert other.eval("lib.array().length") == 2
            made[i].close()
        del made
        gc.collect()
        # a function Python holds outlives its closed context: it is released, not run
        with pytest.raises(orchweb_quickjs.JSException, match="the context is closed"):
            held()
        del held
        gc.collect()


def test_a_function_held_by_python_keeps_the_shared_read_alive(code):
    made = contexts(2, code)
    held = made[1].eval("lib.counter()")
    made[0].close()
    runtime = made[1].runtime
    del made, runtime
    gc.collect()
    assert held().json() == '[1,"undefined"]' and held().json() == '[2,"undefined"]'
    del held
    gc.collect()


def test_the_kept_read_is_counted_and_each_closed_contexts_functions_are_collected(code):
    # patches/41: the runtime's realm-free read is off the collector's list; a closed context's
    # functions of it (in cycles through its global object) are still freed by the collection,
    # the read is still counted, and nothing is left over from one session to the next
    runtime = orchweb_quickjs.Runtime()
    keys = ("obj_count", "js_func_count", "memory_used_count", "memory_used_size")
    rest = []
    for round in range(4):
        ctx = orchweb_quickjs.Context(runtime)
        ctx.run_bytecode(code, share=True)
        ctx.eval("globalThis.self = globalThis; lib.cycle = lib; var kept = [lib.counter(), lib.gen(2), lib.Shape];")
        assert ctx.eval("kept[0]()[0] + kept[1].next().value[0] + new kept[2](2).area()") == 5
        ctx.close()
        runtime.gc()
        usage = runtime.memory()
        rest.append({key: usage[key] for key in keys})
        assert usage["obj_count"] == 0
        # the first context reads its own (freed with it); from the second on the runtime's
        # read stays (19 functions), counted
        assert usage["js_func_count"] == (19 if round else 0)
    assert rest[1] == rest[2] == rest[3]
