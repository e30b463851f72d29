"""Scenarios: regression tests for ORS strategies (timeline of platform events + assertions).

A scenario is JSON (format and examples in ``docs/scenarios.md``)::

    {"name": "route to agent", "fakes": "fakes/default.json",
     "steps": [{"inject": "hangup", "at": 30}],
     "expect": [{"outcome": "routed", "target": "7001@SIPSwitch.DN"}, {"entered": "MainWorkflow.Exit1"}]}

It runs headless through the same engine and fake ORS platform as ``manage.py simulate --profile
ors`` (:class:`simulator.runners.driver.OrsRun`), on the virtual clock, and gives one pass/fail
verdict per assertion with a message, plus the trace.  Pure Python, no Django.

Public API
----------
``validate_scenario(data, files=None) -> list[str]``
    Problems as ``"<json path>: <what is wrong>"`` (empty = valid); with the project `files`, a
    fakes reference is checked to exist and to be a valid fakes profile.
``load_scenario(data, files=None, source=None) -> Scenario``
    Validated scenario (``ScenarioError`` lists the problems); `data` is a dict or JSON text.
``run_scenario(files, scenario, entry=None, source=None) -> ScenarioResult``
    Run one scenario on a project (``{relative path: bytes}``, see ``load_project``).
``check_assertions(records, assertions, summary=None) -> list[AssertionResult]``
    Evaluate assertions against any trace (e.g. a live simulator session's records); `summary`
    supplies ``outcome``/``status``/``final_state``/``virtual_time`` (``OrsRun.summary()``).
``scenario_from_run(records, summary, fakes=None, inputs=(), name=...) -> dict``
    A scenario replaying a live run (the simulator's operations log) and asserting what it did.
``run_project_scenarios(files, paths=None, entry=None) -> list[ScenarioResult]`` /
``suite_report(files, results, entry=None, coverage=True) -> dict``
    Run a project's scenarios; their JSON summary with the union coverage.
``project_scenarios(files) -> list[str]``
    The ``scenarios/*.json`` paths of a project, sorted.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from simulator.ors.analysis import build_graph
from simulator.ors.extensions.base import Request
from simulator.ors.fakes import (
    FakesError,
    Rule,
    _message,
    _path,
    _value_matches,
    load_fakes,
    parse_json_text,
    regex_problem,
    validate_fakes,
)
from simulator.ors.project import find_entry
from simulator.scxml.errors import DocumentError
from simulator.scxml.events import is_unicode_text
from simulator.scxml.jsonpatch import same, update_variables

from .coverage import Coverage
from .driver import MAX_STEP_WORK, OrsRun
from .limits import DEFAULT_LIMITS, Limits

#: virtual seconds a scenario may run at most unless it says otherwise
DEFAULT_MAX_TIME = 3600.0
OUTCOMES = ("routed", "terminated", "abandoned", "waiting", "error")


class ScenarioError(ValueError):
    """An invalid scenario; ``problems`` lists ``"<json path>: <what is wrong>"``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid scenario:\n  " + "\n  ".join(problems))
        self.problems = problems


# -- schema ---------------------------------------------------------------------------------------

_STATES = {"oneOf": [{"type": "string", "minLength": 1}, {"type": "array", "items": {"type": "string"}}]}
_COUNT = {"type": "integer", "minimum": 0}
_TIME = {"type": "number", "minimum": 0}
_REQUEST_SPEC = {
    "type": "object",
    "required": ["module", "action"],
    "additionalProperties": False,
    "properties": {
        "module": {"type": "string", "minLength": 1},
        "action": {"type": "string", "minLength": 1},
        "attributes": {"type": "object"},
    },
}
_TRANSITION_SPEC = {
    "oneOf": [
        {"type": "string", "pattern": "^t[0-9]+$"},
        {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {"source": {"type": "string"}, "target": {"type": "string"}, "event": {"type": "string"}},
        },
    ]
}

#: assertion kind -> (schema of its value, {option: schema})
ASSERTIONS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "outcome": (
        {"enum": list(OUTCOMES)},
        {"target": {"type": "string"}, "via": {"type": "string"}, "reason": {"type": "string"}},
    ),
    "final": ({"type": ["boolean", "string"]}, {}),
    "entered": (_STATES, {"times": _COUNT, "before": _TIME}),
    "not_entered": (_STATES, {}),
    "active": (_STATES, {}),
    "transition": (_TRANSITION_SPEC, {"times": _COUNT, "before": _TIME}),
    "request": (_REQUEST_SPEC, {"times": _COUNT, "before": _TIME}),
    "event": ({"type": "string", "minLength": 1}, {"data": {"type": "object"}, "times": _COUNT, "before": _TIME}),
    "log": ({"type": "string"}, {"times": _COUNT}),
    "variable": ({"type": "string", "pattern": r"^[A-Za-z_$][\w$]*(\.[\w$]+)*$"}, {"equals": {}}),
    "time": (
        {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {"min": _TIME, "max": _TIME},
        },
        {},
    ),
    "errors": (_COUNT, {}),
}
_ASSERTION_SCHEMA = {
    "type": "object",
    "properties": {
        "description": {"type": "string"},
        **{k: v for k, (v, _) in ASSERTIONS.items()},
        **{o: s for _, opts in ASSERTIONS.values() for o, s in opts.items()},
    },
}
_EVENTS = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {"name": {"type": "string", "minLength": 1}, "data": {"type": "object"}, "delay": _TIME},
    },
}
_WAIT = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
    "properties": {
        "entered": {"type": "string", "minLength": 1},
        "event": {"type": "string"},
        "request": _REQUEST_SPEC,
    },
}

