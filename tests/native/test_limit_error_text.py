"""QuickJS's own limit errors reach Python with the text the datamodel knows them by
("InternalError: out of memory", "InternalError: interrupted"), whatever memory is left.

The binding converts an exception (String(e) and its stack) while the memory limit still holds:
at the limit, Error.prototype.toString's first touch or its concatenation could run out of
memory itself and give "out of memory" or "" (the name lost), and the datamodel, which tells
limit errors by their text, took them for a program's own error. module.c now tells QuickJS's
limit errors by their name and message (read in place, nothing allocated), not by toString.
"""

from __future__ import annotations

import time

import orchweb_quickjs
import pytest

from simulator.scxml.datamodel import ECMAScriptDataModel
from tests.native.bytecode import compiled, squeezed

SETUP = "function lazy() {} var kept = [];"
#: programs whose out-of-memory error leaves little memory to convert it with: first touches of
#: built-ins (Error.prototype.toString among them, which the conversion needs)
PROGRAMS = [
    "try { void JSON[Symbol.toStringTag]; 0 } catch (e) { 1 }",
    "try { void Error.prototype.toString; 0 } catch (e) { 1 }",
]
#: a hog that keeps what it allocated
HOG = "var kept = []; for (;;) kept.push(new Array(1000).join('y') + kept.length);"


@pytest.mark.parametrize("intrinsics", ["es5", "modern"])
@pytest.mark.parametrize("program", range(len(PROGRAMS)))
def test_out_of_memory_reaches_python_as_the_limit_error_at_every_limit(intrinsics, program):
    code = compiled(PROGRAMS[program], "program.js")
    texts: dict[str, int] = {}
    for extra in range(0, 1_500):
        _, ctx = squeezed(intrinsics, SETUP, extra)
        try:
            ctx.run_bytecode(code, True, False)
        except orchweb_quickjs.JSException as exc:
            texts.setdefault(str(exc).partition("\n")[0], extra)
        ctx.close()
    # "null": not even the error object could be made (the datamodel knows that one too)
    assert set(texts) == {"null", "InternalError: out of memory"}, texts
    model = ECMAScriptDataModel()
    try:
        for text in texts:
            error = model._error(text + "\n")
            assert (error.name, error.message.partition(":")[0]) == ("InternalError", "out of memory")
    finally:
        model.close()


def test_a_program_cannot_hide_or_fake_a_limit_error_with_its_own_text():
    ctx = orchweb_quickjs.Context()
    ctx.eval(
        "Error.prototype.toString = function () { return 'mine'; };"
        "InternalError.prototype.toString = Error.prototype.toString;"
    )
    texts = set()
    for limit in range(300_000, 340_000, 997):
        ctx.set_memory_limit(limit)
        with pytest.raises(orchweb_quickjs.JSException) as info:
            ctx.eval(HOG)
        texts.add(str(info.value).partition("\n")[0])
        ctx.set_memory_limit(-1)
        ctx.eval("kept = null")
    assert texts == {"null", "InternalError: out of memory"}
    ctx.deadline = time.monotonic() + 0.05
    with pytest.raises(orchweb_quickjs.JSException) as info:
        ctx.eval("for (;;) {}")
    assert str(info.value).startswith("InternalError: interrupted\n")
    ctx.deadline = 0
    with pytest.raises(orchweb_quickjs.JSException) as info:
        ctx.eval("throw new RangeError('out of memory')")
    assert str(info.value).startswith("mine\n")
    with pytest.raises(orchweb_quickjs.JSException) as info:
        ctx.eval("throw new InternalError('interrupted')")  # catchable: not the deadline's
    assert str(info.value).startswith("mine\n")
    ctx.close()
