"""Statistic interface (``http://www.genesyslab.com/modules/statistic``): Stat Server values.

Spec: ``spec/ors-core.md`` section 5.  ``_genesys.statistic.sData(object, statistic)`` reads a
current value synchronously; ``<statistic:subscribe>`` / ``<statistic:unsubscribe>`` manage
subscriptions whose changes arrive as ``statistic.update {object, statistic, value}``.

Fakes profile
-------------
* ``statistics``: values by key - ``"<object>|<statistic>"`` for one object
  (``"AG_Sales@StatServer.GA|StatAgentsAvailable": 3``) or ``"<statistic>"`` for every object.
  Unknown statistics are 0.  A statistic given as a JS object (8.1.400.45 inline form
  ``{Params: {...}}``) is keyed by its canonical JSON text (keys sorted, no spaces).
* rule ``params`` for ``statistic``/``subscribe`` (``{"module": "statistic", "action":
  "subscribe", "params": {...}}``): ``delay`` (virtual seconds before ``subscribe.done``, default
  0.05), ``updates`` (``[{"after": seconds, "value": number}, ...]``: value changes of the
  subscribed statistic, sent as ``statistic.update``; from then on ``sData`` answers the new
  value), ``periodic`` (true: re-send the value every ``interval`` seconds) and ``max_updates``
  (cap of periodic updates, default 10).
* at run time, :func:`set_statistic` changes a value (what a user or scenario does while the
  session runs): ``sData`` follows and live subscriptions get ``statistic.update``.
* the generic rule outcomes (``error``, ``events``, ``manual``) apply as for every action.

Unverified choices
------------------
* ``sData`` answers every statistic whether or not it was subscribed (the doc requires a
  subscription for non-predefined statistics; what ORS returns otherwise was not retrieved) and
  throws a ``TypeError`` only when the statistic argument is neither a string nor an object.
* Right after ``statistic.subscribe.done`` the fake sends one ``statistic.update`` with the current
  value; periodic re-sends are off by default because an endless timer would keep a simulation
  from ever becoming idle (enable them with the ``periodic`` rule parameter).
* A subscription stays a live (pending) request until it is unsubscribed: its done event is not
  final, so the request list shows what the session is still subscribed to.
* ``<statistic:unsubscribe>`` finds the subscription by ``object`` + ``statistic`` (its
  ``requestid`` is a location receiving the unsubscribe's own id, like every other action);
  with no such subscription it answers ``error.statistic.unsubscribe {error:'Request Invalid'}``.
* ``interval`` must be an integer greater than 5 ("int > 5" in the doc); a smaller value answers
  ``error.statistic.subscribe {error:'Request Invalid'}``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from .base import (
    REQUESTID,
    Action,
    Attr,
    Emit,
    EventDecl,
    FakeEnv,
    FakesSection,
    JSMember,
    Module,
    Request,
    error_emit,
    module,
)

#: statistics ``sData`` accepts without a subscription (spec 5.1)
PREDEFINED_STATISTICS: tuple[str, ...] = (
    "StatTimeInReadyState",
    "StatAgentsAvailable",
    "StatAgentsTotal",
    "StatAgentsBusy",
    "StatCallsAnswered",
    "StatCallsCompleted",
    "StatExpectedWaitingTime",
    "StatLoadBalance",
    "StatAgentsInQueueLogin",
    "StatAgentsInQueueReady",
)
#: ``error`` values documented for the module's error events
REQUEST_INVALID = "Request Invalid"
ALREADY_ACTIVE = "Subscription Already Active"
DEFAULT_INTERVAL = 30
DEFAULT_MAX_UPDATES = 10
#: StatExpectedWaitingTime (seconds) when the profile says no agent is available (unverified)
NO_AGENT_WAIT = 86400.0

#: the profile section this module reads (``sData`` reads it in JS)
FAKES = (
    FakesSection(
        "statistics",
        {"type": "object", "additionalProperties": {"type": "number"}},
        {},
        js=True,
        doc="statistic values: '<object>|<statistic>' or '<statistic>' -> number",
    ),
)
#: what a rule's ``params`` may set for ``statistic`` requests (see the module docstring)
RULE_PARAMS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "delay": {"type": "number", "minimum": 0},
        "updates": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"after": {"type": "number", "minimum": 0}, "value": {"type": "number"}},
            },
        },
        "periodic": {"type": "boolean"},
        "max_updates": {"type": "integer", "minimum": 0},
    },
}


def statistic_key(statistic: Any) -> str:
    """The profile key of a statistic: its name, or the canonical JSON of an inline definition.

    Must produce the same text as ``canon()`` in :data:`JS` (sorted keys, no spaces).
    """
    if isinstance(statistic, str):
        return statistic
    return json.dumps(statistic, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def availability_defaults(queue: Mapping[str, Any]) -> dict[str, int | float]:
    """Defaults of the statistics that say whether an agent is available, agreeing with the
    profile's ``queue`` section: a strategy that checks availability through statistics takes
    the branch a plain submit would.  Other statistics default to 0.  (`int | float`, not
    `float`: compiled by mypyc, a `float` type would turn the counts into 1.0 and 0.0.)"""
    up = bool(queue.get("available", True))
    return {
        "StatAgentsAvailable": 1 if up else 0,
        "StatAgentsInQueueReady": 1 if up else 0,
        "StatAgentsInQueueLogin": 1,
        "StatAgentsTotal": 1,
        "StatAgentsBusy": 0 if up else 1,
        "StatTimeInReadyState": 60 if up else 0,
        "StatExpectedWaitingTime": float(queue.get("delay", 1.0)) if up else NO_AGENT_WAIT,
    }


def lookup_value(
    statistics: Mapping[str, Any], obj: Any, statistic: Any, defaults: Mapping[str, int | float] | None = None
) -> float | int:
    """The profile value of `statistic` for `obj` (``object|statistic``, then ``statistic``), else
    its entry in `defaults`, else 0."""
    key = statistic_key(statistic)
    for candidate in (f"{'' if obj is None else obj}|{key}", key):
        if candidate in statistics:
            value = statistics[candidate]
            return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
    return (defaults or {}).get(key, 0)


def has_value(statistics: Mapping[str, Any], obj: Any, statistic: Any) -> bool:
    """Whether the profile (or a run-time change) gives `statistic` for `obj`."""
    key = statistic_key(statistic)
    return f"{'' if obj is None else obj}|{key}" in statistics or key in statistics


def js_data(profile: Mapping[str, Any]) -> dict[str, Any]:
    """``__orsFakes.statistic_defaults``: what ``sData`` answers for statistics the profile omits."""
    return {"statistic_defaults": availability_defaults(profile["queue"])}


def current_values(env: FakeEnv) -> dict[str, Any]:
    """The statistics as this session sees them now: the profile's, then the run-time changes."""
    return {**env.fakes.statistics, **env.state("statistic").get("values", {})}