#: step kind -> {allowed keys: schema} (the kind key included)
STEPS: dict[str, dict[str, Any]] = {
    "inject": {"inject": {"type": "string", "minLength": 1}, "data": {"type": "object"}, "at": _TIME, "after": _TIME},
    "advance": {"advance": _TIME},
    "until": {"until": _TIME},
    "run": {"run": {"const": True}},
    "respond": {"respond": {"oneOf": [{"type": "string", "minLength": 1}, _REQUEST_SPEC]}, "events": _EVENTS},
    "wait": {"wait": _WAIT, "timeout": _TIME},
    "expect": {"expect": {"oneOf": [_ASSERTION_SCHEMA, {"type": "array", "items": _ASSERTION_SCHEMA}]}},
}
_STEP_SCHEMA = {
    "type": "object",
    "properties": {"description": {"type": "string"}, **{k: s for keys in STEPS.values() for k, s in keys.items()}},
}

#: JSON schema of a scenario (Draft 2020-12); kind/option combinations are checked in Python
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "entry": {"type": "string", "minLength": 1},
        "fakes": {"type": ["string", "object"]},
        "seed": {"type": "integer"},
        "max_time": {"type": "number", "exclusiveMinimum": 0},
        "steps": {"type": "array", "items": _STEP_SCHEMA},
        "expect": {"type": "array", "items": _ASSERTION_SCHEMA},
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _best(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For a failed ``oneOf`` (string-or-list, object-or-list...), the error of the branch that
    has the instance's type, so the message points inside the value instead of at the whole."""
    while error.context:
        typed = [e for e in error.context if e.validator != "type"] or list(error.context)
        error = max(typed, key=lambda e: len(e.absolute_path))
    return error


def _kind_problems(item: Mapping[str, Any], path: str, kinds: Mapping[str, Iterable[str]], what: str) -> list[str]:
    """Exactly one kind key per item, and only the options of that kind."""
    found = [k for k in kinds if k in item]
    if len(found) != 1:
        listing = ", ".join(repr(k) for k in kinds)
        got = f"found {', '.join(repr(k) for k in found)}" if found else "found none"
        return [f"{path}: an {what} needs exactly one of {listing} ({got})"]
    kind = found[0]
    allowed = {kind, "description", *kinds[kind]}
    extra = sorted(set(item) - allowed)
    if extra:
        return [f"{path}: unknown key(s) for {what} {kind!r}: " + ", ".join(repr(k) for k in extra)]
    return []


def _assertion_problems(assertion: Mapping[str, Any], path: str) -> list[str]:
    problems = _kind_problems(assertion, path, {k: opts for k, (_, opts) in ASSERTIONS.items()}, "assertion")
    if problems:
        return problems
    if "variable" in assertion and "equals" not in assertion:
        problems.append(f"{path}: a 'variable' assertion needs 'equals'")
    problems += _regex_problems(assertion, path)
    return problems


def _regex_problems(value: Any, path: str) -> list[str]:
    """Every ``re:`` pattern of a value (attributes, data, log, target...) must be safe to run."""
    if isinstance(value, str):
        why = regex_problem(value[3:]) if value.startswith("re:") else None
        return [f"{path}: {why}"] if why else []
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _regex_problems(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _regex_problems(v, f"{path}[{i}]")]
    return []


def _fakes_data(fakes: Any, files: Mapping[str, bytes] | None) -> tuple[Any, list[str]]:
    """The fakes profile JSON a scenario names (inline, or a project file when `files` are known;
    None otherwise) and the problems of reaching it."""
    if not isinstance(fakes, str) or files is None:
        return (fakes if isinstance(fakes, dict) else None), []
    if fakes not in files:
        return None, [f"$.fakes: no file {fakes!r} in the project"]
    try:
        return json.loads(files[fakes]), []
    except ValueError as exc:
        return None, [f"$.fakes: {fakes} is not valid JSON ({exc})"]


def _fakes_labels(fakes: Any, problems: list[str]) -> list[str]:
    """Fakes profile problems as scenario problems (their JSON path inside ``$.fakes``)."""
    if isinstance(fakes, dict):
        return [f"$.fakes{p[1:]}" if p.startswith("$") else f"$.fakes: {p}" for p in problems]
    return [f"$.fakes: {fakes}: {p}" for p in problems]


def _fakes_problems(fakes: Any, files: Mapping[str, bytes] | None) -> list[str]:
    data, problems = _fakes_data(fakes, files)
    if problems or data is None:
        return problems
    return _fakes_labels(fakes, validate_fakes(data))


def validate_scenario(data: Any, files: Mapping[str, bytes] | None = None, check_fakes: bool = True) -> list[str]:
    """Problems of a scenario as ``"<json path>: <what is wrong>"`` (empty = valid); the fakes
    profile is left to the caller with `check_fakes=False` (a run loads it once, which checks it)."""
    if not isinstance(data, dict):
        return [f"$: a scenario is a JSON object, not {type(data).__name__}"]
    errors = sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    problems = [f"{_path(e)}: {_message(e)}" for e in map(_best, errors)]
    if problems:
        return problems
    assertions = len(data.get("expect", []))
    for i, step in enumerate(data.get("steps", [])):
        path = f"$.steps[{i}]"
        found = _kind_problems(step, path, STEPS, "step")
        problems += found
        if found:
            continue
        for key in ("respond", "wait"):
            problems += _regex_problems(step.get(key), f"{path}.{key}")
        names = [step["inject"]] if "inject" in step else [event["name"] for event in step.get("events", ())]
        if not all(map(is_unicode_text, names)):
            problems.append(f"{path}: an event name must be Unicode text (it has a lone surrogate)")
        if "respond" in step and "events" not in step:
            problems.append(f"{path}: a 'respond' step needs 'events' (the answer: [{{name, data?, delay?}}])")
        if "inject" in step and "at" in step and "after" in step:
            problems.append(f"{path}: give at most one of 'at' (virtual time) and 'after' (seconds from now)")
        if "expect" in step:
            items = step["expect"] if isinstance(step["expect"], list) else [step["expect"]]
            single = not isinstance(step["expect"], list)
            for j, assertion in enumerate(items):
                problems += _assertion_problems(assertion, f"{path}.expect" + ("" if single else f"[{j}]"))
            assertions += len(items)
    for i, assertion in enumerate(data.get("expect", [])):
        problems += _assertion_problems(assertion, f"$.expect[{i}]")
    if not assertions and not problems:
        problems.append("$: a scenario needs at least one assertion ('expect' or an expect step)")
    if "fakes" in data and check_fakes:
        problems += _fakes_problems(data["fakes"], files)
    return problems


@dataclass
class Scenario:
    """A validated scenario (the JSON object, read through properties)."""

    data: dict[str, Any]
    source: str | None = None

    @property
    def name(self) -> str:
        """The scenario's name (its file name without ``.json`` when it has none)."""
        if "name" in self.data:
            return str(self.data["name"])
        if self.source:
            return self.source.rsplit("/", 1)[-1].removesuffix(".json")
        return "scenario"

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self.data.get("steps", []))

    @property
    def expect(self) -> list[dict[str, Any]]:
        return list(self.data.get("expect", []))


