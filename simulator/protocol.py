"""The simulation websocket protocol: every client action, its JSON schema, and the operations.

One place defines what a client may send (docs/simulation-protocol.md's action table is generated
from ``ACTIONS``, and a test fails when they differ). The consumer (``simulator.consumers``) looks
an action up here, validates the message with ``validate`` and hands it to its handler; actions
that change the simulation become *operations* of the inputs log through ``parse_op``.

Pure Python (no Django): the schemas are data, validation is ``jsonschema``. A field schema may
carry ``x-message``, the error shown when the value is wrong (``{path}`` is the field's path in
the message, ``{extra}`` the unknown keys of an object); otherwise the validator's message is
used, prefixed with the path.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from simulator.ors.fakes import FakesError, load_fakes
from simulator.scxml.events import is_unicode_text


class OpError(ValueError):
    """A client message that is not a valid action or operation; the message says what is wrong."""


#: guards against a client sending absurd values
MAX_ADVANCE_SECONDS = 7 * 24 * 3600.0
#: a simulation's seed: the range of the column that stores it (Simulation.seed, an integer)
SEED_MIN, SEED_MAX = -(2**31), 2**31 - 1
MAX_EVENTS_PER_ANSWER = 20

STEP_UNITS = {"microstep": "micro", "macrostep": "macro", "next-timer": "timer", "block": "block"}
#: the longest console expression, watch or breakpoint condition (simulator.debugger)
MAX_SOURCE_CHARS = 10_000
MAX_WATCHES = 20
INJECT_KINDS = ("event", "hangup", "abandon", "party_changed", "udata_changed")
BREAKPOINT_KINDS = ("entered", "exited", "transitions", "events", "actions")

_TEXT = {"type": "string", "pattern": r"\S"}
_SOURCE = {"type": "string", "pattern": r"\S", "maxLength": MAX_SOURCE_CHARS}
_KEY = {"type": "string", "pattern": "^(" + "|".join(BREAKPOINT_KINDS) + "):.+$"}
_OBJECT_OR_NULL = {"type": ["object", "null"]}


def _seconds(what: str) -> dict:
    return {
        "type": "number",
        "minimum": 0,
        "maximum": MAX_ADVANCE_SECONDS,
        "x-message": f"{what} must be a number between 0 and {MAX_ADVANCE_SECONDS:g}",
    }


#: `{entered, exited, transitions, events, actions}`: lists of names where a `run` stops, plus
#: conditions and switched-off breakpoints by `kind:value`, and the `errors` switch
BREAKPOINTS_SCHEMA: dict = {
    "type": ["object", "null"],
    "properties": {
        **{
            kind: {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "x-message": f"breakpoints.{kind} must be a list of strings",
            }
            for kind in BREAKPOINT_KINDS
        },
        "conditions": {
            "type": "object",
            "propertyNames": _KEY,
            "additionalProperties": {"type": "string", "maxLength": MAX_SOURCE_CHARS},
            "x-message": "breakpoints.conditions maps kind:value (entered:MainWorkflow.playMain) to an "
            f"expression of at most {MAX_SOURCE_CHARS:,} characters",
        },
        "disabled": {
            "type": "array",
            "items": _KEY,
            "x-message": "breakpoints.disabled must be a list of kind:value (entered:MainWorkflow.playMain)",
        },
        "errors": {"type": "boolean", "x-message": "breakpoints.errors must be true or false"},
    },
    "additionalProperties": False,
    "x-message": "breakpoints must be a JSON object",
    "x-extra-message": f"unknown breakpoint kinds {{extra}}; use {', '.join(BREAKPOINT_KINDS)}",
}


@dataclass(frozen=True)
class Action:
    """One client action: its fields (JSON schemas with a `description`) and what it does."""

    name: str
    effect: str
    fields: Mapping[str, dict] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    #: extra schema keywords (conditional requirements)
    rules: Mapping[str, Any] = field(default_factory=dict)
    #: a read-only watcher may send it
    watchers: bool = False
    #: builds the inputs-log operation from a validated message (actions that are operations)
    op: Callable[[Mapping[str, Any]], dict] | None = None

    @property
    def schema(self) -> dict:
        """The JSON schema of a message of this action (``action`` and ``id`` included)."""
        return {
            "type": "object",
            "properties": {
                "action": {"const": self.name},
                "id": {"description": "echoed as `reply_to` in the frame that answers"},
                **self.fields,
            },
            "required": ["action", *self.required],
            "additionalProperties": False,
            "x-extra-message": f"{self.name} has no field(s) {{extra}}",
            **self.rules,
        }


# -- operations (the inputs log) ------------------------------------------------------------------


def _step_op(message: Mapping[str, Any]) -> dict:
    unit = message.get("unit", "macrostep")
    return {"op": "step", "unit": STEP_UNITS.get(unit, unit)}


def _event_name(name: str, what: str) -> str:
    """`name` stripped, or OpError if it is not Unicode text (`is_unicode_text`)."""
    if not is_unicode_text(name):
        raise OpError(f"{what} must be Unicode text (it has a lone surrogate)")
    return name.strip()


def _inject_op(message: Mapping[str, Any]) -> dict:
    kind = message.get("kind", "event")
    op: dict[str, Any] = {"op": "inject", "kind": kind}
    if kind == "event":
        op["event"] = _event_name(message["event"], "inject event")
    if kind == "party_changed":
        op["focusdeviceid"] = message["focusdeviceid"].strip()
        op["devicetype"] = str(message.get("devicetype") or "routepoint")
    op["data"] = message.get("data") or {}
    op["delay"] = float(message.get("delay", 0))
    return op


def _respond_op(message: Mapping[str, Any]) -> dict:
    events = [
        {
            "name": _event_name(e["name"], "an event name"),
            "data": e.get("data") or {},
            "delay": float(e.get("delay", 0)),
        }
        for e in message["events"]
    ]
    return {"op": "respond", "request": message["request"].strip(), "events": events}


def _set_fakes_op(message: Mapping[str, Any]) -> dict:
    fakes = message.get("fakes") or {}
    try:
        load_fakes(fakes)
    except FakesError as exc:
        raise OpError(str(exc)) from exc
    return {"op": "set_fakes", "fakes": fakes}


def _advance_op(message: Mapping[str, Any]) -> dict:
    return {"op": "advance", "seconds": float(message["seconds"])}


def _eval_op(message: Mapping[str, Any]) -> dict:
    return {"op": "eval", "expression": message["expression"]}


def _set_variable_op(message: Mapping[str, Any]) -> dict:
    return {"op": "set_variable", "name": message["name"], "value": message["value"]}


# -- the actions ----------------------------------------------------------------------------------

_ACTIONS = [
    Action(
        "start",
        "new simulation (then `started`, `hello`, `reset`, `snapshot`), or, on a bound socket, start "
        "over with this recipe",
        {
            "version": {
                "type": "integer",
                "description": "id of the version to simulate (on `ws/simulations/` only)",
                "x-message": "start needs version: the id of the version to simulate",
            },
            "fakes": {
                "type": ["object", "string", "null"],
                "description": "inline profile object, or the path of a fakes file of the version, "
                'e.g. `"fakes/vip.json"`',
                "x-message": "fakes must be a JSON object or the path of a fakes file of the version",
            },
            "interaction": {
                **_OBJECT_OR_NULL,
                "description": "overrides merged into the profile's `interaction`",
                "x-message": "interaction must be a JSON object",
            },
            "seed": {
                "type": "integer",
                "minimum": SEED_MIN,
                "maximum": SEED_MAX,
                "description": "default 0",
                "x-message": f"seed must be an integer from {SEED_MIN} to {SEED_MAX}",
            },
        },
    ),
    Action(
        "step",
        "one microstep (starting the next macrostep, firing the next timer when idle); one macrostep "
        '(firing the next timer when nothing is queued); or "next timer": process what is queued, jump '
        "to the next timer, fire it and process what it caused; or `block`: macrosteps until the next Composer "
        "block state is entered (`MainWorkflow.playMain`, not its internal `_` states), as the diagram reads",
        {
            "unit": {
                "enum": [*STEP_UNITS, *STEP_UNITS.values()],
                "description": "`microstep` \\| `macrostep` (default) \\| `next-timer` \\| `block`",
                "x-message": "step unit must be microstep, macrostep, next-timer or block",
            }
        },
        op=_step_op,
    ),
    Action(
        "run",
        "macrosteps until a breakpoint, the end, or idleness; frames stream after every chunk (fast) or "
        "step (paced); `running` then, when it stops, `paused`",
        {
            "speed": {
                "anyOf": [{"type": "null"}, {"type": "number", "exclusiveMinimum": 0}],
                "description": "`null` (as fast as possible) or a positive number (virtual seconds per wall second)",
                "x-message": "run speed must be a positive number (times the wall clock) or null (as fast as possible)",
            },
            "to": {
                **_TEXT,
                "description": 'run to here: a state id; entering it stops this run (hit kind `"run_to"`)',
                "x-message": "run to must be a state id",
            },
        },
    ),
    Action(
        "pause",
        'stops a run (`paused` with `reason: "pause"`), saves the inputs log, then sends the state (a `delta`; '
        "once answered, any process can resume the simulation)",
    ),
    Action(
        "inject",
        "an unsolicited platform event, queued (it is processed by the next step)",
        {
            "kind": {
                "enum": list(INJECT_KINDS),
                "description": "`event` (default; needs `event`), `hangup`, `abandon`, `party_changed` (needs "
                "`focusdeviceid`), `udata_changed` (needs `data`)",
                "x-message": "inject kind must be one of " + ", ".join(INJECT_KINDS),
            },
            "event": {**_TEXT, "description": "event name", "x-message": "inject event must be a non-empty string"},
            "data": {**_OBJECT_OR_NULL, "description": "event data", "x-message": "inject data must be a JSON object"},
            "focusdeviceid": {
                **_TEXT,
                "description": "party_changed: the device in focus",
                "x-message": "party_changed focusdeviceid must be a non-empty string",
            },
            "devicetype": {
                "type": ["string", "null"],
                "description": "party_changed: default `routepoint`",
                "x-message": "party_changed devicetype must be a string",
            },
            "delay": {**_seconds("inject delay"), "description": "virtual seconds, default 0"},
        },
        rules={
            "allOf": [
                {
                    "if": {"properties": {"kind": {"const": "event"}}},
                    "then": {"required": ["event"], "x-message": "inject event must be a non-empty string"},
                },
                {
                    "if": {"properties": {"kind": {"const": "party_changed"}}, "required": ["kind"]},
                    "then": {
                        "required": ["focusdeviceid"],
                        "x-message": "party_changed focusdeviceid must be a non-empty string",
                    },
                },
                {
                    "if": {"properties": {"kind": {"const": "udata_changed"}}, "required": ["kind"]},
                    "then": {
                        "required": ["data"],
                        "properties": {"data": {"type": "object", "minProperties": 1}},
                        "x-message": "udata_changed needs data: the attached data that changed",
                    },
                },
            ]
        },
        op=_inject_op,
    ),
    Action(
        "respond",
        "answers an extension request (manual or still pending)",
        {
            "request": {
                **_TEXT,
                "description": "id of a pending request",
                "x-message": "respond request must be a non-empty string",
            },
            "events": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_EVENTS_PER_ANSWER,
                "description": "`[{name, data?, delay?}]` (the last completes the request)",
                "x-message": f"respond needs events: a list of 1 to {MAX_EVENTS_PER_ANSWER} {{name, data?, delay?}}",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {**_TEXT, "x-message": "{path} must be a non-empty string"},
                        "data": {**_OBJECT_OR_NULL, "x-message": "{path} must be a JSON object"},
                        "delay": _seconds("{path}"),
                    },
                    "required": ["name"],
                    "additionalProperties": False,
                    "x-message": "{path} must be a JSON object with a name",
                    "x-extra-message": "{path} has no field(s) {extra}",
                },
            },
        },
        required=("request", "events"),
        op=_respond_op,
    ),
    Action(
        "set_fakes",
        "replaces the fakes profile live: later requests use it",
        {"fakes": {**_OBJECT_OR_NULL, "description": "profile object", "x-message": "fakes must be a JSON object"}},
        op=_set_fakes_op,
    ),
    Action(
        "advance",
        "moves the virtual clock, processing events as timers fire",
        {"seconds": {**_seconds("advance seconds"), "description": "virtual seconds"}},
        required=("seconds",),
        op=_advance_op,
    ),
    Action(
        "set_breakpoints",
        "where `run` stops: states entered/exited (ids), transitions (graph ids `t<n>`), event names (SCXML "
        "descriptors: prefix tokens, `*`), extension actions (`queue:submit`, `dialog:*`, `submit`: the run "
        "stops before the request is sent); kept with the simulation (reconnects)",
        {
            "breakpoints": {
                **BREAKPOINTS_SCHEMA,
                "description": "`{entered, exited, transitions, events, actions}` (lists of strings), "
                '`conditions` (`{"kind:value": expression}`: stop only when it holds), `disabled` (`["kind:value"]`: '
                "kept, switched off), `errors` (bool, default true: stop on any `error.*` event)",
            }
        },
    ),
    Action(
        "rewind",
        "back to the state right after the last operation that ended at or before record `seq` "
        "(deterministic replay); the operations after it are dropped",
        {
            "seq": {
                "type": "integer",
                "minimum": 0,
                "description": "trace record number",
                "x-message": "rewind needs seq: the trace record number to go back to",
            }
        },
        required=("seq",),
    ),
    Action("restart", "back to the start (same recipe)"),
    Action(
        "share",
        "team members may (not) watch",
        {"shared": {"type": "boolean", "description": "bool", "x-message": "share needs shared: true or false"}},
        required=("shared",),
    ),
    Action("snapshot", "the whole state now, to this socket (also allowed to watchers)", watchers=True),
    Action(
        "eval",
        "the console: evaluates an ECMAScript expression (or runs statements) in the session's datamodel "
        "under the strategy scripts' time and memory limits; answered by an `eval` frame (`value` as JSON, "
        "at most 64 KiB, or `error`). The owner's evaluation is an operation of the inputs log (replayed on "
        "rewind and reconnect; a `console` trace record and the `datamodel` record of what it changed). A "
        "watcher's runs on a copy of the variables' JSON values, so it cannot change anything (`copy: true`; "
        "the session's functions are not in the copy)",
        {"expression": {**_SOURCE, "description": "source text", "x-message": "eval needs expression: source text"}},
        required=("expression",),
        watchers=True,
        op=_eval_op,
    ),
    Action(
        "set_variable",
        "edits a value: assigns `value` to the existing variable `name`, an operation of the inputs log like "
        "the console's",
        {
            "name": {
                "type": "string",
                "pattern": r"^[A-Za-z_$][\w$]*$",
                "description": "a variable of the datamodel",
                "x-message": "set_variable needs name: a variable of the datamodel",
            },
            "value": {"description": "any JSON value"},
        },
        required=("name", "value"),
        op=_set_variable_op,
    ),
    Action(
        "set_watches",
        "the watch expressions, re-evaluated on a copy of the variables for every state frame (`watches`: "
        "`[{expression, value | error}]`); kept with the simulation",
        {
            "watches": {
                "type": "array",
                "maxItems": MAX_WATCHES,
                "items": _SOURCE,
                "description": f"up to {MAX_WATCHES} expressions",
                "x-message": f"watches must be a list of at most {MAX_WATCHES} expressions",
            }
        },
        required=("watches",),
    ),
]

#: every client action by name (the consumer has one handler per entry)
ACTIONS: dict[str, Action] = {action.name: action for action in _ACTIONS}

_VALIDATORS = {name: jsonschema.Draft202012Validator(action.schema) for name, action in ACTIONS.items()}
for _validator in _VALIDATORS.values():
    jsonschema.Draft202012Validator.check_schema(_validator.schema)


# -- validation -----------------------------------------------------------------------------------


def _path(error: jsonschema.ValidationError) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")


def _message(error: jsonschema.ValidationError, root: dict) -> str:
    """The `x-message` of the innermost schema on the failing path, or the validator's message."""
    path = _path(error)
    extra = ""
    key = "x-message"
    if error.validator == "additionalProperties":
        extra = str(sorted(set(error.instance) - set(error.schema.get("properties", {}))))
        key = "x-extra-message"
    found = None
    node: Any = root
    for part in error.absolute_schema_path:
        if isinstance(node, dict) and isinstance(node.get(key), str):
            found = node[key]
        if isinstance(node, (dict, list)):
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                break
    if isinstance(node, dict) and isinstance(node.get(key), str):
        found = node[key]
    if error.validator == "required" and isinstance(error.instance, dict):
        # a missing field: that field's own message, as if it had a wrong value
        missing = next(name for name in error.validator_value if name not in error.instance)
        path = f"{path}.{missing}" if path else missing
        found = error.schema.get("properties", {}).get(missing, {}).get("x-message", found) or f"{path} is required"
    if found is None:
        return f"{path or 'message'}: {error.message}"
    return found.replace("{path}", path).replace("{extra}", extra)


