"""Web module (``http://www.genesyslab.com/modules/ws``): HTTP clients talking to a running session.

Spec: ``spec/ors-core.md`` section 3.  ORS's RESTful API turns
``POST /scxml/session/<id>/request/<name>?p=v`` into an external event ``<name>`` whose
``_event.data`` holds the parameters and whose ``_event.sendid`` identifies the request; the HTTP
response is held open until the session executes ``<ws:response requestid="_event.sendid"
type="'positive'|'negative'" resultcode="..."><param name expr/></ws:response>``.
``POST .../event/<name>`` is the fire-and-forget variant (an ordinary injected event).

The module's only action is ``<ws:response>``; ``_genesys.ws`` has no documented members (the
object exists, empty).  The "fake" here is the *client* side: the harness opens a request with
:func:`send_request` (or :func:`open_request`, which returns the external event to queue with its
``sendid`` when the caller queues it itself), the session answers with ``<ws:response>``, and
:func:`response_for` returns what the HTTP caller receives: ``{"type", "resultcode", "params"}``
(``None`` while unanswered).  Response parameters are ``<param name expr>``; the ``location``
form is not evaluated (Composer's Response block writes ``expr``).

Fakes profile: section ``ws`` - ``{"delay": 0.0, "requests": [{"name": "getBalance", "params":
{"account": "A-17"}, "at": 5}]}``: ``requests`` are sent to the session at their virtual time
(seconds, default 0) exactly like :func:`send_request`; :func:`web_requests` lists them with their
answers.  ``delay``: virtual seconds before an error event about a bad ``<ws:response>``.  Rules
on ``ws``/``response`` apply as for every action.

Unverified choices
------------------
* ``<ws:response>`` produces no event when it answers an open request (none is documented); its
  pending request is answered by the response itself.
* A ``requestid`` that names no open request (unknown, or already answered) answers
  ``error.notallowed {sendid, requestid, description}`` - the platform's "action not allowed
  now" event.
* ``type`` other than ``positive``/``negative`` is a bad value: the generic
  ``error.ws.response {error:'invalidattribute'}``.
* ``<param>`` values are returned as given (objects stay objects); params of the same name: the
  last one wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import (
    PARAM,
    Action,
    Attr,
    Emit,
    EventDecl,
    FakeEnv,
    FakesSection,
    Module,
    Request,
    empty_js_object,
    find_children,
    module,
)

POSITIVE = "positive"
NEGATIVE = "negative"
#: JSON schema of the profile's ``ws`` section (see :data:`FAKES`)
FAKES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "delay": {"type": "number", "minimum": 0},
        "requests": {
            "type": "array",
            "description": "web requests sent to the session: POST /scxml/session/<id>/request/<name>",
            "items": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "params": {"type": "object"},
                    "at": {"type": "number", "minimum": 0},
                },
            },
        },
    },
}


def _open(env: FakeEnv) -> dict[str, dict[str, Any]]:
    """sendid -> ``{"name", "params", "response"}`` of the web requests of this session."""
    return env.state("ws").setdefault("requests", {})


def open_request(
    env: FakeEnv, name: str, params: Mapping[str, Any] | None = None, delay: float = 0.0
) -> dict[str, Any]:
    """Register an HTTP request arriving in `delay` virtual seconds; return the external event to queue.

    The event is ``{"name": name, "data": params, "sendid": <new id>}``: queue it on the
    session's external queue with that ``sendid`` so ``<ws:response requestid="_event.sendid">``
    can answer it.
    """
    if not name or not isinstance(name, str):
        raise ValueError("a web request needs an event name")
    sendid = env.new_id("ws")
    data = dict(params or {})
    _open(env)[sendid] = {"name": name, "params": data, "response": None, "opened_at": env.now + delay}
    return {"name": name, "data": data, "sendid": sendid}


def send_request(platform: Any, name: str, params: Mapping[str, Any] | None = None, delay: float = 0.0) -> str:
    """Open a web request and queue its event on `platform` (an ``OrsPlatform``); return its sendid.

    What ``POST /scxml/session/<id>/request/<name>`` does on ORS.  The fire-and-forget
    ``.../event/<name>`` is a plain ``platform.inject(name, params)``.
    """
    event = open_request(platform, name, params, delay)
    platform.inject(event["name"], event["data"], delay, source="web", sendid=event["sendid"])
    return str(event["sendid"])


def web_requests(env: FakeEnv) -> list[dict[str, Any]]:
    """Every web request of the session: ``{sendid, name, params, opened_at, response}``."""
    return [{"sendid": sendid, **entry} for sendid, entry in _open(env).items()]


def start(platform: Any) -> None:
    """Send the profile's ``ws.requests`` to the session at their virtual times (module start hook)."""
    for spec in platform.config("ws").get("requests") or ():
        send_request(platform, spec["name"], spec.get("params"), float(spec.get("at", 0.0)))


def response_for(env: FakeEnv, sendid: str) -> dict[str, Any] | None:
    """The answer the HTTP caller of request `sendid` gets, or None while it is unanswered.

    Raises ``KeyError`` for an id :func:`open_request` never returned.
    """
    return _open(env)[sendid]["response"]


def fake_response(request: Request, env: FakeEnv) -> list[Emit]:
    """Answer the open web request named by ``requestid`` (no event), else ``error.notallowed``."""
    sendid = request.attributes.get("requestid")
    entry = _open(env).get(str(sendid)) if sendid not in (None, "") else None
    if entry is None or entry["response"] is not None:
        why = "already answered" if entry is not None else "not an open web request"
        delay = float(env.config("ws").get("delay", 0.0))
        data = {"sendid": sendid, "requestid": sendid, "description": f"ws:response: {sendid!r} is {why}"}
        return [Emit("error.notallowed", data, delay=delay, final=True, request=False)]
    params: dict[str, Any] = {}
    for param in find_children(request.children, "param"):
        attrs = param["attributes"]
        if attrs.get("name"):
            params[str(attrs["name"])] = attrs.get("expr")
    entry["response"] = {
        "type": request.attributes.get("type") or POSITIVE,
        "resultcode": request.attributes.get("resultcode"),
        "params": params,
        "answered_at": env.now,
    }
    # No completion event exists: the response itself answers the action's request.
    request.status = "answered"
    return []


RESPONSE = Action(
    "response",
    attributes=(
        Attr("requestid", required=True, type="string", doc="the request's _event.sendid (a value, not a location)"),
        Attr("type", type="string", default=POSITIVE, values=(POSITIVE, NEGATIVE), doc="positive or negative"),
        Attr("resultcode", type="string", doc="result code returned to the caller ('invalidparameter')"),
    ),
    children=(PARAM,),
    events=("error.notallowed", "error.ws.response"),
    errors=("invalidattribute",),
    fake=fake_response,
    refuse=lambda request: None,  # an empty requestid names no open request: error.notallowed (fake)
    doc="answer an HTTP request delivered as an event (ORS Web 2.0 API)",
)

JS = empty_js_object("ws")

#: the profile section this module reads; a rule's ``params`` follow the same schema
FAKES = (FakesSection("ws", FAKES_SCHEMA, {}),)

MODULE: Module = module(
    "ws",
    fakes=FAKES,
    actions=(RESPONSE,),
    events=(
        EventDecl("error.ws.response", ("requestid", "error", "description"), "a bad value (invalidattribute)"),
        EventDecl(
            "error.notallowed",
            ("sendid", "requestid", "description"),
            "ws:response for a request that is not open (unverified)",
        ),
    ),
    js=JS,
    js_members=(),
    doc="Web 2.0 API: HTTP requests become events; <ws:response> answers them",
    start=start,
)
