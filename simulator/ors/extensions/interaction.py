"""Interaction interface (``http://www.genesyslab.com/modules/interaction``, ``_genesys.ixn``).

Spec: ``spec/ors-interaction-dialog.md`` section 1.  Actions terminate, redirect, attach, detach,
accept, associate and the design-spec stubs (createcall, hold, retrieve, createmessage,
sendmessage); the interaction object model mirrored into JS; ``setuData``/``deleteuData``/
``getuData``/``getMediaIntValue``.  The platform keeps the interaction objects
(``simulator/ors/platform.py``) and mirrors every change into ``_genesys.ixn.interactions``.
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
    Emit,
    EventDecl,
    FakeEnv,
    FakesSection,
    JSMember,
    Module,
    Request,
    error_emit,
    module,
    request_interaction_id,
    required_refusal,
)
from .resource import resource_problem

MEDIA_TYPES = (
    "TMediaVoice",
    "TMediaVoIP",
    "TMediaEMail",
    "TMediaVMail",
    "TMediaSMail",
    "TMediaChat",
    "TMediaVideo",
    "TMediaCobrowsing",
    "TMediaWhiteboard",
    "TMediaAppSharing",
    "TMediaWebform",
    "TMediaWorkItem",
    "TMediaCallback",
    "TMediaFax",
    "TMediaIMChat",
    "TMediaBusinessEvent",
    "TMediaAlert",
    "TMediaSMS",
    "TMediaOutboundPreview",
    "TMediaOpenMedia",
    "TMediaNativeSMS",
)

_ACTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "delay": {"type": "number", "minimum": 0},
        "redirect_detach_resultof": {"type": "string"},
        "redirect_leaves_after": {"type": ["number", "null"], "minimum": 0},
        "terminate_deletes": {"type": "boolean"},
    },
}
#: the profile sections this module reads: the interaction a session starts with, and how the
#: platform answers interaction actions (a rule's ``params`` follow ``interaction_actions``)
FAKES = (
    FakesSection(
        "interaction",
        {
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
        {
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
            # None: voice -> added, onrouterequest; multimedia -> added, present (FakesProfile.start_events)
            "start_events": None,
        },
        doc="the interaction that starts the session",
    ),
    FakesSection(
        "interaction_actions",
        _ACTIONS_SCHEMA,
        {"delay": 0.1, "redirect_detach_resultof": "detach", "redirect_leaves_after": None, "terminate_deletes": True},
        doc="how the platform answers ixn:* actions",
    ),
)

IXN = Attr("interactionid", required=True, type="string", doc="g_uid of the interaction")
_RESOURCE = Attr("resource", type="string")


def _guard(request: Request, env: FakeEnv, action: Action) -> list[Emit] | None:
    """``error.interaction.<action> {error:'invalidstate.null'}`` when the interaction is gone."""
    ixn = request_interaction_id(request, env)
    if ixn is None or env.interaction(ixn) is None:
        return [
            error_emit(
                MODULE, action, "invalidstate.null", f"interaction {ixn!r} is not controlled by this session", 0.05
            )
        ]
    return None


def _done(request: Request, env: FakeEnv, action: Action, extra: list[Emit] | None = None) -> list[Emit]:
    delay = float(env.config("interaction_actions")["delay"])
    ixn = request_interaction_id(request, env)
    return [Emit(MODULE.done_event(action), {"interactionid": ixn}, delay=delay, final=True), *(extra or [])]


def fake_terminate(request: Request, env: FakeEnv) -> list[Emit]:
    """Done, then (voice, ``terminate_deletes``) ``interaction.deleted {resultof:'deletion'}``."""
    problem = _guard(request, env, TERMINATE)
    if problem:
        return problem
    ixn = request_interaction_id(request, env)
    cfg = env.config("interaction_actions")
    extra = []
    obj = env.interaction(ixn) or {}
    if cfg["terminate_deletes"] and "voice" in obj:  # multimedia: a stop-processing, no deletion
        extra.append(
            Emit(
                "interaction.deleted",
                {"interactionid": ixn, "resultof": "deletion"},
                delay=float(cfg["delay"]),
                request=False,
            )
        )
    return _done(request, env, TERMINATE, extra)


def fake_redirect(request: Request, env: FakeEnv) -> list[Emit]:
    """Done; with ``detach`` the interaction leaves the session (``resultof`` configurable)."""
    problem = _guard(request, env, REDIRECT)
    if problem:
        return problem
    ixn = request_interaction_id(request, env)
    cfg = env.config("interaction_actions")
    extra = []
    if request.attributes.get("detach") is True:
        extra.append(
            Emit(
                "interaction.deleted",
                {"interactionid": ixn, "resultof": cfg["redirect_detach_resultof"]},
                delay=float(cfg["delay"]),
                request=False,
            )
        )
    elif cfg["redirect_leaves_after"] is not None:
        extra.append(
            Emit(
                "interaction.deleted",
                {"interactionid": ixn, "resultof": "redirect"},
                delay=float(cfg["delay"]) + float(cfg["redirect_leaves_after"]),
                request=False,
            )
        )
    return _done(request, env, REDIRECT, extra)


def refuse_redirect(request: Request) -> tuple[str, str] | None:
    """A redirect with no valid destination is refused (``invaliddestination``) whatever the fakes say."""
    refusal = required_refusal(MODULE, REDIRECT, request)
    if refusal is not None:
        return refusal
    problem = resource_problem(request.attributes.get("to"))
    return ("invaliddestination", f"to: {problem}") if problem else None


def fake_attach(request: Request, env: FakeEnv) -> list[Emit]:
    """The interaction (re)joins the session's object model before ``attach.done``."""
    ixn = request_interaction_id(request, env)

    def add(e: FakeEnv) -> None:
        e.add_interaction(ixn)

    delay = float(env.config("interaction_actions")["delay"])
    return [Emit("interaction.attach.done", {"interactionid": ixn}, delay=delay, final=True, effect=add)]