def action_of(message: Any) -> Action:
    """The `Action` a decoded client message names (OpError when it is not a known action)."""
    if not isinstance(message, dict) or not isinstance(message.get("action"), str):
        raise OpError('expected a JSON object with an "action" field')
    action = ACTIONS.get(message["action"])
    if action is None:
        raise OpError(f"unknown action {message['action']!r}")
    return action


#: messages found valid whose fields but `id` are all short strings, as sorted (field, value)
#: pairs: a step is the same few strings every time, and walking the schema cost ~0.1 ms per
#: message (`id` may be any value, so it does not change the verdict); bounded in entries and in
#: entry size (a user's megabyte-long expressions must not be kept), emptied when full
_VALID_STRINGS: set[tuple[tuple[str, str], ...]] = set()
_VALID_STRINGS_MAX = 4096
_VALID_STRING_CHARS = 256


def validate(message: Mapping[str, Any]) -> Action:
    """Check `message` against its action's schema: the Action, or OpError naming the problem."""
    action = action_of(message)
    fields = [(name, value) for name, value in message.items() if name != "id"]
    short = all(type(value) is str and len(value) <= _VALID_STRING_CHARS for _, value in fields)
    known = tuple(sorted(fields)) if short else None
    if known is not None and known in _VALID_STRINGS:
        return action
    validator = _VALIDATORS[action.name]
    error = jsonschema.exceptions.best_match(validator.iter_errors(message), key=_relevance)
    if error is not None:
        raise OpError(_message(error, validator.schema))
    if known is not None:
        if len(_VALID_STRINGS) >= _VALID_STRINGS_MAX:
            _VALID_STRINGS.clear()
        _VALID_STRINGS.add(known)
    return action


