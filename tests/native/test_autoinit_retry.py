"""A built-in whose first touch runs out of memory is made by a later touch
(patches/70-autoinit-retry.patch).

QuickJS makes most built-ins on their first touch (autoinit properties): the methods, strings and
objects of its function lists, a function's `prototype`, Array.fromAsync and Iterator.zip; patches
10 and 50 add the lazy intrinsic groups and a script's global functions. Upstream stored
`undefined` when the maker failed, and handed out functions and objects with parts missing when
a part could not be made: a session that survives an out-of-memory error (the datamodel turns it
into error.execution and goes on) ran on without them, a silent wrong answer.

The contract pinned here, for every kind of autoinit property both context profiles have: the
first touch under memory limits from nothing until it has had room 40 times in a row (by 13
bytes, byte by byte from its first failure to its first success) either works or throws; with
the limit lifted, the property answers exactly as in a context that never ran short (its
value's name, length, prototype, members and behaviour).
"""

from __future__ import annotations

import orchweb_quickjs
import pytest

from tests.native.bytecode import compiled, squeezed

#: a value's shape: a function's name, length and kind of prototype, an object's own members
SHAPE = (
    "function shape(v) { return typeof v === 'function'"
    " ? 'function ' + v.name + '/' + v.length + '/' + typeof v.prototype"
    " : v !== null && typeof v === 'object' ? 'object ' + Object.getOwnPropertyNames(v).join() : String(v); }"
)
SETUP = "function lazy() {} function made() {} function* gen() {} made;" + SHAPE

#: kind -> (the first touch, what must answer as in a context that never ran short)
KINDS = {
    # JS_AUTOINIT_ID_PROP, JS_DEF_CFUNC: a method of a function list
    "method": (
        "Object.getOwnPropertyDescriptor",
        "shape(Object.getOwnPropertyDescriptor) + Object.getOwnPropertyDescriptor({a: 1}, 'a').value",
    ),
    # JS_DEF_CFUNC on Error.prototype: String(e) of every error
    "toString": ("Error.prototype.toString", "String(new TypeError('x'))"),
    # JS_DEF_PROP_STRING
    "string": ("JSON[Symbol.toStringTag]", "JSON[Symbol.toStringTag]"),
    # JS_DEF_OBJECT: an object whose members are autoinit properties themselves
    "object": (
        "Math",
        "shape(Math) + Object.getOwnPropertyNames(Math).map(function (k) { return shape(Math[k]); }).join() + Math.max(1, 2)",  # noqa: E501
    ),
    # JS_AUTOINIT_ID_PROTOTYPE: a function's prototype object
    "prototype": (
        "made.prototype",
        "shape(made.prototype) + (made.prototype.constructor === made) + (new made() instanceof made)",
    ),
    # JS_AUTOINIT_ID_FUNCTION (patch 50): a script's global function, with its name, length, prototype
    "function": ("lazy", "shape(lazy) + shape(lazy.prototype) + (new lazy() instanceof lazy)"),
    "generator": ("gen", "shape(gen) + (Object.getPrototypeOf(gen()) === gen.prototype) + gen().next().done"),
    # JS_AUTOINIT_ID_BYTECODE: made by running built-in bytecode
    "zip": ("Iterator.zip", "shape(Iterator.zip) + Iterator.zip([[1], [2]]).next().value.join()"),
}
#: "modern" only: JS_DEF_LAZY_GLOBAL (patch 10), a lazy intrinsic group; Array.fromAsync, built-in
#: bytecode too, which an es5 context does not have
MODERN_KINDS = {
    "group": ("Map", "shape(Map) + new Map([[1, 2]]).get(1) + shape(WeakMap)"),
    "bytecode": ("Array.fromAsync", "shape(Array.fromAsync)"),
}


def answer(ctx: orchweb_quickjs.Context, check: str) -> str:
    return ctx.eval(f"(function () {{ try {{ return String({check}); }} catch (e) {{ return 'threw ' + e; }} }})()")


@pytest.mark.parametrize(
    ("intrinsics", "kind"),
    [(p, k) for p in ("es5", "modern") for k in KINDS] + [("modern", k) for k in MODERN_KINDS],
)
def test_a_first_touch_out_of_memory_leaves_the_built_in_to_a_later_touch(intrinsics, kind):
    touch, check = {**KINDS, **MODERN_KINDS}[kind]
    # compiled beforehand: under the limit, only running it allocates
    code = compiled(f"try {{ void {touch}; 'made' }} catch (e) {{ 'threw' }}", "touch.js")
    reference = orchweb_quickjs.Context(intrinsics=intrinsics)
    reference.eval(SETUP)
    expected = answer(reference, check)
    reference.close()
    assert "threw" not in expected and "undefined/" not in expected
    outcomes: dict[str, int] = {}
    made_in_a_row = extra = 0
    while made_in_a_row < 40:  # from nothing until the touch has had room 40 times in a row
        runtime, ctx = squeezed(intrinsics, SETUP, extra)
        try:
            outcome = ctx.run_bytecode(code, True, False)
        except orchweb_quickjs.JSException:
            outcome = "uncaught"  # out of memory before or after the try
        runtime.set_memory_limit(-1)
        assert answer(ctx, check) == expected, (extra, outcome)
        ctx.close()
        outcomes.setdefault(outcome, extra)
        made_in_a_row = made_in_a_row + 1 if outcome == "made" else 0
        extra += 1 if outcomes.get("threw") is not None and "made" not in outcomes else 13
    # the sweep reached the touch itself: it threw at some limits, had room at others
    assert {"threw", "made"} <= set(outcomes), outcomes