def fake_generic(action_name: str) -> Any:
    """A fake answering ``.done`` for the interaction (error when it is gone)."""

    def fake(request: Request, env: FakeEnv) -> list[Emit]:
        action = MODULE.actions[action_name]
        return _guard(request, env, action) or _done(request, env, action)

    fake.__name__ = f"fake_{action_name}"
    return fake


def fake_created(action_name: str, event_prefix: str) -> Any:
    """A fake for actions creating an interaction (``voice.createcall``, ``msgbased.createmessage``)."""

    def fake(request: Request, env: FakeEnv) -> list[Emit]:
        new_id = env.new_id("ixn")
        data = {"interactionid": new_id}
        if action_name == "createmessage":
            data["srid"] = ""
        delay = float(env.config("interaction_actions")["delay"])
        return [Emit(f"{event_prefix}.{action_name}.done", data, delay=delay, final=True)]

    return fake


_ERRORS = ("unknown", "invalidstate", "invalidstate.null", "invaliddestination", "invalidsource", "remote")

TERMINATE = Action(
    "terminate",
    attributes=(REQUESTID, IXN, Attr("reason", type="string"), _RESOURCE, HINTS),
    events=("interaction.terminate.done", "error.interaction.terminate"),
    errors=_ERRORS,
    fake=fake_terminate,
    doc="end the interaction (voice: TClearCall; multimedia: stop processing)",
)
REDIRECT = Action(
    "redirect",
    attributes=(
        REQUESTID,
        IXN,
        Attr("from", type="string", doc="routing point the call sits on"),
        Attr(
            "to",
            required=True,
            type="resource",
            invalid_error="invaliddestination",
            doc="DN/label string or a resource object",
        ),
        Attr("type", doc="_genesys.queue.rType value"),
        HINTS,
        Attr("detach", type="boolean", default=False, doc="leave the session as part of the redirect"),
        Attr("location", type="string"),
        Attr("timeout", type="number"),
        Attr("reason", type="string"),
        Attr("cdn", type="string"),
        Attr("dnis", type="string"),
    ),
    events=("interaction.redirect.done", "error.interaction.redirect"),
    errors=(*_ERRORS, "badtranslation"),
    fake=fake_redirect,
    refuse=lambda request: refuse_redirect(request),
    timeout=("timeout", 1.0),
)
ATTACH = Action(
    "attach",
    attributes=(REQUESTID, IXN),
    events=("interaction.attach.done", "error.interaction.attach"),
    errors=_ERRORS,
    fake=fake_attach,
)
DETACH = Action(
    "detach",
    attributes=(REQUESTID, IXN),
    events=("interaction.detach.done", "error.interaction.detach"),
    errors=_ERRORS,
    fake=fake_generic("detach"),
)
ACCEPT = Action(
    "accept",
    attributes=(REQUESTID, IXN, Attr("resource", type="resource")),
    events=("interaction.accept.done", "error.interaction.accept"),
    errors=_ERRORS,
    fake=fake_generic("accept"),
)
ASSOCIATE = Action(
    "associate",
    attributes=(REQUESTID, IXN, Attr("sessionid", type="string", doc="target session (name unverified)")),
    events=("interaction.associate.done", "error.interaction.associate"),
    errors=_ERRORS,
    fake=fake_generic("associate"),
)
CREATECALL = Action(
    "createcall",
    event_prefix="voice",
    attributes=(
        REQUESTID,
        Attr("from", required=True, type="string"),
        Attr("to", required=True, type="string"),
        Attr(
            "type",
            type="string",
            default="regular",
            values=("regular", "agent", "supervisor", "priority", "agentpriority", "predictive"),
        ),
        Attr("reason", type="string"),
        Attr("udata", type="object"),
        HINTS,
    ),
    events=("voice.createcall.done", "error.voice.createcall"),
    errors=("timeout", "invalidsource", "invaliddestination", "invalidserver", "unknown"),
    fake=fake_created("createcall", "voice"),
)
HOLD = Action(
    "hold",
    event_prefix="voice",
    attributes=(REQUESTID, IXN, _RESOURCE),
    events=("voice.hold.done", "error.voice.hold"),
    fake=fake_generic("hold"),
)
RETRIEVE = Action(
    "retrieve",
    event_prefix="voice",
    attributes=(REQUESTID, IXN, _RESOURCE),
    events=("voice.retrieve.done", "error.voice.retrieve"),
    fake=fake_generic("retrieve"),
)
CREATEMESSAGE = Action(
    "createmessage",
    event_prefix="msgbased",
    attributes=(
        REQUESTID,
        INTERACTIONID,
        Attr(
            "type",
            type="string",
            default="emailout",
            values=(
                "emailout",
                "acknowledgement",
                "auto_response",
                "outbound_new",
                "inbound_collaboration_reply",
                "outbound_collaboration_invite",
                "outbound_notification",
                "redirect",
                "forwarded",
            ),
        ),
        Attr("media", type="string", default="TMediaEMail"),
        Attr("server", type="string"),
    ),
    events=("msgbased.createmessage.done", "error.msgbased.createmessage"),
    errors=("Timeout", "Request Invalid"),
    fake=fake_created("createmessage", "msgbased"),
)
SENDMESSAGE = Action(
    "sendmessage",
    event_prefix="msgbased",
    attributes=(REQUESTID, INTERACTIONID),
    events=("msgbased.sendmessage.done", "error.msgbased.sendmessage"),
    fake=fake_created("sendmessage", "msgbased"),
)

