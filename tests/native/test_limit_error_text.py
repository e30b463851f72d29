"""QuickJS's own limit errors reach Python with the text the datamodel knows them by
("InternalError: out of memory", "InternalError: interrupted"), whatever memory is left.

The binding converts an exception (String(e) and its stack) while the memory limit still holds:
at the limit, Error.prototype.toString's first touch or its concatenation could run out of
memory itself and give "out of memory" or "" (the name lost), and the datamodel, which tells
limit errors by their text, took them for a program's own error. module.c now tells QuickJS's
limit errors by their name and message (read in place, nothing allocated), not by toString.

A program can throw the same values itself (`throw null`, `throw new InternalError()`), so they
are the memory limit only when the runtime did run out of memory during the call (the count of
patches/90-out-of-memory-count.patch); the binding raises them as `OutOfMemory` / `Interrupted`
(subclasses of JSException), and the datamodel tells the limits by those classes, not by text.
"""

from __future__ import annotations

import time

import orchweb_quickjs
import pytest

from simulator.scxml.datamodel import ECMAScriptDataModel, JSError
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
    # a thrown null (not even the error object could be made) reads as the limit too
    assert set(texts) == {"InternalError: out of memory"}, texts


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
        assert isinstance(info.value, orchweb_quickjs.OutOfMemory)
        texts.add(str(info.value).partition("\n")[0])
        ctx.set_memory_limit(-1)
        ctx.eval("kept = null")
    assert texts == {"InternalError: out of memory"}
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


#: what a program throws itself, with memory to spare, and the text it reaches Python with
OWN_THROWS = {
    "throw null": "null",
    "throw new InternalError()": "InternalError",
    "throw new InternalError('')": "InternalError",
    "throw new InternalError('out of memory')": "InternalError: out of memory",
    "throw new InternalError('interrupted')": "InternalError: interrupted",
}


@pytest.mark.parametrize("program", OWN_THROWS)
def test_a_programs_own_throw_of_a_limit_errors_shape_is_its_own_error(program):
    ctx = orchweb_quickjs.Context()
    ctx.set_memory_limit(4 << 20)
    ctx.eval("var kept = []; for (var i = 0; i < 1000; i++) kept.push({i: i});")  # close to nothing
    with pytest.raises(orchweb_quickjs.JSException) as info:
        ctx.eval(program)
    assert type(info.value) is orchweb_quickjs.JSException
    assert str(info.value).partition("\n")[0] == OWN_THROWS[program]
    ctx.close()


@pytest.mark.parametrize("program", OWN_THROWS)
def test_the_datamodel_reports_a_programs_own_throw_as_it_is_not_as_a_limit(program):
    model = ECMAScriptDataModel(memory_limit=4 << 20, time_limit=600)  # the memory runs out first, whatever the load
    try:
        with pytest.raises(JSError) as info:
            model.execute(program)
        assert "exceeded the" not in info.value.message, info.value  # what it threw, not a limit
        assert not model.out_of_memory
        # the real limits still read as such
        model.execute("var kept = []")
        with pytest.raises(JSError) as info:
            model.execute("for (;;) kept.push(new Array(1000).join('y') + kept.length);")
        assert (info.value.name, info.value.message.partition(":")[0]) == ("InternalError", "out of memory")
        assert model.out_of_memory
    finally:
        model.close()


#: a program that catches the memory limit and throws: what it throws is what it reports; the
#: limit's own values (null, a message-less InternalError) rethrown in the same call read as the limit
CATCHES = {
    "throw e": "InternalError: out of memory",
    "throw null": "InternalError: out of memory",
    "throw new InternalError()": "InternalError: out of memory",
    "throw new Error('mine')": "Error: mine",
    "throw 'mine'": "mine",
}


@pytest.mark.parametrize("handler", CATCHES)
def test_a_program_that_catches_the_memory_limit_reports_what_it_throws(handler):
    ctx = orchweb_quickjs.Context()
    ctx.set_memory_limit(2 << 20)
    with pytest.raises(orchweb_quickjs.JSException) as info:
        ctx.eval(f"try {{ {HOG} }} catch (e) {{ kept = null; {handler} }}")
    assert str(info.value).partition("\n")[0] == CATCHES[handler]
    limit = CATCHES[handler] == "InternalError: out of memory"
    assert isinstance(info.value, orchweb_quickjs.OutOfMemory) is limit
    # the next call starts afresh: the same throw with memory to spare is the program's own
    with pytest.raises(orchweb_quickjs.JSException) as info:
        ctx.eval("throw null")
    assert type(info.value) is orchweb_quickjs.JSException
    ctx.close()