def load_scenario(
    data: Any, files: Mapping[str, bytes] | None = None, source: str | None = None, check_fakes: bool = True
) -> Scenario:
    """Validate `data` (dict or JSON text); raises :class:`ScenarioError` with every problem."""
    data = parse_json_text(data, ScenarioError)
    problems = validate_scenario(data, files, check_fakes)
    if problems:
        raise ScenarioError(problems)
    return Scenario(data, source)


def project_scenarios(files: Mapping[str, bytes]) -> list[str]:
    """Paths of the project's scenarios (``scenarios/*.json``), sorted."""
    return sorted(p for p in files if p.startswith("scenarios/") and p.endswith(".json") and p.count("/") == 1)


# -- what a trace shows ---------------------------------------------------------------------------


class TraceView:
    """The facts of a trace the assertions read (root session only), with their virtual times."""

    def __init__(self, records: Iterable[Mapping[str, Any]], summary: Mapping[str, Any] | None = None) -> None:
        self.summary = dict(summary or {})
        self.entered: list[tuple[str, float]] = []
        self.transitions: list[tuple[Mapping[str, Any], float]] = []
        self.events: list[tuple[str, Any, float]] = []
        self.requests: list[tuple[Mapping[str, Any], float]] = []
        self.logs: list[tuple[str, float]] = []
        self.variables: dict[str, Any] = {}
        self.errors: list[Mapping[str, Any]] = []
        self.configuration: list[str] = []
        self.final_state: str | None = None
        self.time = 0.0
        root: str | None = None
        for record in records:
            kind = record.get("type")
            self.time = max(self.time, float(record.get("time") or 0.0))
            if kind == "clock":
                self.time = max(self.time, float(record.get("to") or 0.0))
                continue
            if root is None and kind == "start":
                root = record.get("session")
            if record.get("session") != root or "invokeid" in record:
                continue  # invoked child sessions have their own states and variables
            at = float(record.get("time") or 0.0)
            if kind == "macrostep":
                event = record.get("event")
                if event:
                    self.events.append((event["name"], event.get("data"), at))
                self.events += [(name, None, at) for name in record.get("internal_events", [])]
                self.transitions += [(t, at) for t in record.get("transitions", [])]
                self.entered += [(s, at) for s in record.get("entered", [])]
                self.configuration = list(record.get("configuration", []))
            elif kind == "action" and isinstance(record.get("request"), Mapping):
                self.requests.append((record["request"], at))
            elif kind == "log":
                value = record.get("value")
                self.logs.append((value if isinstance(value, str) else json.dumps(value), at))
            elif kind == "datamodel":
                update_variables(self.variables, record)
            elif kind == "error":
                self.errors.append(record)
            elif kind == "done":
                self.final_state = record.get("final_state") if record.get("status") == "final" else None
                self.configuration = list(record.get("configuration") or self.configuration)
        self.final_state = self.summary.get("final_state", self.final_state)
        if self.summary.get("configuration"):
            self.configuration = list(self.summary["configuration"])


