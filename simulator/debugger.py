"""The debugger's questions to a paused simulation: console, value edits, watches, conditions.

Two ways to evaluate ECMAScript (both under the strategy scripts' time and memory limits, results
as JSON cut at ``MAX_RESULT_BYTES``):

``evaluate(datamodel, source)``
    In the session's own datamodel: the owner's console. Side effects are real; the caller logs
    the evaluation as an operation of the inputs log, so a rewind or a reconnect replays it.
``evaluate_on_copy(values, source, memory_limit, time_limit, intrinsics)``
    In a scratch datamodel holding a JSON copy of the session's variables, with the session's
    built-ins (ES5's for an ORS session by default): side effects are discarded. Watchers'
    console, watch expressions and breakpoint conditions use it, so they can never change a
    simulation (nor make its replay differ). Functions and platform objects of the
    session are not in the copy, only the variables' JSON values.

Pure Python over ``simulator.scxml.datamodel`` (no Django).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from simulator.scxml.datamodel import UNDEFINED, ECMAScriptDataModel, JSError
from simulator.scxml.profile import JSIntrinsics
from simulator.scxml.trace import jsonable

#: largest JSON result shown (a bigger one is refused with its size, like a log value cap)
MAX_RESULT_BYTES = 64 * 1024
#: the longest expression or statement accepted
MAX_SOURCE_CHARS = 10_000
#: watch expressions kept with a simulation
MAX_WATCHES = 20
#: Composer block states: `<workflow>.<block>` (internal states start with `_`)
_BLOCK = re.compile(r"^[^.]+\.[^._][^.]*$")


def _result(value: Any) -> dict[str, Any]:
    if value is UNDEFINED:
        return {"value": None, "undefined": True}
    value = jsonable(value)
    size = len(json.dumps(value, ensure_ascii=False))
    if size > MAX_RESULT_BYTES:
        return {"error": f"the result is {size:,} bytes of JSON; at most {MAX_RESULT_BYTES:,} are shown"}
    return {"value": value}


def _error(exc: JSError) -> dict[str, Any]:
    return {"error": f"{exc.name}: {exc.message}"}


def evaluate(datamodel: ECMAScriptDataModel, source: str) -> dict[str, Any]:
    """`{"value": json}` or `{"error": "Name: message"}`: an expression's value, or a statement
    run for its effect (`{"value": null, "undefined": true}`)."""
    try:
        try:
            return _result(datamodel.evaluate(source))
        except JSError as exc:
            if exc.name != "SyntaxError":
                raise
            datamodel.execute(source)  # not an expression: statements (`x = 1; y++`)
            return _result(UNDEFINED)
    except JSError as exc:
        return _error(exc)


def _scratch(
    values: Mapping[str, Any], memory_limit: int, time_limit: float, intrinsics: JSIntrinsics
) -> ECMAScriptDataModel:
    scratch = ECMAScriptDataModel(memory_limit=memory_limit, time_limit=time_limit, intrinsics=intrinsics)
    for name, value in values.items():
        scratch.declare_value(name, value)
    return scratch


def evaluate_on_copy(
    values: Mapping[str, Any], source: str, memory_limit: int, time_limit: float, intrinsics: JSIntrinsics = "modern"
) -> dict[str, Any]:
    """Like `evaluate`, in a scratch datamodel holding `values` (nothing the session sees changes)."""
    scratch = _scratch(values, memory_limit, time_limit, intrinsics)
    try:
        return evaluate(scratch, source)
    except JSError as exc:  # a variable that cannot be declared (an odd name, too big)
        return _error(exc)
    finally:
        scratch.close()


def watch_values(
    values: Mapping[str, Any],
    expressions: list[str],
    memory_limit: int,
    time_limit: float,
    intrinsics: JSIntrinsics = "modern",
) -> list[dict[str, Any]]:
    """`[{expression, value | error}]` of every watch expression, on one copy of the variables."""
    if not expressions:
        return []
    scratch = _scratch(values, memory_limit, time_limit, intrinsics)
    try:
        return [{"expression": e, **evaluate(scratch, e)} for e in expressions]
    finally:
        scratch.close()


def condition_holds(
    values: Mapping[str, Any], condition: str, memory_limit: int, time_limit: float, intrinsics: JSIntrinsics = "modern"
) -> tuple[bool, str | None]:
    """(holds, error) of a breakpoint condition on a copy of the variables; an error stops the
    run (holds=True) so that a broken condition is seen rather than silently never met."""
    scratch = _scratch(values, memory_limit, time_limit, intrinsics)
    try:
        return bool(scratch.evaluate_bool(condition)), None
    except JSError as exc:
        return True, f"{exc.name}: {exc.message}"
    finally:
        scratch.close()


def set_variable(datamodel: ECMAScriptDataModel, known: Mapping[str, Any], name: str, value: Any) -> None:
    """Assign a JSON `value` to the existing variable `name` (ValueError when there is none)."""
    if name not in known:
        raise ValueError(f"no variable {name!r} in the datamodel")
    datamodel.assign_value(name, value)


def is_block_state(state_id: str) -> bool:
    """A Composer block (``MainWorkflow.playMain``), not one of its internal states."""
    return bool(_BLOCK.match(state_id))