# `mediaType` is a literal (the same keys, order and values the loop over the names gave it; the
# surfaces run before any document code) on as many lines as the loop took: a host function's
# line shows in the stack of an error it throws (and in the datamodel's error line).
JS = r"""
(function (g) {
  var ixn = { interactions: {}, mediaType: %MEDIA% };
  // (mediaType: the MEDIA_TYPES in order, numbered from 0,
  //  then TMediaAny = -1)

  function first() { for (var k in ixn.interactions) return ixn.interactions[k]; return undefined; }
  Object.defineProperty(ixn.interactions, '0', { get: first, enumerable: false, configurable: true });
  function resolve(id) {
    if (id === undefined || id === null || id === '' || id === 0 || id === '0') return first();
    return ixn.interactions[id];
  }
  ixn.getMediaIntValue = function (name) {
    var v = ixn.mediaType[name];
    return typeof v == 'number' && name != 'TMediaAny' ? v : -1;
  };
  ixn.setuData = function (data, id) {
    var x = resolve(id);
    if (x === undefined) throw new Error('setuData: unknown interaction ' + id);
    if (data === null || typeof data != 'object') throw new TypeError('setuData: data must be an object');
    for (var k in data) x.udata[k] = data[k];
    __orsCall('ixn.setuData', JSON.stringify([data, x.g_uid]));
    return true;
  };
  ixn.deleteuData = function (keys, id) {
    var x = resolve(id);
    if (x === undefined) throw new Error('deleteuData: unknown interaction ' + id);
    if (keys === undefined || keys === null || keys === '' || (keys instanceof Array && keys.length == 0)) {
      for (var k in x.udata) delete x.udata[k];
      keys = null;
    } else {
      if (!(keys instanceof Array)) keys = [keys];
      for (var i = 0; i < keys.length; i++) delete x.udata[keys[i]];
    }
    __orsCall('ixn.deleteuData', JSON.stringify([keys, x.g_uid]));
    return true;
  };
  ixn.getuData = function (key, id) {
    var x = resolve(id);
    if (x === undefined || x.udata === undefined) return undefined;
    return x.udata[key];
  };
  Object.defineProperty(ixn, 'firstixnid', { get: function () { var x = first(); return x && x.g_uid; } });
  // platform -> JS mirror (called by the simulator only)
  ixn.__put = function (obj) { ixn.interactions[obj.g_uid] = obj; };
  ixn.__remove = function (id) { delete ixn.interactions[id]; };
  Object.defineProperty(ixn, '__put', { enumerable: false });
  Object.defineProperty(ixn, '__remove', { enumerable: false });
  g.ixn = ixn;
})(_genesys);
""".replace("%MEDIA%", json.dumps({**{m: i for i, m in enumerate(MEDIA_TYPES)}, "TMediaAny": -1}))