@dataclass
class AssertionResult:
    """One assertion's verdict."""

    path: str
    kind: str
    passed: bool
    message: str
    assertion: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON view (CLI, websocket, JUnit)."""
        return {
            "path": self.path,
            "kind": self.kind,
            "passed": self.passed,
            "message": self.message,
            "assertion": self.assertion,
        }


def _names(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _short(items: list[str], limit: int = 8) -> str:
    if not items:
        return "none"
    shown = ", ".join(items[-limit:])
    return ("..., " if len(items) > limit else "") + shown


def _text_matches(expected: str, text: str) -> bool:
    """``re:<regex>`` searches; anything else is a substring."""
    if expected.startswith("re:"):
        return re.search(expected[3:], text) is not None
    return expected in text


def _data_matches(expected: Mapping[str, Any], data: Any) -> bool:
    """Every expected key (dotted paths reach into objects) matches (fakes rule semantics)."""
    for key, want in expected.items():
        value: Any = data
        for part in key.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if not _value_matches(want, value):
            return False
    return True


def _count_verdict(what: str, times: list[float], assertion: Mapping[str, Any], seen: str) -> tuple[bool, str]:
    """Common 'happened (times / before)' verdict of entered, transition, request, event, log."""
    expected = assertion.get("times")
    before = assertion.get("before")
    early = [t for t in times if before is None or t <= before]
    if expected is not None:
        ok = len(early) == expected
        window = f" by t={before:g}" if before is not None else ""
        return ok, f"{what}: {len(early)} time(s){window}, expected {expected}" + ("" if ok else f" (seen: {seen})")
    if early:
        return True, f"{what} at t={early[0]:g}"
    if times:
        return False, f"{what} only at t={times[0]:g}, expected by t={before:g}"
    return False, f"{what} never happened (seen: {seen})"


def _transition_matches(spec: Any, transition: Mapping[str, Any]) -> bool:
    if isinstance(spec, str):
        return transition.get("id") == spec
    if "source" in spec and transition.get("source") != spec["source"]:
        return False
    if "target" in spec and spec["target"] not in (transition.get("targets") or []):
        return False
    return "event" not in spec or transition.get("event") == spec["event"]


def _describe_request(request: Mapping[str, Any]) -> str:
    where = f" (line {request['line']})" if request.get("line") else ""
    return f"{request.get('module')}:{request.get('action')}{where}"


def evaluate(assertion: Mapping[str, Any], view: TraceView) -> tuple[str, bool, str]:
    """(kind, passed, message) of one validated assertion against a trace view."""
    kind = next(k for k in ASSERTIONS if k in assertion)
    value = assertion[kind]
    if kind == "outcome":
        outcome = view.summary.get("outcome") or {"status": "unknown"}
        wanted = {"status": value, **{k: assertion[k] for k in ("target", "via", "reason") if k in assertion}}
        ok = outcome.get("status") == value and all(
            isinstance(outcome.get(k), str)
            and (_text_matches(v, outcome[k]) if v.startswith("re:") else outcome[k] == v)
            for k, v in wanted.items()
            if k != "status"
        )
        got = json.dumps(outcome)
        return kind, ok, (f"outcome {got}" if ok else f"expected outcome {json.dumps(wanted)}, got {got}")
    if kind == "final":
        status = view.summary.get("status")
        final = view.final_state if status in (None, "final") else None
        if value is True:
            return kind, final is not None, f"final state {final!r}" if final else f"no final state reached ({status})"
        if value is False:
            return kind, final is None, f"no final state ({status})" if final is None else f"reached final {final!r}"
        ok = final == value
        return kind, ok, f"final state {final!r}" + ("" if ok else f", expected {value!r}")
    if kind in ("entered", "not_entered"):
        entered = [s for s, _ in view.entered]
        results = []
        for name in _names(value):
            times = [t for s, t in view.entered if s == name]
            if kind == "not_entered":
                ok = not times
                results.append((ok, f"state {name!r} " + ("never entered" if ok else f"entered at t={times[0]:g}")))
            else:
                results.append(_count_verdict(f"state {name!r} entered", times, assertion, _short(entered)))
        return kind, all(ok for ok, _ in results), "; ".join(m for _, m in results)
    if kind == "active":
        missing = [s for s in _names(value) if s not in view.configuration]
        ok = not missing
        message = f"active: {', '.join(_names(value))}" if ok else f"not active: {', '.join(missing)}"
        return kind, ok, message + ("" if ok else f" (configuration: {_short(view.configuration)})")
    if kind == "transition":
        times = [t for tr, t in view.transitions if _transition_matches(value, tr)]
        seen = _short(
            [f"{tr.get('id')} {tr.get('source')}->{'/'.join(tr.get('targets') or [])}" for tr, _ in view.transitions]
        )
        return kind, *_count_verdict(f"transition {json.dumps(value)}", times, assertion, seen)
    if kind == "request":
        rule = Rule(0, {"module": value["module"], "action": value["action"], "match": value.get("attributes") or {}})
        times = []
        for request, at in view.requests:
            seen_request = Request(
                str(request.get("id")),
                str(request.get("module")),
                str(request.get("action")),
                dict(request.get("attributes") or {}),
                list(request.get("children") or []),
            )
            if rule.matches(seen_request):
                times.append(at)
        seen = _short([f"{_describe_request(r)} {json.dumps(r.get('attributes'))}" for r, _ in view.requests], 4)
        label = f"request {value['module']}:{value['action']}"
        if value.get("attributes"):
            label += f" with {json.dumps(value['attributes'])}"
        return kind, *_count_verdict(label, times, assertion, seen)
    if kind == "event":
        times = [
            t for name, data, t in view.events if name == value and _data_matches(assertion.get("data") or {}, data)
        ]
        seen = _short(list(dict.fromkeys(name for name, _, _ in view.events)))
        label = f"event {value!r}" + (f" with {json.dumps(assertion['data'])}" if assertion.get("data") else "")
        return kind, *_count_verdict(label, times, assertion, seen)
    if kind == "log":
        hits = [t for text, t in view.logs if _text_matches(value, text)]
        return kind, *_count_verdict(f"log {value!r}", hits, assertion, _short([repr(x) for x, _ in view.logs], 3))
    if kind == "variable":
        head, _, rest = value.partition(".")
        if head not in view.variables:
            return kind, False, f"variable {head!r} was never set (known: {_short(sorted(view.variables))})"
        current: Any = view.variables[head]
        for part in rest.split(".") if rest else []:
            current = current.get(part) if isinstance(current, Mapping) else None
        ok = same(current, assertion["equals"])  # true is not 1
        message = f"{value} = {json.dumps(current)}"
        return kind, ok, message + ("" if ok else f", expected {json.dumps(assertion['equals'])}")
    if kind == "time":
        now = float(view.summary.get("virtual_time", view.time))
        ok = value.get("min", 0.0) <= now <= value.get("max", float("inf"))
        bounds = f"[{value.get('min', 0):g}, {value['max']:g}]" if "max" in value else f">= {value['min']:g}"
        return kind, ok, f"virtual time {now:g}s" + ("" if ok else f", expected {bounds}")
    # errors
    messages = [str(e.get("message")) for e in view.errors]
    ok = len(messages) == value
    return kind, ok, f"{len(messages)} runtime error(s)" + ("" if ok else f", expected {value}: {_short(messages, 3)}")


def check_assertions(
    records: Iterable[Mapping[str, Any]],
    assertions: Iterable[Mapping[str, Any]],
    summary: Mapping[str, Any] | None = None,
    path: str = "$.expect",
) -> list[AssertionResult]:
    """Evaluate validated assertions against a trace (and the run's summary, for ``outcome``)."""
    view = TraceView(records, summary)
    results = []
    for i, assertion in enumerate(assertions):
        kind, ok, message = evaluate(assertion, view)
        results.append(AssertionResult(f"{path}[{i}]", kind, ok, message, dict(assertion)))
    return results


# -- from a live session to a scenario ---------------------------------------------------------------


def _time_at(records: list[Mapping[str, Any]], seq: int) -> float:
    """Virtual time once the trace reached record `seq` (a clock record counts with its ``to``)."""
    now = 0.0
    for record in records:
        if int(record.get("seq") or 0) > seq:
            break
        now = max(now, float(record.get("time") or 0.0), float(record.get("to") or 0.0))
    return now


def scenario_from_run(
    records: list[Mapping[str, Any]],
    summary: Mapping[str, Any],
    fakes: Any = None,
    inputs: Iterable[Mapping[str, Any]] = (),
    name: str = "recorded run",
) -> dict[str, Any]:
    """A scenario that replays a (live) run and asserts what it did: "save this run as a test".

    `inputs` is the simulator's operations log (``{"op": "inject"|"respond"|"advance"|"step"|
    "set_fakes", ..., "seq"}``, ``seq`` = the trace record reached after the operation): injected
    events and answers become timeline steps at the virtual time they were applied; steps and
    clock moves need no step (the scenario's clock moves on to the next operation). The assertions
    are the run's outcome, final state, the states entered, the requests made (counts), the
    number of runtime errors and the virtual time. Operations a scenario cannot express
    (``party_changed``, ``udata_changed``, ``set_fakes``) are listed in ``description``. When an
    operation was applied between microsteps at one virtual time, the scenario (which processes
    everything due at a time) may order it differently: review the result before saving it.
    """
    steps: list[dict[str, Any]] = []
    skipped: list[str] = []
    reached = 0.0
    for op in inputs:
        kind = op.get("op")
        at = _time_at(records, int(op.get("seq") or 0))
        if kind == "inject" and op.get("kind") in ("event", "hangup", "abandon"):
            event = op["event"] if op["kind"] == "event" else op["kind"]
            step: dict[str, Any] = {"inject": event, "at": round(at + float(op.get("delay") or 0.0), 6)}
        elif kind == "respond":
            step = {"respond": op["request"], "events": [dict(e) for e in op["events"]]}
        else:
            if kind in ("inject", "set_fakes"):
                skipped.append(f"{kind} {op.get('kind', '')}".strip() + f" at t={at:g}")
            continue
        if op.get("data") and "inject" in step:
            step["data"] = dict(op["data"])
        if at > reached:
            steps.append({"until": at})
            reached = at
        steps.append(step)
    view = TraceView(records, summary)
    outcome = dict(summary.get("outcome") or {})
    expect: list[dict[str, Any]] = []
    if outcome.get("status") in OUTCOMES:
        check: dict[str, Any] = {"outcome": outcome["status"]}
        if isinstance(outcome.get("target"), str):
            check["target"] = outcome["target"]
        expect.append(check)
    expect.append({"final": view.final_state or False})
    entered = list(dict.fromkeys(state for state, _ in view.entered))
    if entered:
        expect.append({"entered": entered})
    made: dict[tuple[str, str], int] = {}
    for request, _ in view.requests:
        key = (str(request.get("module")), str(request.get("action")))
        made[key] = made.get(key, 0) + 1
    expect += [{"request": {"module": m, "action": a}, "times": n} for (m, a), n in made.items()]
    expect.append({"errors": len(view.errors)})
    now = float(summary.get("virtual_time", view.time))
    expect.append({"time": {"min": now, "max": now}})
    scenario: dict[str, Any] = {"name": name}
    if skipped:
        scenario["description"] = "not replayed (no scenario step for them): " + "; ".join(skipped)
    if fakes:
        scenario["fakes"] = fakes
    if steps:
        scenario["steps"] = steps
    scenario["expect"] = expect
    return scenario


# -- running ---------------------------------------------------------------------------------------


@dataclass
class ScenarioResult:
    """The verdict of one scenario run."""

    name: str
    source: str | None
    steps: list[AssertionResult]
    assertions: list[AssertionResult]
    summary: dict[str, Any]
    trace: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)
    #: wall-clock seconds the run took
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Every step worked and every assertion held (and the scenario was valid)."""
        return not self.problems and all(r.passed for r in [*self.steps, *self.assertions])

    @property
    def failures(self) -> list[AssertionResult]:
        """The failed steps and assertions, in order."""
        return [r for r in [*self.steps, *self.assertions] if not r.passed]

    def to_json(self, trace: bool = True) -> dict[str, Any]:
        """JSON view; `trace=False` leaves the (long) trace out."""
        out = {
            "name": self.name,
            "source": self.source,
            "passed": self.passed,
            "problems": self.problems,
            "steps": [r.to_json() for r in self.steps],
            "assertions": [r.to_json() for r in self.assertions],
            "summary": self.summary,
            "seconds": round(self.seconds, 4),
        }
        if trace:
            out["trace"] = self.trace
        return out


def _pending_match(run: OrsRun, spec: Any) -> Any:
    for request in run.platform.pending_requests():
        if isinstance(spec, str):
            if request.id == spec:
                return request
        elif Rule(
            0, {"module": spec["module"], "action": spec["action"], "match": spec.get("attributes") or {}}
        ).matches(request):
            return request
    return None


def _busy() -> str:
    return f"gave up after {MAX_STEP_WORK} timers: the strategy keeps itself busy"


class _Runner:
    """Executes a scenario's timeline on an OrsRun."""

    def __init__(self, run: OrsRun, scenario: Scenario) -> None:
        self.run = run
        self.scenario = scenario
        self.max_time = float(scenario.data.get("max_time", DEFAULT_MAX_TIME))

    def now(self) -> float:
        return float(self.run.group.clock.now)

    def step(self, index: int, step: Mapping[str, Any]) -> list[AssertionResult]:
        kind = next(k for k in STEPS if k in step)
        path = f"$.steps[{index}]"
        run = self.run

        def result(ok: bool, message: str) -> list[AssertionResult]:
            return [AssertionResult(path, kind, ok, f"t={self.now():g}: {message}", dict(step))]

        if kind == "inject":
            delay = step["at"] - self.now() if "at" in step else step.get("after", 0.0)
            if delay < 0:
                return result(False, f"cannot inject {step['inject']!r} at t={step['at']:g}: that time has passed")
            run.platform.inject(step["inject"], step.get("data") or {}, delay, source="scenario")
            return result(True, f"{step['inject']!r} queued for t={self.now() + delay:g}")
        if kind == "advance":
            busy = run.advance_until(self.now() + float(step["advance"]), max_work=MAX_STEP_WORK) == "busy"
            return result(not busy, _busy() if busy else f"advanced {step['advance']:g}s")
        if kind == "until":
            target = float(step["until"])
            if target < self.now():
                return result(False, f"cannot go back to t={target:g}")
            busy = run.advance_until(target, max_work=MAX_STEP_WORK) == "busy"
            return result(not busy, _busy() if busy else "clock moved")
        if kind == "run":
            run.run(max_time=self.max_time)
            return result(True, f"ran until {'idle' if run.group.clock.next_due() is None else 'the time limit'}")
        if kind == "respond":
            spec = step["respond"]
            found: list[Any] = []

            def pending() -> bool:
                found[:] = [_pending_match(run, spec)]
                return found[0] is not None

            verdict = run.advance_until(self.max_time, pending, max_work=MAX_STEP_WORK)
            if verdict == "busy":
                return result(False, _busy())
            if verdict != "done":
                what = spec if isinstance(spec, str) else f"{spec['module']}:{spec['action']}"
                waiting = ", ".join(_describe_request(r.to_json()) for r in run.platform.pending_requests()) or "none"
                return result(False, f"no pending request {what} to answer (pending: {waiting})")
            request = found[0]
            run.platform.respond(request.id, list(step["events"]))
            run.group.drain()
            names = ", ".join(e["name"] for e in step["events"])
            return result(True, f"answered {request.id} {request.module}:{request.action} with {names}")
        if kind == "wait":
            condition = step["wait"]
            limit = min(self.max_time, self.now() + float(step.get("timeout", self.max_time)))
            records = run.records
            seen = [0, False]  # records already scanned for the event, found

            def reached() -> bool:
                session = run.session
                if "entered" in condition:
                    state = condition["entered"]
                    return session.is_active(state) if session.running else state in session.final_configuration
                if "event" in condition:
                    # incremental: each record is looked at once however long the wait
                    for record in records[seen[0] :]:
                        if record.get("type") == "macrostep" and record.get("session") == session.sessionid:
                            names = [(record.get("event") or {}).get("name"), *record.get("internal_events", [])]
                            seen[1] = seen[1] or condition["event"] in names
                    seen[0] = len(records)
                    return bool(seen[1])
                return _pending_match(run, condition["request"]) is not None

            verdict = run.advance_until(limit, reached, max_work=MAX_STEP_WORK)
            if verdict == "busy":
                return result(False, _busy())
            ok = verdict == "done"
            return result(ok, f"{json.dumps(condition)} " + ("reached" if ok else f"not reached by t={limit:g}"))
        # expect
        items = step["expect"] if isinstance(step["expect"], list) else [step["expect"]]
        run.group.drain()
        checked = check_assertions(run.records, items, run.summary(), path=f"{path}.expect")
        if not isinstance(step["expect"], list):
            checked[0].path = f"{path}.expect"
        return checked


