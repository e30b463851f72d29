"""Lazy intrinsics (patches/10-lazy-intrinsics.patch): a "modern" context creates Proxy, Map/Set,
the typed arrays, WeakRef, DOMException and performance on first use. Everything a program can
observe must be what an eager context ("modern-eager", upstream's JS_NewContext) shows: these
tests compare the two, walking the whole graph of objects reachable from the global object.
"""

from __future__ import annotations

import contextlib
import json
import time

import orchweb_quickjs
import pytest

#: the globals each lazy group defines, one name per group (touching it creates the group)
GROUPS = ("Proxy", "Map", "Uint8Array", "WeakRef", "DOMException", "performance")

#: every object reachable from globalThis through own properties and prototypes, each property
#: with its attributes and kind; an object already seen is named by its first path (so identity
#: between intrinsics counts too, e.g. TypedArray.prototype.toString === Array.prototype.toString).
#: Reading descriptors creates lazy groups, so the walk itself realises everything it reaches.
FINGERPRINT = r"""
(function () {
  var objects = [], paths = [], out = [];
  function name(o, path) {
    var i = objects.indexOf(o);
    if (i >= 0) return '=' + paths[i];
    objects.push(o); paths.push(path); return null;
  }
  function describe(v, path, key) {
    var t = typeof v;
    if (v === null) return 'null';
    if (t === 'object' || t === 'function') {
      var n = name(v, path);
      if (n) return n;
      walk(v, path);
      return t;
    }
    if (t === 'number' && (key === 'timeOrigin')) return 'number';
    if (t === 'symbol') return String(v);
    return t + ':' + String(v);
  }
  function walk(o, path) {
    var keys = Reflect.ownKeys(o), i, d, k, label;
    out.push(path + ' proto ' + describe(Object.getPrototypeOf(o), path + '.__proto__', '') +
             ' ext ' + Object.isExtensible(o) + ' keys ' + keys.length);
    for (i = 0; i < keys.length; i++) {
      k = keys[i];
      label = path + '.' + String(k);
      d = Object.getOwnPropertyDescriptor(o, k);
      var flags = (d.enumerable ? 'e' : '-') + (d.configurable ? 'c' : '-');
      if ('value' in d) {
        out.push(label + ' ' + flags + (d.writable ? 'w' : '-') + ' ' + describe(d.value, label, k));
      } else {
        out.push(label + ' ' + flags + ' get ' + describe(d.get, label + '[get]', k) +
                 ' set ' + describe(d.set, label + '[set]', k));
      }
    }
  }
  describe(globalThis, 'globalThis', '');
  return out.join('\n');
})()
"""


def make(kind: str, runtime: orchweb_quickjs.Runtime | None = None) -> orchweb_quickjs.Context:
    return orchweb_quickjs.Context(runtime, intrinsics=kind) if runtime else orchweb_quickjs.Context(intrinsics=kind)


def both(script: str) -> tuple[str, str]:
    """What `script` evaluates to in a lazy and in an eager context (as JSON)."""
    results = []
    for kind in ("modern", "modern-eager"):
        ctx = make(kind)
        try:
            results.append(ctx.eval(f"JSON.stringify(eval({json.dumps(script)}))"))
        finally:
            ctx.close()
    return results[0], results[1]


def fingerprint(ctx: orchweb_quickjs.Context) -> str:
    return ctx.eval(FINGERPRINT)


def test_a_fresh_lazy_context_lists_the_same_globals_with_the_same_attributes_and_is_smaller():
    lazy, eager = make("modern"), make("modern-eager")
    listing = "JSON.stringify(Reflect.ownKeys(globalThis).map(String).concat(Object.keys(globalThis)))"
    try:
        assert lazy.eval(listing) == eager.eval(listing)
        assert lazy.memory()["malloc_size"] < eager.memory()["malloc_size"] - 15_000
        size = lazy.memory()["malloc_size"]
        lazy.eval("Object.getOwnPropertyNames(globalThis).length; Object.keys(globalThis).length")
        assert lazy.memory()["malloc_size"] < size + 2_000  # listing names creates nothing
    finally:
        lazy.close()
        eager.close()