def outcome(name: str, data: Mapping[str, Any], request: Request | None, current: Mapping[str, Any]) -> Any:
    """Redirected (routed), terminated, abandoned, or deleted (a hang-up after the caller left is abandoned)."""
    if name == "interaction.redirect.done" and request is not None:
        to = request.attributes.get("to")
        target = to.get("agent") or to.get("dn") if isinstance(to, dict) else to
        return {"status": "routed", "target": target, "via": "ixn:redirect"}
    if name == "interaction.abandoned":
        return {"status": "abandoned"}
    if name == "interaction.terminate.done":
        return {"status": "terminated", "reason": "ixn:terminate"}
    ended = name == "interaction.deleted" and data.get("resultof") in (None, "deletion")
    if ended and current.get("status") != "terminated":
        return {"status": "abandoned"} if current.get("hangup") else {"status": "terminated", "reason": "deleted"}
    return None


def ended_outcome(requests: list[Request]) -> dict[str, Any] | None:
    """A session that ended after asking for ``ixn:terminate`` (answered or not) terminated the call."""
    if any(r.module == "interaction" and r.action == "terminate" for r in requests):
        return {"status": "terminated", "reason": "ixn:terminate"}
    return None


MODULE: Module = module(
    "interaction",
    ended_outcome=ended_outcome,
    js_name="ixn",
    fakes=FAKES,
    rule_params=_ACTIONS_SCHEMA,  # interaction fakes read interaction_actions
    outcome=outcome,
    event_prefixes=("interaction", "voice", "msgbased", "chat"),
    actions=(
        TERMINATE,
        REDIRECT,
        ATTACH,
        DETACH,
        ACCEPT,
        ASSOCIATE,
        CREATECALL,
        HOLD,
        RETRIEVE,
        CREATEMESSAGE,
        SENDMESSAGE,
    ),
    events=(
        *(
            EventDecl(f"interaction.{a}.done", ("requestid", "interactionid"))
            for a in ("terminate", "redirect", "attach", "detach", "accept", "associate")
        ),
        *(
            EventDecl(f"error.interaction.{a}", ("requestid", "error", "description"))
            for a in ("terminate", "redirect", "attach", "detach", "accept", "associate")
        ),
        EventDecl("voice.createcall.done", ("requestid", "interactionid")),
        EventDecl("error.voice.createcall", ("requestid", "interactionid", "error", "description")),
        EventDecl("voice.hold.done", ("requestid", "interactionid")),
        EventDecl("error.voice.hold", ("requestid", "interactionid", "error", "description")),
        EventDecl("voice.retrieve.done", ("requestid", "interactionid")),
        EventDecl("error.voice.retrieve", ("requestid", "interactionid", "error", "description")),
        EventDecl("msgbased.createmessage.done", ("requestid", "interactionid", "srid")),
        EventDecl("error.msgbased.createmessage", ("requestid", "error", "description")),
        EventDecl("msgbased.sendmessage.done", ("requestid",)),
        EventDecl("error.msgbased.sendmessage", ("requestid", "error", "description")),
        EventDecl("interaction.added", ("interactionid", "focusdeviceid"), "an interaction joins", True),
        EventDecl("interaction.present", ("interactionid",), "given to this session to process", True),
        EventDecl("interaction.onrouterequest", ("interactionid", "focusdeviceid"), "route request", True),
        EventDecl("interaction.partystatechanged", ("interactionid", "focusdeviceid"), "party change", True),
        EventDecl("interaction.udata.changed", ("interactionid",), "user data changed", True),
        EventDecl("interaction.onmerge", ("frominteractionid", "tointeractionid"), "consult merged", True),
        EventDecl("interaction.deleted", ("interactionid", "resultof"), "left the session", True),
        EventDecl("interaction.notcontrolled", ("interactionid", "resultof"), "no longer controlled", True),
        EventDecl("interaction.abandoned", ("interactionid",), "the caller abandoned", True),
    ),
    js=JS,
    js_members=(
        JSMember("interactions", "object", doc="interactions by g_uid; index 0 = the first (non-enumerable)"),
        JSMember("mediaType", "enum", members=(*MEDIA_TYPES, "TMediaAny")),
        JSMember("getMediaIntValue", "function", "getMediaIntValue(media) -> number (-1 if unknown)"),
        JSMember("setuData", "function", "setuData(data, ixnid)", "then interaction.udata.changed"),
        JSMember("deleteuData", "function", "deleteuData(keys, ixnid)", "keys: string/array; none = all"),
        JSMember("getuData", "function", "getuData(key, ixnid) -> value or undefined"),
        JSMember("firstixnid", "property", doc="g_uid of the first interaction"),
    ),
    doc="interaction object model and actions (ixn)",
)


