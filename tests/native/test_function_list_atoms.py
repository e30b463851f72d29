"""The atoms of QuickJS's own function lists made once per runtime (patches/96-function-list-atoms.patch):
every context of a runtime, the first, one made after another was freed and collected, and one
beside it, has the built-ins upstream gives (every object reachable from the global object: own
keys in order, attributes, values, prototypes), a runtime's later contexts make no atoms for the
built-ins' names, and out of memory while making a context fails as before and leaves the runtime
whole. The C side (JS_FreeRuntime's leak checks, out of memory at every step, under ASan) is
native/quickjs/tests/function_list_atoms.sh.
"""

from __future__ import annotations

import hashlib

import orchweb_quickjs
import pytest

#: every object reachable from the global object through own properties, getters, setters and
#: prototypes, breadth first (no getter is called): each object's prototype and extensibility,
#: then its own keys in order with their attributes and values (objects by the path they were
#: first met at; performance.timeOrigin's value, the process's clock, left out)
WALK = r"""
(function () {
  var seenObj = [globalThis], seenPath = ['globalThis'], queue = [[globalThis, 'globalThis']], out = [];
  function id(o, path) {
    var i = seenObj.indexOf(o);
    if (i < 0) { seenObj.push(o); seenPath.push(path); queue.push([o, path]); return path; }
    return seenPath[i];
  }
  function show(v, path) {
    var t = typeof v;
    if (v === null || (t !== 'object' && t !== 'function')) return t === 'symbol' ? String(v) : t + ':' + String(v);
    return '@' + id(v, path);
  }
  while (queue.length) {
    var item = queue.shift(), o = item[0], path = item[1];
    out.push(path + ' proto=' + show(Object.getPrototypeOf(o), path + '.__proto__') + ' ext=' + Object.isExtensible(o));
    Reflect.ownKeys(o).forEach(function (k) {
      var d = Object.getOwnPropertyDescriptor(o, k), name = typeof k === 'symbol' ? String(k) : k;
      var p = path + '.' + name;
      out.push('  ' + name + ' ' + (k === 'timeOrigin' ? typeof d.value + ' ' : '') + (d.enumerable ? 'e' : '') +
               (d.configurable ? 'c' : '') +
               ('value' in d ? (d.writable ? 'w ' : ' ') + (k === 'timeOrigin' ? '' : show(d.value, p))
                             : ' get=' + show(d.get, p + '<get>') + ' set=' + show(d.set, p + '<set>')));
    });
  }
  return out.join('\n');
})()
"""

#: SHA-256 of WALK's answer from upstream QuickJS without patch 96 (main at 6630e31): 2,547 lines
#: (modern), 1,595 (es5)
UPSTREAM = {
    "modern": "03848b6e9cbc41348b1e097f96b78111ccbe84b67dfd966c22c1d411a24b42fe",
    "es5": "6dbb515be30881430c9764079cf58414c47a0b5e392297aaf946d3c7772d62e0",
}


def built_ins(ctx: orchweb_quickjs.Context) -> str:
    return hashlib.sha256(ctx.eval(WALK).encode()).hexdigest()


@pytest.mark.parametrize("intrinsics", ["modern", "es5"])
def test_every_context_of_a_runtime_has_the_built_ins_upstream_gives(intrinsics):
    runtime = orchweb_quickjs.Runtime()
    first = orchweb_quickjs.Context(runtime, intrinsics)
    assert built_ins(first) == UPSTREAM[intrinsics]
    first.close()
    runtime.gc()
    later = orchweb_quickjs.Context(runtime, intrinsics)
    beside = orchweb_quickjs.Context(runtime, intrinsics)
    other = orchweb_quickjs.Context(runtime, "es5" if intrinsics == "modern" else "modern")
    assert built_ins(later) == UPSTREAM[intrinsics]
    assert built_ins(beside) == UPSTREAM[intrinsics]
    assert built_ins(other) == UPSTREAM["es5" if intrinsics == "modern" else "modern"]
    for ctx in (later, beside, other):
        ctx.close()


@pytest.mark.parametrize("intrinsics", ["modern", "es5"])
def test_a_runtime_makes_the_atoms_of_the_built_ins_names_once(intrinsics):
    runtime = orchweb_quickjs.Runtime()
    orchweb_quickjs.Context(runtime, intrinsics).close()
    runtime.gc()
    before = runtime.memory()["atom_count"]
    ctx = orchweb_quickjs.Context(runtime, intrinsics)
    # upstream made ~250 atoms again (those its first context made were freed with it); what is
    # left is the few names made from C strings outside the lists (constructors, getters)
    assert runtime.memory()["atom_count"] - before < 40
    ctx.close()


@pytest.mark.parametrize("intrinsics", ["modern", "es5"])
def test_out_of_memory_while_making_a_context_fails_and_the_runtime_makes_whole_ones_after(intrinsics):
    outcomes = set()
    for limit in range(20_000, 140_000, 1_201):
        runtime = orchweb_quickjs.Runtime()
        runtime.set_memory_limit(limit)
        try:
            orchweb_quickjs.Context(runtime, intrinsics).close()
            outcomes.add("made")
        except MemoryError:
            outcomes.add("out of memory")
        runtime.set_memory_limit(-1)
        runtime.gc()
        ctx = orchweb_quickjs.Context(runtime, intrinsics)
        assert built_ins(ctx) == UPSTREAM[intrinsics], limit
        ctx.close()
    assert outcomes == {"made", "out of memory"}


def test_out_of_memory_while_a_second_context_is_made_beside_a_first_leaves_the_first_whole():
    outcomes = set()
    for headroom in range(0, 90_000, 997):
        runtime = orchweb_quickjs.Runtime()
        first = orchweb_quickjs.Context(runtime, "es5")
        runtime.gc()
        runtime.set_memory_limit(runtime.memory()["malloc_size"] + headroom)
        try:
            orchweb_quickjs.Context(runtime, "modern").close()
            outcomes.add("made")
        except MemoryError:
            outcomes.add("out of memory")
        runtime.set_memory_limit(-1)
        assert built_ins(first) == UPSTREAM["es5"], headroom
        second = orchweb_quickjs.Context(runtime, "modern")
        assert built_ins(second) == UPSTREAM["modern"], headroom
        first.close()
        second.close()
    assert outcomes == {"made", "out of memory"}
