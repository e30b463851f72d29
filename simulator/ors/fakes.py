"""The fakes profile: what the simulated Genesys platform answers (schema, defaults, rule matching).

A fakes profile is JSON (documented with examples in ``docs/fakes.md``).  :func:`load_fakes`
validates it against :data:`SCHEMA` (errors carry the JSON path and what is wrong), merges it over
:data:`DEFAULTS` and returns a :class:`FakesProfile`.  An empty profile ``{}`` is a complete,
useful profile: an inbound voice call on routing point 9000, an agent found after one virtual
second, dialogs that complete, fetches answering ``200 {}``, statistics at 0.

Rule matching (``FakesProfile.match``): rules are tried in order, the first whose ``module``,
``action`` and ``match`` (attribute values) fit the request wins; no match = the module's default
behaviour.  A rule's ``times`` limits how often it applies.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from .extensions import classification, elasticconnector, resource, web
from .extensions.base import Request


class FakesError(ValueError):
    """An invalid fakes profile; ``problems`` lists ``"<json path>: <what is wrong>"``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid fakes profile:\n  " + "\n  ".join(problems))
        self.problems = problems


_EVENT = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "data": {"type": "object"},
        "delay": {"type": "number", "minimum": 0},
        "final": {"type": "boolean"},
    },
}

_AGENT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "agent": {"type": "string"},
        "place": {"type": "string"},
        "dn": {"type": "string"},
        "switch": {"type": "string"},
        "statserver": {"type": "string"},
    },
}

#: what a canned HTTP answer may set (per-URL rules and the default answer alike)
_HTTP_RESPONSE = {
    "status": {"type": "integer", "minimum": 0},
    "headers": {"type": "object"},
    "body": {},
    "delay": {"type": "number", "minimum": 0},
}

_MODULES = [
    "session",
    "ws",
    "queue",
    "interaction",
    "dialog",
    "statistic",
    "classification",
    "resource",
    "elasticconnector",
]