def _relevance(error: jsonschema.ValidationError) -> Any:
    # Prefer the error deepest in the message, then the field's own check over a rule about it.
    return (len(error.absolute_path), error.validator not in ("allOf", "if", "then"))


def check_breakpoints(data: Any) -> dict:
    """A breakpoints object validated against BREAKPOINTS_SCHEMA (OpError otherwise); None is {}."""
    error = jsonschema.exceptions.best_match(_BREAKPOINTS_VALIDATOR.iter_errors(data), key=_relevance)
    if error is not None:
        raise OpError(_message(error, BREAKPOINTS_SCHEMA))
    return dict(data or {})


_BREAKPOINTS_VALIDATOR = jsonschema.Draft202012Validator(BREAKPOINTS_SCHEMA)


def parse_op(message: Mapping[str, Any]) -> dict:
    """The inputs-log operation of a client `message` (actions step/inject/respond/set_fakes/advance)."""
    action = ACTIONS.get(message.get("action"))
    if action is None or action.op is None:
        raise OpError(f"unknown operation {message.get('action')!r}")
    validate(message)
    return action.op(copy.deepcopy(dict(message)))


# -- documentation --------------------------------------------------------------------------------


def _field_markdown(name: str, spec: Mapping[str, Any], required: bool) -> str:
    text = f"`{name}`" + ("" if required else "?")
    return text + (f": {spec['description']}" if "description" in spec else "")


def actions_markdown() -> str:
    """The action table of docs/simulation-protocol.md (between its `actions` markers)."""
    rows = ["| action | fields | effect |", "|---|---|---|"]
    for action in ACTIONS.values():
        fields = "; ".join(_field_markdown(name, spec, name in action.required) for name, spec in action.fields.items())
        who = " Watchers may send it." if action.watchers and action.name != "snapshot" else ""
        rows.append(f"| `{action.name}` | {fields} | {action.effect}{who} |")
    return "\n".join(rows) + "\n"


DOC = "docs/simulation-protocol.md"
BEGIN, END = "<!-- actions: generated by `python -m simulator.protocol` -->", "<!-- end of actions -->"


def documented(text: str) -> str:
    """The `text` of docs/simulation-protocol.md with its action table regenerated."""
    head, found, rest = text.partition(BEGIN)
    if not found or END not in rest:
        raise ValueError(f"{DOC} has no {BEGIN} ... {END} section")
    return f"{head}{BEGIN}\n{actions_markdown()}{END}{rest.split(END, 1)[1]}"


if __name__ == "__main__":  # rewrite the action table of the protocol document
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / DOC
    path.write_text(documented(path.read_text()))