@pytest.mark.parametrize("first", ["", *GROUPS, "Atomics", "atob('%')"])
def test_every_reachable_object_is_what_an_eager_context_has_whatever_is_touched_first(first):
    lazy, eager = make("modern"), make("modern-eager")
    try:
        if first:
            lazy.eval(f"try {{ {first}; }} catch (e) {{}}")
        assert fingerprint(lazy) == fingerprint(eager)
    finally:
        lazy.close()
        eager.close()


def test_a_global_deleted_or_redefined_before_its_group_is_created_stays_so():
    script = """
      delete globalThis.Set;
      WeakMap = 42;
      Object.defineProperty(globalThis, 'WeakSet', {value: 'mine', enumerable: true});
      delete globalThis.DataView;
      var m = new Map([[1, 2]]);
      [typeof Set, WeakMap, JSON.stringify(Object.getOwnPropertyDescriptor(globalThis, 'WeakSet')),
       m.get(1), m instanceof Map, typeof DataView, new Uint8Array([7]).buffer instanceof ArrayBuffer,
       Object.getOwnPropertyNames(globalThis).join()]
    """
    lazy, eager = both(script)
    assert lazy == eager
    values = json.loads(lazy)
    assert values[:6] == ["undefined", 42, '{"value":"mine","writable":true,"enumerable":true,"configurable":true}',
                          2, True, "undefined"]  # fmt: skip
    assert values[6] is True
    assert ",Set," not in values[7] and ",DataView," not in values[7]


def test_what_the_program_changed_before_a_group_exists_does_not_leak_into_it():
    script = """
      Array.prototype.toString = function () { return 'changed'; };
      Object.prototype.extra = 1;
      Error.prototype.name = 'Changed';
      Object.freeze(globalThis);
      [String(new Uint8Array([1, 2])),
       Object.getPrototypeOf(Uint8Array).prototype.toString === Array.prototype.toString,
       new Map().extra, Object.isFrozen(globalThis), typeof Map,
       Object.getOwnPropertyDescriptor(globalThis, 'Map').writable,
       (function () {
         try { atob('%'); } catch (e) { return [e.name, e instanceof DOMException, e instanceof Error]; }
       })()]
    """
    lazy, eager = both(script)
    assert lazy == eager
    assert json.loads(lazy) == ["1,2", False, 1, True, "function", False, ["InvalidCharacterError", True, True]]


def test_a_group_created_inside_nested_calls_callbacks_and_getters():
    script = """
      function deep(n) { return n ? deep(n - 1) : new WeakMap([[deep, n]]).get(deep); }
      Object.defineProperty(globalThis, 'lazyGetter',
                            {get: function () { return new DataView(new ArrayBuffer(2)).byteLength; }});
      var sorted = [3, 1, 2].sort(function (a, b) { return new Set([a]).has(a) ? a - b : 0; });
      var revived = JSON.parse('{"a": 1}', function (k, v) { return k === 'a' ? typeof FinalizationRegistry : v; });
      var trapped = new Proxy({}, {get: function () { return performance.now() >= 0; }}).x;
      [deep(200), lazyGetter, sorted.join(), revived.a, trapped]
    """
    lazy, eager = both(script)
    assert lazy == eager == json.dumps([0, 2, "1,2,3", "function", True]).replace(" ", "")


def fill_heap(ctx: orchweb_quickjs.Context) -> None:
    """Allocate until out of memory (big chunks, then small objects), then free ~3 KB: enough to
    run a small script, less than the Map/Set, typed arrays or DOMException group takes."""
    ctx.eval("""
      var spare = new Array(3000).join('s'), hog = [], tail = null;
      try { for (;;) hog.push(new Array(1000).join('y') + hog.length); } catch (e) {}
      try { for (var i = 0; ; i++) tail = {next: tail, i: i}; } catch (e) {}
      spare = null;
    """)