#: JSON schema of a fakes profile (Draft 2020-12).  Every section is optional.
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "description": {"type": "string"},
        "interaction": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "media": {"enum": ["voice", "email", "chat", "sms", "workitem", "webform", "openmedia"]},
                "type": {"type": "string"},
                "ani": {"type": "string"},
                "dnis": {"type": "string"},
                "routepoint": {"type": "string"},
                "callid": {"type": "string"},
                "connid": {"type": "string"},
                "parentid": {"type": "string"},
                "tenant": {"type": "string"},
                "tenantid": {"type": "integer"},
                "media_server": {"type": "string"},
                "udata": {"type": "object"},
                "xdata": {"type": "object"},
                "parties": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"device": {"type": ["string", "null"]}, "devicetype": {"type": "string"}},
                    },
                },
                "msgbased": {"type": "object"},
                "chat": {"type": "object"},
                "start_events": {
                    "type": ["array", "null"],
                    "items": {
                        "enum": [
                            "interaction.added",
                            "interaction.present",
                            "interaction.onrouterequest",
                            "interaction.partystatechanged",
                        ]
                    },
                },
            },
        },
        "none": {"type": "boolean", "description": "start without any interaction (no interaction.added)"},
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["module", "action"],
                "additionalProperties": False,
                "properties": {
                    "module": {"enum": _MODULES},
                    "action": {"type": "string", "minLength": 1},
                    "match": {"type": "object"},
                    "manual": {"type": "boolean"},
                    "events": {"type": "array", "items": _EVENT},
                    "error": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "error": {"type": ["string", "integer"]},
                            "description": {"type": "string"},
                            "delay": {"type": "number", "minimum": 0},
                            "data": {"type": "object"},
                        },
                    },
                    "params": {"type": "object"},
                    "data": {"type": "object"},
                    "delay": {"type": "number", "minimum": 0},
                    "times": {"type": "integer", "minimum": 1},
                    "description": {"type": "string"},
                },
            },
        },
        "inject": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["event"],
                "additionalProperties": False,
                "properties": {
                    "event": {"type": "string", "minLength": 1},
                    "data": {"type": "object"},
                    "at": {"type": "number", "minimum": 0},
                    "on": {
                        "type": "object",
                        "required": ["module", "action"],
                        "additionalProperties": False,
                        "properties": {"module": {"enum": _MODULES}, "action": {"type": "string"}},
                    },
                    "after": {"type": "number", "minimum": 0},
                },
            },
        },
        "queue": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "delay": {"type": "number", "minimum": 0},
                "available": {"type": "boolean"},
                "agent": _AGENT,
            },
        },
        "interaction_actions": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "delay": {"type": "number", "minimum": 0},
                "redirect_detach_resultof": {"type": "string"},
                "redirect_leaves_after": {"type": ["number", "null"], "minimum": 0},
                "terminate_deletes": {"type": "boolean"},
            },
        },
        "dialog": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "duration": {"type": "number", "minimum": 0},
                "prompt_seconds": {"type": "number", "minimum": 0},
                "digits": {"type": "string"},
                "no_input": {"enum": ["error", "done"]},
                "extensions": {"type": "object"},
                "udata": {"type": "object", "description": "udata the IVR app attaches before dialog.start.done"},
                "hangup_error": {"type": "string"},
            },
        },
        "session": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "tenant": {"type": "string"},
                "tenantid": {"type": "integer"},
                "server": {"type": "object"},
                "url": {"type": "string"},
                "sessionid": {"type": "string"},
                "list_missing": {"enum": ["empty", "throw"]},
            },
        },
        "statistics": {"type": "object", "additionalProperties": {"type": "number"}},
        "lists": {
            "type": "object",
            "additionalProperties": {"type": "object", "additionalProperties": {"type": "object"}},
        },
        "options": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
        "special_days": {"type": "object", "additionalProperties": {"type": ["integer", "boolean"]}},
        "time": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "now": {"type": "string"},
                "zones": {"type": "object", "additionalProperties": {"type": "number"}},
            },
        },
        "http": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "responses": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["url"],
                        "additionalProperties": False,
                        "properties": {
                            "url": {"type": "string", "minLength": 1},
                            "method": {"type": "string"},
                            **_HTTP_RESPONSE,
                        },
                    },
                },
                "default": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": _HTTP_RESPONSE,
                },
                "allow_network": {"type": "array", "items": {"type": "string"}},
                "error_format": {"enum": ["status", "protocol.status"]},
            },
        },
        "classification": classification.FAKES_SCHEMA,
        "elasticconnector": elasticconnector.FAKES_SCHEMA,
        "ws": web.FAKES_SCHEMA,
        "resource": resource.FAKES_SCHEMA,
    },
}

#: The empty-profile behaviour.  "(unverified)" choices are listed in docs/fakes.md.
DEFAULTS: dict[str, Any] = {
    "interaction": {
        "id": "006502A8E4B1C002",
        "media": "voice",
        "type": "inbound",
        "ani": "5551234",
        "dnis": "9000",
        "routepoint": "9000",
        "callid": "1234567",
        "connid": "006502A8E4B1C002",
        "parentid": "",
        "tenant": "Environment",
        "tenantid": 101,
        "media_server": "SIPServer",
        "udata": {},
        "xdata": {},
        "parties": None,
        "msgbased": {},
        "chat": {},
        # None: voice -> added, onrouterequest; multimedia -> added, present (see start_events())
        "start_events": None,
    },
    "none": False,
    "rules": [],
    "inject": [],
    "queue": {
        "delay": 1.0,
        "available": True,
        "agent": {
            "agent": "Agent001",
            "place": "Place001",
            "dn": "7001",
            "switch": "SIPSwitch",
            "statserver": "Stat_Server",
        },
    },
    "interaction_actions": {
        "delay": 0.1,
        "redirect_detach_resultof": "detach",
        "redirect_leaves_after": None,
        "terminate_deletes": True,
    },
    "dialog": {
        "duration": 2.0,
        "prompt_seconds": 1.0,
        "digits": "1",
        "no_input": "error",
        "extensions": {},
        "udata": {},
        "hangup_error": "cancelled",
    },
    "session": {
        "tenant": "Environment",
        "tenantid": 101,
        "server": {"name": "ORS", "cluster": "ORS_Cluster", "url": "http://ors.example.invalid:7210"},
        "url": "http://ors.example.invalid:9098/",
        "sessionid": "",
        "list_missing": "empty",
    },
    "statistics": {},
    "lists": {},
    "options": {},
    "special_days": {},
    "time": {"now": "2026-01-05T10:00:00Z", "zones": {}},
    "http": {
        "responses": [],
        "default": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": "{}", "delay": 0.2},
        "allow_network": [],
        "error_format": "status",
    },
    "classification": {},
    "elasticconnector": {},
    "ws": {},
    "resource": {},
}