def apply_value(env: FakeEnv, key: str, value: float | int) -> None:
    """Change one statistic value (profile key) for the rest of the session, ``sData`` included."""
    env.state("statistic").setdefault("values", {})[key] = value
    env.execute_js(f"__orsFakes.statistics[{json.dumps(key)}] = {json.dumps(value)};")


def set_statistic(platform: Any, obj: str | None, statistic: Any, value: Any) -> list[str]:
    """A run-time change of a statistic (user, scenario): ``sData`` answers `value` from now on and
    every live subscription whose value changes receives ``statistic.update``.

    `value` is checked here (a number; typed `Any` so that the mypyc build raises this check's
    ValueError, not a TypeError of its own). `obj` None changes the value for every object (key
    ``<statistic>``).  `platform` is the session's ``OrsPlatform``.  Returns the ids of the
    subscriptions notified.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"a statistic value is a number, not {value!r}")
    name = statistic_key(statistic)
    live = platform.pending("statistic", "subscribe")
    before = {r.id: lookup_value(current_values(platform), r.attributes["object"], name) for r in live}
    apply_value(platform, name if obj is None else f"{obj}|{name}", value)
    notified = []
    for r in live:
        if statistic_key(r.attributes.get("statistic")) != name or (obj is not None and r.attributes["object"] != obj):
            continue
        now = lookup_value(current_values(platform), r.attributes["object"], name)
        if now != before[r.id]:
            platform.inject("statistic.update", {"object": r.attributes["object"], "statistic": name, "value": now})
            notified.append(r.id)
    return notified


def _invalid(action: Action, description: str) -> list[Emit]:
    return [error_emit(MODULE, action, REQUEST_INVALID, description)]


def _target(request: Request, action: Action) -> tuple[str, Any] | list[Emit]:
    """(object, statistic) of a request, or the ``Request Invalid`` error to send."""
    obj = request.attributes.get("object")
    stat = request.attributes.get("statistic")
    if not isinstance(obj, str) or not obj.strip():
        return _invalid(action, "object is required (a target-format string such as 'VQ1@StatServer.Q')")
    if not (isinstance(stat, str) and stat.strip()) and not isinstance(stat, Mapping):
        return _invalid(action, "statistic is required (a statistic name or an inline definition object)")
    return obj, stat


def _same(request: Request, obj: str, stat: Any) -> bool:
    a = request.attributes
    return a.get("object") == obj and statistic_key(a.get("statistic")) == statistic_key(stat)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"fakes profile, statistic {where}: expected a number, not {value!r}")
    return float(value)


def _settings(cfg: Mapping[str, Any]) -> tuple[float, list[tuple[float, float]], bool, int]:
    """(delay, timeline of (after, value), periodic, max_updates) from the statistic settings.

    Raises ``ValueError`` naming the bad setting (the session reports it as an execution error).
    """
    delay = _number(cfg.get("delay", 0.05), "delay")
    changes = cfg.get("updates") or []
    if not isinstance(changes, list) or not all(isinstance(c, Mapping) for c in changes):
        raise ValueError("fakes profile, statistic updates: expected a list of {after, value} objects")
    timeline = sorted(
        (_number(c.get("after", 0), f"updates[{i}].after"), _number(c.get("value"), f"updates[{i}].value"))
        for i, c in enumerate(changes)
    )
    count = cfg.get("max_updates", DEFAULT_MAX_UPDATES)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"fakes profile, statistic max_updates: expected a count, not {count!r}")
    return delay, timeline, bool(cfg.get("periodic")), count


def fake_subscribe(request: Request, env: FakeEnv) -> list[Emit]:
    """``statistic.subscribe.done`` (not final: the subscription stays live), then updates.

    Errors: ``Request Invalid`` (missing object/statistic, interval <= 5),
    ``Subscription Already Active`` (same object + statistic already subscribed).
    """
    target = _target(request, SUBSCRIBE)
    if isinstance(target, list):
        return target
    obj, stat = target
    interval = request.attributes.get("interval", DEFAULT_INTERVAL)
    if interval in (None, ""):
        interval = DEFAULT_INTERVAL
    if isinstance(interval, str):  # interval="'60'": a numeric string is a number of seconds
        with contextlib.suppress(ValueError):
            interval = float(interval)
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval != int(interval):
        return _invalid(SUBSCRIBE, f"interval must be an integer number of seconds, not {interval!r}")
    if interval <= 5:
        return _invalid(SUBSCRIBE, f"interval must be greater than 5 seconds (got {int(interval)})")
    if any(r.id != request.id and _same(r, obj, stat) for r in env.pending("statistic", "subscribe")):
        return [error_emit(MODULE, SUBSCRIBE, ALREADY_ACTIVE, f"{statistic_key(stat)} of {obj} is already subscribed")]
    delay, timeline, periodic, max_updates = _settings(env.config("statistic"))
    name = statistic_key(stat)

    def update(value: Any, after: float, change: bool = False) -> Emit:
        def set_value(platform: FakeEnv) -> None:
            apply_value(platform, f"{obj}|{name}", value)

        data = {"object": obj, "statistic": name, "value": value}
        return Emit("statistic.update", data, delay=delay + after, request=False, effect=set_value if change else None)

    values = current_values(env)
    defaults = availability_defaults(env.fakes.queue)
    current = lookup_value(values, obj, stat, defaults)
    if not has_value(values, obj, stat):
        env.assume(
            "statistic",
            {"object": obj, "statistic": name},
            current,
            ["statistics", f"{obj}|{name}"],
            request=request,
        )
    emits = [Emit("statistic.subscribe.done", {}, delay=delay), update(current, 0.0)]
    emits.extend(update(value, after, change=True) for after, value in timeline)
    if periodic:
        for i in range(1, max_updates + 1):
            at = float(interval) * i
            value = next((v for a, v in reversed(timeline) if a <= at), current)
            emits.append(update(value, at))
    return emits


def fake_unsubscribe(request: Request, env: FakeEnv) -> list[Emit]:
    """End the matching live subscription (its pending updates are dropped) and answer done."""
    target = _target(request, UNSUBSCRIBE)
    if isinstance(target, list):
        return target
    obj, stat = target
    live = [r for r in env.pending("statistic", "subscribe") if _same(r, obj, stat)]
    if not live:
        return _invalid(UNSUBSCRIBE, f"no active subscription to {statistic_key(stat)} of {obj}")
    for subscription in live:
        env.cancel_request(subscription.id, [])
    delay = _number(env.config("statistic").get("delay", 0.05), "delay")
    return [Emit("statistic.unsubscribe.done", {}, delay=delay, final=True)]


_OBJECT = Attr(
    "object",
    required=True,
    type="string",
    doc="target-format object: agent, agent group, place, queue/VQ, routing point, ... ('VQ1@StatServer.Q')",
)
_STATISTIC = Attr(
    "statistic",
    required=True,
    doc="statistic name, or (8.1.400.45+) an inline definition object {Params: {...}, Extensions: {...}}",
)

SUBSCRIBE = Action(
    "subscribe",
    attributes=(
        REQUESTID,
        _OBJECT,
        _STATISTIC,
        Attr("interval", type="integer", default=DEFAULT_INTERVAL, doc="notification interval, seconds (> 5)"),
    ),
    events=("statistic.subscribe.done", "error.statistic.subscribe", "statistic.update"),
    errors=(REQUEST_INVALID, ALREADY_ACTIVE),
    fake=fake_subscribe,
    doc="subscribe to a Stat Server statistic; changes arrive as statistic.update",
)
UNSUBSCRIBE = Action(
    "unsubscribe",
    attributes=(
        REQUESTID,
        Attr("object", required=True, type="string", doc="object of the subscription (unverified attribute)"),
        Attr("statistic", required=True, doc="statistic of the subscription (unverified attribute)"),
    ),
    events=("statistic.unsubscribe.done", "error.statistic.unsubscribe"),
    errors=(REQUEST_INVALID,),
    fake=fake_unsubscribe,
    doc="end a subscription; no statistic.update afterwards",
)

JS = r"""
(function (g) {
  var has = Object.prototype.hasOwnProperty;
  function canon(v) {
    if (v === null || typeof v !== 'object') return JSON.stringify(v);
    if (Array.isArray(v)) {
      var items = [];
      for (var i = 0; i < v.length; i++) items.push(v[i] === undefined ? 'null' : canon(v[i]));
      return '[' + items.join(',') + ']';
    }
    var keys = [], parts = [];
    for (var k in v) if (has.call(v, k) && v[k] !== undefined && typeof v[k] !== 'function') keys.push(k);
    keys.sort();
    for (var j = 0; j < keys.length; j++) parts.push(JSON.stringify(keys[j]) + ':' + canon(v[keys[j]]));
    return '{' + parts.join(',') + '}';
  }
  g.statistic = {
    sData: function (object, statistic) {
      var key;
      if (typeof statistic === 'string') key = statistic;
      else if (statistic !== null && typeof statistic === 'object') key = canon(statistic);
      else throw new TypeError('sData(object, statistic): statistic must be a name or a definition object');
      var F = (typeof __orsFakes === 'object' && __orsFakes) || {};
      var values = F.statistics || {}, defaults = F.statistic_defaults || {};
      var full = (object === undefined || object === null ? '' : String(object)) + '|' + key;
      if (has.call(values, full) || has.call(values, key)) {
        var v = has.call(values, full) ? values[full] : values[key];
        return typeof v === 'number' ? v : 0;
      }
      var d = has.call(defaults, key) ? defaults[key] : 0;
      if (typeof __orsAssume !== 'function') return d;
      return __orsAssume('statistic', {object: object === undefined || object === null ? '' : String(object),
                                       statistic: key}, d, ['statistics', full]);
    }
  };
})(_genesys);
"""

MODULE: Module = module(
    "statistic",
    invalid_error=REQUEST_INVALID,
    actions=(SUBSCRIBE, UNSUBSCRIBE),
    fakes=FAKES,
    js_data=js_data,
    rule_params=RULE_PARAMS,
    events=(
        EventDecl("statistic.subscribe.done", ("requestid",), "the subscription is active"),
        EventDecl("error.statistic.subscribe", ("requestid", "error", "description"), "Request Invalid, ..."),
        EventDecl("statistic.unsubscribe.done", ("requestid",), "the subscription ended"),
        EventDecl("error.statistic.unsubscribe", ("requestid", "error", "description")),
        EventDecl(
            "statistic.update",
            ("object", "statistic", "value"),
            "a subscribed statistic changed (value is a number)",
            unsolicited=True,
        ),
    ),
    js=JS,
    js_members=(
        JSMember(
            "sData",
            "function",
            "sData(object, statistic) -> number",
            "current value of a statistic for a target-format object (profile 'statistics', default 0)",
        ),
    ),
    doc="Stat Server statistics: sData, subscribe/unsubscribe, statistic.update",
)