def interaction_object(fakes: Any, ixn_id: str | None = None, parentid: str = "") -> dict[str, Any]:
    """The ``_genesys.ixn.interactions[id]`` object of the profile's interaction (spec 1.7)."""
    cfg = fakes.interaction
    g_uid = ixn_id or cfg["id"]
    media = cfg["media"]
    rp = cfg["routepoint"]
    obj: dict[str, Any] = {
        "g_uid": g_uid,
        "tenantid": cfg["tenantid"],
        "parentid": parentid if ixn_id else cfg["parentid"],
        "contactedaddr": rp,
        "udata": dict(cfg["udata"]),
        "xdata": dict(cfg["xdata"]),
        "location": {"media_server": cfg["media_server"]},
        "categories": [],
        "parties": cfg["parties"]
        if cfg["parties"] is not None
        else [{"device": rp, "devicetype": "routepoint"}, {"device": None, "devicetype": "unknown"}],
    }
    if media == "voice":
        obj["category"] = "voice"
        obj["voice"] = {
            "callid": cfg["callid"],
            "connid": g_uid if ixn_id else cfg["connid"],
            "ani": cfg["ani"],
            "dnis": cfg["dnis"],
            "type": cfg["type"],
            "media": "TMediaVoice",
        }
        obj["ani"] = cfg["ani"]
    else:
        names = {
            "email": "TMediaEMail",
            "chat": "TMediaChat",
            "sms": "TMediaSMS",
            "workitem": "TMediaWorkItem",
            "webform": "TMediaWebform",
            "openmedia": "TMediaOpenMedia",
        }
        obj["category"] = "msgbased"
        obj["msgbased"] = {
            "type": "InboundNew",
            "media": names[media],
            "queue": "Inbound",
            "view": "",
            "externalID": g_uid,
            **cfg["msgbased"],
        }
        if media == "chat" and cfg["chat"]:
            obj["chat"] = dict(cfg["chat"])
    return obj
