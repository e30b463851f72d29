"""The built-ins of a session's JS context: "modern" (all of QuickJS's, the W3C profile's) or
"es5" (what an ES5-era engine such as ORS's has; the ORS profile's default, docs/fakes.md)."""

from __future__ import annotations

import orchweb_quickjs
import pytest

from simulator.scxml.clock import UTC_RULES
from simulator.scxml.datamodel import ECMAScriptDataModel, RuntimePool
from simulator.scxml.profile import Profile

from .conftest import chart

#: globals an ES5-era engine lacks: the "es5" context has none of them, the "modern" one all
NOT_ES5 = ("Map", "Set", "WeakMap", "WeakSet", "WeakRef", "Promise", "Proxy", "ArrayBuffer", "Uint8Array",
           "Float64Array", "DataView", "Atomics", "atob", "btoa", "performance")  # fmt: skip
#: ES5's standard library, which both have
ES5 = ("Object", "Function", "Array", "String", "Number", "Boolean", "Math", "Date", "RegExp", "JSON", "Error",
       "TypeError", "ReferenceError", "SyntaxError", "RangeError", "EvalError", "URIError", "parseInt",
       "parseFloat", "isNaN", "isFinite", "encodeURIComponent", "decodeURIComponent", "escape", "unescape",
       "eval")  # fmt: skip


def kinds(ctx: orchweb_quickjs.Context, names: tuple[str, ...]) -> dict[str, str]:
    return {name: ctx.eval(f"typeof {name}") for name in names}


def test_an_es5_context_has_the_es5_library_and_none_of_the_later_globals():
    es5, modern = orchweb_quickjs.Context(intrinsics="es5"), orchweb_quickjs.Context()
    assert set(kinds(es5, NOT_ES5).values()) == {"undefined"}
    assert "undefined" not in kinds(modern, NOT_ES5).values()
    assert "undefined" not in kinds(es5, ES5).values()
    with pytest.raises(orchweb_quickjs.JSException, match="ReferenceError: Map is not defined"):
        es5.eval("new Map()")
    assert es5.eval("Array.isArray([]) && [3, 1].sort().join() === '1,3' && 'a b '.trim() === 'a b'")
    assert (
        es5.eval("JSON.stringify(Object.keys({a: 1})) + new Date(0).toISOString()") == '["a"]1970-01-01T00:00:00.000Z'
    )
    assert es5.eval("(function f(a) { return a; }).bind(null, 4)()") == 4
    assert es5.memory()["malloc_size"] < modern.memory()["malloc_size"] - 20_000


def test_what_needs_a_missing_intrinsic_fails_with_an_error_not_a_crash():
    ctx = orchweb_quickjs.Context(intrinsics="es5")
    for source in ("(async function () { await 1; })()", "(async () => 1)()", "Array.fromAsync([1])",
                   "(async function* () { yield 1; })().next()",
                   "(async () => { for await (var x of [1]); })()"):  # fmt: skip
        with pytest.raises(orchweb_quickjs.JSException, match="TypeError"):
            ctx.eval(source)
    assert ctx.eval("function* g() { yield 1; yield 2; } var n = 0; for (var x of g()) n += x; n") == 3
    ctx.eval("import('x')")  # a promise-like object without a prototype; nothing more
    ctx.close()
    with pytest.raises(ValueError, match="'modern', 'modern-eager' or 'es5'"):
        orchweb_quickjs.Context(intrinsics="es2015")


def test_contexts_of_both_kinds_share_a_runtime_and_stay_apart():
    pool = RuntimePool()
    es5 = ECMAScriptDataModel(runtimes=pool, intrinsics="es5")
    modern = ECMAScriptDataModel(runtimes=pool)
    assert len(pool) == 1
    modern.execute("var m = new Map([[1, 2]]);")
    assert modern.evaluate("m.get(1)") == 2
    assert es5.evaluate("typeof Map") == "undefined"
    es5.close()
    assert modern.evaluate("typeof Proxy + typeof Promise") == "functionfunction"
    modern.close()


def test_the_simulated_clock_adds_no_performance_to_an_es5_context():
    dm = ECMAScriptDataModel(intrinsics="es5")
    dm.install_time(UTC_RULES, lambda: 86_400_000.0, "seed")
    dm.execute("var performance = 'mine';")  # a document's own global of that name
    assert dm.evaluate("new Date().toISOString()") == "1970-01-02T00:00:00.000Z"
    assert dm.evaluate("performance") == "mine"
    dm.close()
    modern = ECMAScriptDataModel()
    modern.install_time(UTC_RULES, lambda: 86_400_000.0, "seed")
    assert modern.evaluate("performance.now()") == 0
    modern.close()


def test_the_w3c_profile_keeps_every_intrinsic(run):
    assert Profile().js_intrinsics(None) == "modern"
    r = run(
        chart("""<state id="s"><transition cond="new Map([[1, 'x']]).get(1) === 'x' &amp;&amp;
        typeof Promise === 'function'" target="pass"/><transition target="fail"/></state>
        <final id="pass"/><final id="fail"/>""")
    )
    assert r.session.final_state == "pass"


def test_an_es5_context_has_no_array_from_async_and_its_touch_leaks_nothing():
    # Array.fromAsync, a base object's property, is made on first touch from bytecode that needs
    # Promise and async functions: in an es5 context it came out a non-callable object and its
    # making leaked a few hundred bytes per context (left in the runtime once the context closed).
    runtime = orchweb_quickjs.Runtime()

    def left_after(source: str) -> tuple[object, int]:
        ctx = orchweb_quickjs.Context(runtime, "es5")
        result = ctx.eval(source)
        ctx.close()
        runtime.gc()
        return result, runtime.memory()["malloc_size"]

    _, held = left_after("0")
    assert left_after("0") == (0, held)
    assert left_after("typeof Array.fromAsync + ('fromAsync' in Array)") == ("undefinedfalse", held)
    modern = orchweb_quickjs.Context(runtime)
    assert modern.eval("typeof Array.fromAsync") == "function"
    modern.close()
