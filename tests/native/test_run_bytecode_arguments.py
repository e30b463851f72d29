"""`Context.run_bytecode(code, value=True, share=False, slot=None)`: positional arguments take a
path of their own (no keyword parser, no argument tuple), keywords the parser's; both must read
the arguments alike, refuse the same ones with the same errors and run the same program."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orchweb_quickjs
import pytest

from simulator.scxml import jsbytecode

#: each run adds one to the global `a` and answers it
COUNTER = "var a = (typeof a == 'number' ? a : 0) + 1; a"


class Untruthy:
    def __bool__(self) -> bool:
        raise ValueError("no truth value")


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:  # the error itself is what is compared
        return f"{type(exc).__name__}: {exc}"


def test_positional_and_keyword_arguments_run_the_same_program_the_same_way() -> None:
    code = jsbytecode.compile_program(COUNTER, False)
    assert code is not None
    ctx = orchweb_quickjs.Context()
    run: Any = ctx.run_bytecode  # truthy ints too, as the keyword parser's "p" takes them
    calls: list[tuple[Callable[[], Any], Any]] = [
        (lambda: run(code), 1),
        (lambda: run(code, False), None),
        (lambda: run(code, 0), None),
        (lambda: run(code, value=0), None),
        (lambda: run(code=code), 5),
        (lambda: run(code, True, True), 6),
        (lambda: run(code, True, share=False), 7),
        (lambda: run(code, True, False, 3), 8),
        (lambda: run(code, True, False, None), 9),
        (lambda: run(code, True, False, slot=4), 10),
    ]
    for call, expected in calls:
        assert call() == expected
    ctx.close()


@pytest.mark.parametrize(
    "args, kwargs, error",
    [
        ((), {}, "TypeError: function missing required argument 'code' (pos 1)"),
        (("code", 1, 0, None, 5), {}, "TypeError: function takes at most 4 arguments (5 given)"),
        (("text",), {}, "TypeError: run_bytecode: code must be bytes"),
        (("code", Untruthy()), {}, "ValueError: no truth value"),
        (("code", True, Untruthy()), {}, "ValueError: no truth value"),
        (("code", True, True, 2), {}, "TypeError: run_bytecode: slot must be an int, without share"),
        (("code", 1, 0, "x"), {}, "TypeError: run_bytecode: slot must be an int, without share"),
        (("code",), {"nope": 1}, "TypeError: 'nope' is an invalid keyword argument for this function"),
        (("code", True), {"value": True}, "TypeError: argument for function given by name ('value') and position (2)"),
    ],
)
def test_refused_arguments_raise_the_same_errors_either_way(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: str
) -> None:
    code = jsbytecode.compile_program(COUNTER, False)
    ctx = orchweb_quickjs.Context()
    args = tuple(code if a == "code" and i == 0 else a for i, a in enumerate(args))
    assert _outcome(lambda: ctx.run_bytecode(*args, **kwargs)) == error
    assert ctx.eval("typeof a") == "undefined"  # nothing ran
    ctx.close()
