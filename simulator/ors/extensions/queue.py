"""Queue interface (``http://www.genesyslab.com/modules/queue``): URS target selection.

Spec: ``spec/ors-core.md`` section 4.  Actions ``submit`` (with ``targets``/``target``/``targetid``
and busy treatments), ``cancel``, ``query``, ``update``; the ``_genesys.queue`` enumerations and
no-op URS functions.  Fake: a submit finds the profile's agent after a short virtual delay (or
times out), a cancel ends the live submit with ``queue.cancel.done``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .base import (
    HINTS,
    INTERACTIONID,
    REQUESTID,
    Action,
    Attr,
    Child,
    Emit,
    EventDecl,
    FakeEnv,
    FakesSection,
    JSMember,
    Module,
    Request,
    duration_seconds,
    error_emit,
    find_children,
    module,
    required_refusal,
)

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
#: the profile section this module reads; a rule's ``params`` follow the same schema
FAKES = (
    FakesSection(
        "queue",
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "delay": {"type": "number", "minimum": 0},
                "available": {"type": "boolean"},
                "agent": _AGENT,
            },
        },
        {
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
        doc="URS target selection: how long until an agent is found, whether one is, which",
    ),
)

TARGET_TYPES = (
    "agent",
    "place",
    "agentgroup",
    "placegroup",
    "queue",
    "dn",
    "skill",
    "campaigngroup",
    "routepoint",
    "label",
)
#: <queue:target type> NMTOKEN -> target-format abbreviation (spec 4.1)
TYPE_ABBREV = {
    "agent": "A",
    "place": "AP",
    "agentgroup": "GA",
    "placegroup": "GP",
    "queue": "Q",
    "dn": "DN",
    "skill": "GA",
    "campaigngroup": "GC",
    "routepoint": "RP",
    "label": "DL",
}

_TARGET_ATTRS = (
    Attr("name", type="string", doc="target name (agent, group, queue, ...)"),
    Attr("type", kind="literal", values=TARGET_TYPES, default="agent", doc="target type NMTOKEN"),
    Attr("statserver", type="string", doc="Stat Server application"),
    Attr("weight", doc="weight for ordertype 'percentage'"),
    Attr("threshold", type="string", doc="threshold condition"),
    Attr("skillexpr", type="string", doc="skill expression ('Loan > 1')"),
)

_TREATMENTS = Child(
    "runtreatments",
    namespace="http://www.genesyslab.com/modules/dialog",
    max=1,
    open=True,
    doc="busy treatments while waiting: no events are generated for them",
)

_TARGETS = Child(
    "targets",
    max=1,
    attributes=(
        Attr("type", kind="literal", values=TARGET_TYPES, doc="default type of the targets"),
        Attr("statserver", type="string"),
    ),
    children=(
        Child("target", attributes=_TARGET_ATTRS),
        Child("targetid", attributes=(Attr("expr", required=True, doc="possible-target list string"),)),
        Child("activity", max=1, open=True, doc="WFM activity based selection"),
        Child("workbin", max=1, open=True, doc="workbin of the targets (multimedia)"),
    ),
)


def target_strings(request: Request) -> list[str]:
    """The possible targets of a submit as target-format strings (``name@server.TYPE``).

    ``<queue:targetid expr>`` values are taken as written (possibly a comma-separated list);
    ``<queue:target>`` elements are formatted from name/type/statserver/skillexpr.
    """
    targets_el = request.child("targets")
    default_type = (targets_el or {}).get("attributes", {}).get("type") or "agent"
    default_server = (targets_el or {}).get("attributes", {}).get("statserver") or ""
    out: list[str] = []
    for el in find_children(request.children, "targetid"):
        value = el["attributes"].get("expr")
        if value not in (None, ""):
            out.extend(s.strip() for s in str(value).split(",") if s.strip())
    for el in find_children(request.children, "target"):
        a = el["attributes"]
        ttype = a.get("type") or default_type
        server = a.get("statserver") or default_server
        name = a.get("name") or ""
        if a.get("skillexpr"):
            name = f"?{name}:{a['skillexpr']}"
            ttype = "skill"
        weight = f"[{a['weight']}]" if a.get("weight") not in (None, "") else ""
        threshold = f"{{{a['threshold']}}}" if a.get("threshold") else ""
        out.append(f"{threshold}{weight}{name}@{server}.{TYPE_ABBREV.get(str(ttype), 'A')}")
    return out


def submit_result(request: Request, env: FakeEnv, agent: dict[str, Any]) -> dict[str, Any]:
    """``queue.submit.done`` data for routing `request` to the profile agent `agent`."""
    targets = target_strings(request)
    statserver = agent.get("statserver", "Stat_Server")
    vq = request.attributes.get("queue")
    vq = "" if vq in (None, "none") else str(vq)
    resource = {
        "type": "A",
        "dn": agent["dn"],
        "switch": agent["switch"],
        "agent": agent["agent"],
        "place": agent.get("place", ""),
        "vq": vq,
    }
    return {
        "targetselected": f"{agent['dn']}@{agent['switch']}.DN",
        "targetcomponentselected": f"{agent['agent']}@{statserver}.A",
        "targetobjectselected": targets[0] if targets else f"{agent['agent']}@{statserver}.A",
        "vqselected": vq,
        "resource": resource,
    }


def fake_submit(request: Request, env: FakeEnv) -> list[Emit]:
    """Default submit: ``queue.submit.requestid`` at once, then the profile's agent after the agent
    delay (``queue.submit.done``).

    The submit's ``timeout`` (seconds) shorter than the wait: ``error.queue.submit
    {error:'timeout'}`` at the timeout; with ``clearontimeout`` false the request stays queued (the
    agent still arrives later).  No agent available (``queue.available`` false): the request stays
    queued - until its timeout when it has one (then as above), else until the call ends (URS
    keeps looking; nothing is sent).
    """
    cfg = env.config("queue")
    emits = [Emit("queue.submit.requestid", {}, delay=0.0)]
    timeout_s = duration_seconds(request.attributes.get("timeout"))
    delay = float(cfg["delay"])
    available = bool(cfg["available"])
    done = Emit("queue.submit.done", submit_result(request, env, cfg["agent"]), delay=delay, final=True)
    if available and (timeout_s is None or timeout_s >= delay):
        return [*emits, done]
    if timeout_s is None:  # no agent and no timeout: queued until the call ends
        return emits
    stays = request.attributes.get("clearontimeout") is not True
    error = error_emit(MODULE, SUBMIT, "timeout", "no target available within the timeout", delay=timeout_s)
    emits.append(Emit(error.name, error.data, error.delay, final=not stays))
    return [*emits, done] if stays and available else emits


def refuse_submit(request: Request) -> tuple[str, str] | None:
    """A submit with no valid target is refused whatever the fakes say: URS has nothing to look for
    (a target needs a name: ``name@server.TYPE``; a skill expression counts as one)."""
    refusal = required_refusal(MODULE, SUBMIT, request)
    if refusal is not None:
        return refusal
    if any(t.split("@")[0].lstrip("?").strip() for t in target_strings(request) if not t.startswith("{")):
        return None
    if any(t.startswith("{") and t.split("}", 1)[1].split("@")[0].strip() for t in target_strings(request)):
        return None
    return "invalidattribute", "queue:submit has no valid target (no <queue:target name> or <queue:targetid expr>)"


def fake_cancel(request: Request, env: FakeEnv) -> list[Emit]:
    """End the targeted live submit(s) with ``queue.cancel.done {requestid: <submit id>}``.

    ``requestid`` here is a *value* (the submit's id).  Without it, every live submit of the
    interaction (in ``queue`` when given) is cancelled.  Unknown ids still get a done event
    (Composer waits for it; unverified).
    """
    target_id = request.attributes.get("requestid")
    if target_id not in (None, ""):
        victims = [r for r in env.pending("queue", "submit") if r.id == str(target_id)]
        ids = [str(target_id)]
    else:
        queue = request.attributes.get("queue")
        ixn = request.attributes.get("interactionid")
        victims = [
            r
            for r in env.pending("queue", "submit")
            if (queue in (None, "") or r.attributes.get("queue") == queue)
            and (ixn in (None, "") or r.attributes.get("interactionid") in (None, ixn))
        ]
        ids = [r.id for r in victims] or [request.id]
    for victim in victims:
        env.cancel_request(victim.id, [])
    return [Emit("queue.cancel.done", {"requestid": i}, delay=0.05, final=True) for i in ids]


def fake_query(request: Request, env: FakeEnv) -> list[Emit]:
    """``queue.query.done`` for the submit named by ``requestid`` (value)."""
    submit_id = request.attributes.get("requestid")
    live = [r for r in env.pending("queue", "submit") if submit_id in (None, "") or r.id == str(submit_id)]
    waited = env.now - live[0].created_at if live else 0
    priority = live[0].attributes.get("priority", 0) if live else 0
    data = {
        "requestid": str(submit_id) if submit_id not in (None, "") else request.id,
        "priority": priority,
        "positioninqueue": 1 if live else 0,
        "invqwaittime": round(waited),
        "Invqwaittime": round(waited),
    }
    return [Emit("queue.query.done", data, delay=0.05, final=True)]


def fake_update(request: Request, env: FakeEnv) -> list[Emit]:
    """``queue.update.done``: the live submit takes the new priority."""
    for r in env.pending("queue", "submit"):
        if r.id == str(request.attributes.get("requestid")) and request.attributes.get("priority") is not None:
            r.attributes["priority"] = request.attributes["priority"]
    return [Emit("queue.update.done", {}, delay=0.05, final=True)]


SUBMIT = Action(
    "submit",
    attributes=(
        REQUESTID,
        INTERACTIONID,
        Attr("queue", type="string", default="none", doc="virtual queue"),
        Attr("priority", type="number", default=0),
        Attr("timeout", type="number", doc="max wait in seconds (unverified default: no limit)"),
        Attr("clearontimeout", type="boolean", default=False, doc="(unverified default)"),
        Attr("route", type="boolean", default=True, doc="platform routes itself (unverified default)"),
        Attr("ordertype", type="string", default="any", values=("max", "min", "any", "percentage")),
        Attr("orderstat", type="string", default="none"),
        Attr("src", kind="literal", doc="routing rule URL"),
        HINTS,
    ),
    children=(_TARGETS, _TREATMENTS),
    events=("queue.submit.requestid", "queue.submit.done", "error.queue.submit", "queue.cancel.done"),
    errors=("timeout", "invalidattribute", "unknown"),
    fake=fake_submit,
    refuse=refuse_submit,
    match_keys={"targets": target_strings},
    doc="queue the interaction for a target; answers requestid, then done (or error on timeout)",
)
CANCEL = Action(
    "cancel",
    attributes=(
        Attr("requestid", type="string", doc="id of the submit to cancel (a value, not a location)"),
        INTERACTIONID,
        Attr("queue", type="string"),
    ),
    events=("queue.cancel.done", "error.queue.cancel"),
    fake=fake_cancel,
    doc="remove a submitted request",
)
QUERY = Action(
    "query",
    attributes=(Attr("requestid", type="string", doc="id of the submit (value)"), INTERACTIONID),
    events=("queue.query.done", "error.queue.query"),
    fake=fake_query,
)
UPDATE = Action(
    "update",
    attributes=(Attr("requestid", type="string"), INTERACTIONID, Attr("priority", type="number")),
    children=(_TREATMENTS,),
    events=("queue.update.done", "error.queue.update"),
    fake=fake_update,
)

ROUTE_TYPES = (
    "RouteTypeUnknown",
    "RouteTypeDefault",
    "RouteTypeLabel",
    "RouteTypeOverwriteDNIS",
    "RouteTypeDDD",
    "RouteTypeIDDD",
    "RouteTypeDirect",
    "RouteTypeReject",
    "RouteTypeAnnouncement",
    "RouteTypePostFeature",
    "RouteTypeDirectAgent",
    "RouteTypeGetFromDN",
)

# `rType` is a literal (ROUTE_TYPES numbered from 0, in order: what a loop over the names made; the
# surfaces run before any document code) on as many lines as before: a host function's line shows
# in the stack of an error it throws (and in the datamodel's error line).
JS = (
    r"""
(function (g) {
  // (rType below: the route types numbered from 0)
  function rec(name) {
    return function () { __orsCall('queue.' + name, JSON.stringify(Array.prototype.slice.call(arguments))); };
  }
  g.queue = {
    rType: %ROUTE_TYPES%,
    // (the names, in the order
    //  of ROUTE_TYPES,
    //  each its position)
    overwriteType: {UseNone: 'UseNone', UseDNIS: 'UseDNIS', UseANI: 'UseANI', UseConfig: 'UseConfig'},
    usecapcond: {Never: 0, Only: 1, OnStatError: 2},
    reserveTarget: rec('reserveTarget'),
    checkAgentState: rec('checkAgentState'),
    priorityTuning: rec('priorityTuning'),
    setIdealAgent: rec('setIdealAgent'),
    setDefaultDestination: rec('setDefaultDestination'),
    excludeAgents: rec('excludeAgents'),
    setTargetThreshold: rec('setTargetThreshold'),
    useCapacityRule: rec('useCapacityRule'),
    clearTargets: rec('clearTargets'),
    getIntegerKey: function () { return 0; },
    cCTExtractTargets: function (ixnid, statserver, input) {
      var parts = String(input == null ? '' : input).split(/[\s,;]+/), out = [];
      for (var i = 0; i < parts.length; i++) {
        if (!parts[i]) continue;
        out.push(parts[i].indexOf('@') >= 0 ? parts[i] : parts[i] + '@' + statserver + '.A');
      }
      return out.join(',');
    }
  };
  g.voice = g.voice || {};
  g.voice.overwriteType = {UseNone: 'UseNone', UseDNIS: 'UseDNIS', UseANI: 'UseANI', UseConfig: 'UseConfig'};
})(_genesys);
"""
).replace("%ROUTE_TYPES%", json.dumps({name: i for i, name in enumerate(ROUTE_TYPES)}))


def interaction_left(env: FakeEnv, ixn: str, why: str) -> list[tuple[Request, Emit]]:
    """The call left: URS forgets its queued submits (closed without an event)."""
    for r in env.pending("queue", "submit"):
        if r.attributes.get("interactionid") in (None, "", 0, "0", ixn):
            env.cancel_request(r.id, [])
    return []


def outcome(name: str, data: Mapping[str, Any], request: Request | None, current: Mapping[str, Any]) -> Any:
    """A submit answered with a target routes the call unless the strategy routes itself (``route`` false)."""
    if name == "queue.submit.done" and request is not None and request.attributes.get("route") is not False:
        return {"status": "routed", "target": data.get("targetselected"), "via": "queue:submit"}
    return None


MODULE: Module = module(
    "queue",
    actions=(SUBMIT, CANCEL, QUERY, UPDATE),
    fakes=FAKES,
    outcome=outcome,
    interaction_left=interaction_left,
    events=(
        EventDecl("queue.submit.requestid", ("requestid", "interactionid"), "the request was accepted"),
        EventDecl(
            "queue.submit.done",
            (
                "requestid",
                "interactionid",
                "targetselected",
                "targetcomponentselected",
                "targetobjectselected",
                "vqselected",
                "resource",
            ),
            "a target was selected (and reserved, or routed with route=true)",
        ),
        EventDecl("error.queue.submit", ("requestid", "interactionid", "error", "description")),
        EventDecl("queue.cancel.done", ("requestid",), "a submit was cancelled (requestid = the submit's)"),
        EventDecl("error.queue.cancel", ("requestid", "error", "description")),
        EventDecl("queue.query.done", ("requestid", "priority", "positioninqueue", "invqwaittime", "Invqwaittime")),
        EventDecl("error.queue.query", ("requestid", "error", "description")),
        EventDecl("queue.update.done", ("requestid",)),
        EventDecl("error.queue.update", ("requestid", "error", "description")),
    ),
    js=JS,
    js_members=(
        JSMember("rType", "enum", members=ROUTE_TYPES, doc="T-Server route types for ixn:redirect type"),
        JSMember("overwriteType", "enum", members=("UseANI", "UseConfig", "UseDNIS", "UseNone")),
        JSMember("usecapcond", "enum", members=("Never", "Only", "OnStatError")),
        JSMember("reserveTarget", "function", "reserveTarget(ixnid, target, time)", "no-op, recorded"),
        JSMember("checkAgentState", "function", "checkAgentState(check)", "no-op, recorded"),
        JSMember("priorityTuning", "function", "priorityTuning(ixnid, useAge, usePredict, useObjective)"),
        JSMember("setIdealAgent", "function", "setIdealAgent(ixnid, agent)"),
        JSMember("setDefaultDestination", "function", "setDefaultDestination(ixnid, target, vq)"),
        JSMember("excludeAgents", "function", "excludeAgents(...)"),
        JSMember("setTargetThreshold", "function", "setTargetThreshold(...)"),
        JSMember("useCapacityRule", "function", "useCapacityRule(...)"),
        JSMember("clearTargets", "function", "clearTargets(...)"),
        JSMember("getIntegerKey", "function", "getIntegerKey(...) -> 0"),
        JSMember("cCTExtractTargets", "function", "cCTExtractTargets(ixnid, statserver, input) -> string"),
    ),
    doc="URS target selection: queue:submit/cancel/query/update",
)