def test_out_of_memory_while_creating_a_group_throws_and_a_later_touch_creates_it_whole():
    lazy, eager = make("modern"), make("modern-eager")
    try:
        lazy.set_memory_limit(2 * 1024 * 1024)
        fill_heap(lazy)
        assert lazy.eval("typeof Object + typeof Promise") == "functionfunction"  # small scripts still run
        for touch in ("typeof Map", "new Uint8Array(1)", "Object.getOwnPropertyDescriptor(globalThis, 'Float64Array')",
                      "atob('%')", "Map = 1"):  # fmt: skip
            with pytest.raises(orchweb_quickjs.JSException, match=r"^(InternalError: out of memory|null)\n"):
                lazy.eval(touch)
        with pytest.raises(orchweb_quickjs.JSException, match=r"^(InternalError: out of memory|null)\n"):
            lazy.eval("typeof Map")  # still not created: it fails the same way, never undefined
        lazy.eval("hog = null; tail = null;")
        lazy.gc()
        assert lazy.eval("typeof Map + typeof Uint8Array") == "functionfunction"
        lazy.set_memory_limit(0)
        lazy.eval("spare = hog = tail = i = undefined;")
        eager.eval("var spare, hog, tail, i;")
        assert fingerprint(lazy) == fingerprint(eager)
    finally:
        lazy.close()
        eager.close()


def test_creating_a_group_never_takes_the_heap_beyond_the_memory_limit():
    ctx = make("modern")
    try:
        limit = 2 * 1024 * 1024
        ctx.set_memory_limit(limit)
        ctx.eval("var keep = []; try { for (;;) keep.push(new Array(64).join('z') + keep.length); } catch (e) {}")
        for name in GROUPS:
            with contextlib.suppress(orchweb_quickjs.JSException):
                ctx.eval(f"{name}; 0")
            assert ctx.memory()["malloc_size"] <= limit
    finally:
        ctx.close()


def test_an_interrupted_evaluation_leaves_created_groups_whole_and_the_others_lazy():
    lazy, eager = make("modern"), make("modern-eager")
    try:
        lazy.deadline = time.monotonic() + 0.05
        with pytest.raises(orchweb_quickjs.JSException, match="interrupted"):
            lazy.eval("var m = new Map(); for (var i = 0; ; i++) m.set(i % 10, new Float64Array(1));")
        lazy.deadline = 0
        lazy.eval("m = i = undefined;")
        eager.eval("var m, i;")
        assert fingerprint(lazy) == fingerprint(eager)
    finally:
        lazy.close()
        eager.close()


def test_contexts_sharing_a_runtime_create_their_groups_independently():
    runtime = orchweb_quickjs.Runtime()
    a, b = make("modern", runtime), make("modern", runtime)
    try:
        a.eval("Map.prototype.mine = 'a'; delete globalThis.Set; Uint8Array.prototype.mine = 'a';")
        size = runtime.memory()["malloc_size"]
        assert b.eval("typeof Map.prototype.mine + typeof Set + typeof new Uint8Array(1).mine") == (
            "undefinedfunctionundefined"
        )
        assert runtime.memory()["malloc_size"] > size + 10_000  # b made its own Map/Set and typed arrays
        a.close()
        assert b.eval("new Map([[1, 'b']]).get(1) + new Set([1]).size") == "b1"
        c = make("modern", runtime)
        assert c.eval("typeof Map.prototype.mine + typeof Set") == "undefinedfunction"
        c.close()
    finally:
        a.close()
        b.close()


def test_every_context_of_a_shared_runtime_has_its_own_domexception():
    runtime = orchweb_quickjs.Runtime()
    contexts = [make(kind, runtime) for kind in ("modern", "modern-eager", "modern", "modern-eager")]
    check = "(function () { try { atob('%'); } catch (e) { return e instanceof DOMException && e.name; } })()"
    try:
        assert [c.eval(check) for c in contexts] == ["InvalidCharacterError"] * 4
        contexts[0].eval("DOMException.prototype.mine = 1")
        assert contexts[2].eval("typeof DOMException.prototype.mine") == "undefined"
    finally:
        for c in contexts:
            c.close()