def run_step(run: OrsRun, index: int, step: Mapping[str, Any], max_time: float) -> list[AssertionResult]:
    """One timeline step on a live run, as `run_scenario` runs it (the simulator's read-only
    replay of a scenario applies its steps one by one)."""
    return _Runner(run, Scenario({"max_time": max_time})).step(index, step)


def run_scenario(
    files: Mapping[str, bytes],
    scenario: Scenario | Mapping[str, Any] | str | bytes,
    entry: str | None = None,
    source: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ScenarioResult:
    """Run a scenario on a project headless and check its assertions (see the module docstring).

    An invalid scenario or a strategy with definition errors gives a failed result whose
    ``problems`` say why (nothing raises for bad input).
    """
    if not isinstance(scenario, Scenario):
        try:
            text = dict(scenario) if isinstance(scenario, Mapping) else scenario
            scenario = load_scenario(text, files, source, check_fakes=False)
        except ScenarioError as exc:
            name = Scenario({}, source).name  # the file name without .json
            return ScenarioResult(name, source, [], [], {}, [], exc.problems)
    name = scenario.name
    data = scenario.data
    fakes, problems = _fakes_data(data.get("fakes"), files)
    try:
        profile = None if problems else load_fakes(fakes)  # the run's one load (it validates too)
    except FakesError as exc:
        problems = _fakes_labels(data.get("fakes"), exc.problems)
    if problems:
        return ScenarioResult(name, scenario.source, [], [], {}, [], problems)
    try:
        run = OrsRun(
            files,
            entry=data.get("entry") or entry,
            fakes=profile,
            seed=int(data.get("seed", 0)),
            trace=True,
            limits=limits,
        )
    except DocumentError as exc:
        problems = [f"{e.file}:{e.line}: {e.message}" for e in exc.errors]
        return ScenarioResult(name, scenario.source, [], [], {}, [], problems)
    except ValueError as exc:  # ProjectError: no entry document
        return ScenarioResult(name, scenario.source, [], [], {}, [], [str(exc)])
    started = time.perf_counter()
    runner = _Runner(run, scenario)
    run.start()
    steps: list[AssertionResult] = []
    for index, step in enumerate(scenario.steps):
        outcome = runner.step(index, step)
        steps += outcome
        if not all(r.passed for r in outcome) and "expect" not in step:
            break  # the timeline cannot go on meaningfully
    else:
        run.run(max_time=runner.max_time)
    summary = run.summary()
    assertions = check_assertions(run.records, scenario.expect, summary)
    run.close()
    seconds = time.perf_counter() - started
    return ScenarioResult(name, scenario.source, steps, assertions, summary, run.records, seconds=seconds)


def run_project_scenarios(
    files: Mapping[str, bytes],
    paths: Iterable[str] | None = None,
    entry: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[ScenarioResult]:
    """Run the given scenario files of the project (default: every ``scenarios/*.json``)."""
    results = []
    for path in project_scenarios(files) if paths is None else paths:
        results.append(run_scenario(files, files[path], entry=entry, source=path, limits=limits))
    return results


def suite_report(
    files: Mapping[str, bytes], results: Iterable[ScenarioResult], entry: str | None = None, coverage: bool = True
) -> dict[str, Any]:
    """JSON of a set of scenario results (the simulator page, tooling)::

        {"passed": n, "failed": n, "results": [result JSON without trace], "coverage": report}

    ``coverage`` is the union over the scenarios that ran (``simulator.coverage`` report), or
    absent when not asked for.
    """
    results = list(results)
    report: dict[str, Any] = {
        "passed": sum(1 for r in results if r.passed),
        "failed": sum(1 for r in results if not r.passed),
        "results": [r.to_json(trace=False) for r in results],
    }
    if coverage:
        union = Coverage()
        for result in results:
            if result.trace:
                union.add(result.trace)
        report["coverage"] = union.report(build_graph(files, entry or find_entry(files)))
    return report


# -- reporting (CLI, CI) -----------------------------------------------------------------------------


def format_result(result: ScenarioResult) -> str:
    """One verdict line, then one line per failure (or per problem of an invalid scenario)."""
    checks = len(result.assertions) + sum(1 for r in result.steps if r.kind == "expect")
    where = f" ({result.source})" if result.source else ""
    if result.passed:
        outcome = (result.summary.get("outcome") or {}).get("status", "-")
        at = float(result.summary.get("virtual_time", 0.0))
        return f"PASS {result.name}{where}: {checks} assertion(s), outcome {outcome}, t={at:g}s"
    lines = [f"FAIL {result.name}{where}"]
    lines += [f"  {problem}" for problem in result.problems]
    lines += [f"  {r.path} {r.kind}: {r.message}" for r in result.failures]
    return "\n".join(lines)


def junit_xml(results: Iterable[ScenarioResult], suite: str = "orchweb scenarios") -> str:
    """JUnit XML (one testcase per scenario; invalid scenarios are errors, failed ones failures)."""
    from xml.etree import ElementTree as ET

    results = list(results)
    root = ET.Element("testsuite", name=suite, tests=str(len(results)))
    failures = errors = 0
    for result in results:
        case = ET.SubElement(
            root,
            "testcase",
            classname=suite,
            name=result.name if not result.source else f"{result.name} [{result.source}]",
            time=f"{result.seconds:.3f}",
        )
        if result.problems:
            errors += 1
            error = ET.SubElement(case, "error", message=result.problems[0])
            error.text = "\n".join(result.problems)
        elif not result.passed:
            failures += 1
            first = result.failures[0]
            failure = ET.SubElement(case, "failure", message=f"{first.path} {first.kind}: {first.message}")
            failure.text = "\n".join(f"{r.path} {r.kind}: {r.message}" for r in result.failures)
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(
            f"{'ok  ' if r.passed else 'FAIL'} {r.path} {r.kind}: {r.message}"
            for r in [*result.steps, *result.assertions]
        )
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