#: UTC offsets (hours) of the zone names strategies commonly pass; profile ``time.zones`` adds more
STANDARD_ZONES: dict[str, float] = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "CET": 1,
    "CEST": 2,
    "EET": 2,
    "IST": 5.5,
    "ICT": 7,
    "JST": 9,
    "AEST": 10,
}


def _path(error: jsonschema.ValidationError) -> str:
    parts = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return "$" + parts


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return "unknown key(s) " + ", ".join(repr(k) for k in extra)
    if error.validator == "enum":
        return f"{error.instance!r} is not one of " + ", ".join(repr(v) for v in error.validator_value)
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    return error.message


def _merge(base: Any, over: Any) -> Any:
    """Deep merge of JSON objects (`over` wins; lists are replaced, not merged)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base.get(k), v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


#: a quantified group that itself contains a quantifier: the classic catastrophic-backtracking
#: shape ("(a+)+", "(x*)*"); Python's re has no time limit, so profiles may not use it
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]")
MAX_PATTERN = 500


def regex_problem(pattern: str) -> str | None:
    """Why a ``re:`` pattern of a profile is refused (invalid, too long, nested quantifiers)."""
    if len(pattern) > MAX_PATTERN:
        return f"regular expression longer than {MAX_PATTERN} characters"
    if _NESTED_QUANTIFIER.search(pattern):
        return "nested quantifiers such as (a+)+ are not allowed (catastrophic backtracking)"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression ({exc})"
    return None


def _semantic_problems(data: Mapping[str, Any]) -> list[str]:
    """Checks JSON schema cannot express: regexes compile, dates parse, inject has a trigger."""
    problems = []
    for i, rule in enumerate(data.get("rules", [])):
        for key, value in (rule.get("match") or {}).items():
            if isinstance(value, str) and value.startswith("re:") and (why := regex_problem(value[3:])):
                problems.append(f"$.rules[{i}].match.{key}: {why}")
        outcomes = [k for k in ("manual", "events", "error") if rule.get(k)]
        if len(outcomes) > 1:
            problems.append(f"$.rules[{i}]: use only one of 'manual', 'events', 'error' (found {', '.join(outcomes)})")
    for i, inj in enumerate(data.get("inject", [])):
        if ("at" in inj) == ("on" in inj):
            problems.append(f"$.inject[{i}]: give exactly one of 'at' (virtual seconds) or 'on' (a request trigger)")
    now = (data.get("time") or {}).get("now")
    if now is not None:
        try:
            parse_now(now)
        except ValueError:
            problems.append(f"$.time.now: {now!r} is not an ISO 8601 date-time (e.g. 2026-01-05T10:00:00Z)")
    for i, resp in enumerate((data.get("http") or {}).get("responses", [])):
        url = resp["url"]
        if url.startswith("re:") and (why := regex_problem(url[3:])):
            problems.append(f"$.http.responses[{i}].url: {why}")
    return problems


def parse_now(text: str) -> _dt.datetime:
    """ISO 8601 date-time (``Z`` accepted) -> aware datetime (naive = UTC)."""
    value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=_dt.UTC)


def _value_matches(expected: Any, actual: Any) -> bool:
    if expected == "*":
        return actual is not None
    if isinstance(expected, str) and expected.startswith("re:"):
        text = actual if isinstance(actual, str) else json.dumps(actual) if actual is not None else ""
        return re.search(expected[3:], text) is not None
    if isinstance(expected, (dict, list)):
        return expected == actual
    if actual is None:
        return expected is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return str(expected).lower() == str(actual).lower()
    return str(expected) == (json.dumps(actual) if isinstance(actual, (dict, list)) else str(actual))


def _lookup(attributes: Mapping[str, Any], dotted: str) -> Any:
    value: Any = attributes
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


@dataclass
class Rule:
    """One validated rule of the profile (index = position in ``rules``)."""

    index: int
    spec: dict[str, Any]
    used: int = 0

    @property
    def label(self) -> str:
        """``rule:<index>`` (shown as the request's ``answered_by``)."""
        return f"rule:{self.index}"

    def matches(self, request: Request) -> bool:
        """Whether this rule applies to `request` (module, action, attribute values, times)."""
        if self.spec["module"] != request.module or self.spec["action"] not in (request.action, "*"):
            return False
        if "times" in self.spec and self.used >= self.spec["times"]:
            return False
        for key, expected in (self.spec.get("match") or {}).items():
            if key == "targets":
                from .extensions.queue import target_strings  # local: queue imports base only

                if not any(_value_matches(expected, t) for t in target_strings(request)):
                    return False
            elif not _value_matches(expected, _lookup(request.attributes, key)):
                return False
        return True


@dataclass
class FakesProfile:
    """A validated fakes profile merged over the defaults (read it like the JSON)."""

    data: dict[str, Any]
    rules: list[Rule] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        # Sections read as attributes: profile.queue["delay"], profile.dialog["digits"].
        try:
            return self.__dict__["data"][name]
        except KeyError:
            raise AttributeError(name) from None

    def match(self, request: Request) -> Rule | None:
        """The first rule matching `request` (and count its use), or None."""
        for rule in self.rules:
            if rule.matches(request):
                rule.used += 1
                return rule
        return None

    def config(self, module: str, rule: Rule | None = None) -> dict[str, Any]:
        """The module's section, with the matching rule's ``params`` merged over it."""
        section = self.data.get(module) or {}
        if rule is not None and rule.spec.get("params"):
            return _merge(section, rule.spec["params"])
        return section

    def start_events(self) -> list[str]:
        """What ORS sends when the session starts for the profile's interaction, in order."""
        events = self.data["interaction"]["start_events"]
        if events is not None:
            return list(events)
        if self.data["interaction"]["media"] == "voice":
            return ["interaction.added", "interaction.onrouterequest"]
        return ["interaction.added", "interaction.present"]

    def start_time(self) -> _dt.datetime:
        """The virtual clock's origin ("now" at session start)."""
        return parse_now(self.data["time"]["now"])

    def zone_offset(self, zone: str | None) -> float | None:
        """UTC offset in hours of a time-zone name, or None when unknown."""
        if not zone:
            return 0.0
        zones = {**STANDARD_ZONES, **self.data["time"]["zones"]}
        return zones.get(zone, zones.get(zone.upper()))

    def js_data(self) -> dict[str, Any]:
        """The part of the profile the ``_genesys`` JS surfaces read (``__orsFakes``)."""
        keys = ("session", "statistics", "lists", "options", "special_days", "time", "classification", "resource")
        out = {k: self.data[k] for k in keys}
        out["zones"] = {**STANDARD_ZONES, **self.data["time"]["zones"]}
        out["start_ms"] = int(self.start_time().timestamp() * 1000)
        return out

    def to_json(self) -> dict[str, Any]:
        """The merged profile (defaults filled in)."""
        return copy.deepcopy(self.data)


_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def validate_fakes(data: Any) -> list[str]:
    """Problems of a fakes profile as ``"<json path>: <what is wrong>"`` (empty = valid)."""
    if not isinstance(data, dict):
        return [f"$: a fakes profile is a JSON object, not {type(data).__name__}"]
    errors = sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    problems = [f"{_path(e)}: {_message(e)}" for e in errors]
    return problems or _semantic_problems(data)


def parse_json_text(data: Any, error: Callable[[list[str]], Exception]) -> Any:
    """The value of JSON text (str/bytes; other values pass through); `error([problem])` if it is not JSON."""
    if not isinstance(data, (str, bytes)):
        return data
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise error([f"$: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"]) from exc


def load_fakes(data: Any = None) -> FakesProfile:
    """Validate `data` (a dict, JSON text, or None for the defaults) and merge it over DEFAULTS.

    Raises :class:`FakesError` listing every problem with its JSON path.
    """
    if data is None:
        data = {}
    data = parse_json_text(data, FakesError)
    problems = validate_fakes(data)
    if problems:
        raise FakesError(problems)
    merged = _merge(DEFAULTS, data)
    return FakesProfile(merged, [Rule(i, r) for i, r in enumerate(merged["rules"])])
