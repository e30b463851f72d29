"""`Context.record_changes` out of memory at every headroom: the call throws the limit error and
leaves its memo as it was (the next call answers what this one would have), or answers whole;
with the limit lifted the context records as one never squeezed. The memo (its variables and the
other names it found not internal) is in the runtime's heap."""

from __future__ import annotations

import orchweb_quickjs

from tests.native.bytecode import squeezed

SETUP = """
var P = {hidden: Object.create(null), jsonRetry: function (e, v) { throw e; },
         errorText: function (e) { return JSON.stringify('<' + String(e) + '>'); }};
for (var i = 0; i < 150; i++) globalThis['f' + i] = function () {};
for (var i = 0; i < 60; i++) globalThis['v' + i] = {a: [i, 'x' + i], b: {c: i}};
globalThis.__orchweb_x = 1;
"""
# functions become values, new functions, a changed variable: both of the memo's sets change
STEP = (
    "for (var i = 0; i < 150; i += 3) globalThis['f' + i] = i;"
    " for (var i = 150; i < 200; i++) globalThis['g' + i] = function () {}; v1 = 'changed';"
)


def recorded(ctx: orchweb_quickjs.Context) -> None:
    ctx.set_record_helpers(ctx.eval("P"))
    ctx.record_changes(False)
    ctx.eval(STEP)


def test_a_record_out_of_memory_throws_the_limit_error_and_keeps_its_memo():
    runtime = orchweb_quickjs.Runtime()
    reference = orchweb_quickjs.Context(runtime, "es5")
    reference.eval(SETUP)
    recorded(reference)
    expected, full = reference.record_changes(False), reference.record_changes(True)
    reference.close()
    outcomes = set()
    for headroom in range(0, 150_000, 2_999):
        runtime, ctx = squeezed("es5", SETUP, 1 << 30)
        recorded(ctx)
        runtime.gc()
        runtime.set_memory_limit(runtime.memory()["malloc_size"] + headroom)
        try:
            assert ctx.record_changes(False) == expected
            outcomes.add("ok")
        except orchweb_quickjs.JSException as exc:
            assert str(exc).startswith(("InternalError: out of memory", "null"))
            outcomes.add("oom")
            runtime.set_memory_limit(-1)
            assert ctx.record_changes(False) == expected
        runtime.set_memory_limit(-1)
        assert ctx.record_changes(True) == full
        ctx.close()
    assert outcomes == {"ok", "oom"}
