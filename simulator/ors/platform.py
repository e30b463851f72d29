"""The simulated Genesys platform of one ORS session: interactions, pending requests, fakes.

``OrsPlatform`` implements :class:`~simulator.ors.extensions.base.FakeEnv`.  It is created by the
dialect when a session starts (``ORSProfile.install_globals``) and reached from the session as
``platform_of(session)``.  It

* keeps the interaction objects the platform controls, and shows each change in
  ``_genesys.ixn.interactions`` when the session processes the event reporting it
  (``external_event_taken``: ORS's object model changes only as a result of events);
* turns an executed action into a :class:`Request` (``execute_action``), writes its id into the
  ``requestid`` location, answers what ORS refuses itself (``Action.refuse``), else schedules the
  answer chosen by the fakes profile (a rule, the module's default fake, or nothing when the
  rule is *manual*) within the action's declared timeout;
* lets a user answer a manual request (``respond``) and inject unsolicited platform events
  (``inject``, ``hangup``, ``abandon``, ``party_changed``, ``udata_changed``, ``merge``);
* ends what runs for an interaction that leaves the strategy (each module's ``interaction_left``)
  and closes the requests of an ended session;
* reports each lookup the profile cannot answer as an ``assumption`` record (``assume``);
* tracks the strategy's *outcome* (routed / terminated / abandoned / waiting / error) through the
  modules' outcome hooks.

Everything the engine offers is reached through ``self.session`` (the interpreter's session:
datamodel, clock, external queue, tracer) in a handful of small methods at the end of the class.
"""

from __future__ import annotations

import json
import posixpath
import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from simulator.scxml.datamodel import UNDEFINED, JSError

from .extensions import BY_NAME, module_for_namespace
from .extensions.base import (
    NO_DEFAULT,
    Action,
    Attr,
    Child,
    Emit,
    FakeEnv,
    Module,
    Request,
    duration_seconds,
    error_emit,
    required_refusal,
    split_tag,
)
from .extensions.interaction import interaction_object
from .extensions.session import zone_now
from .fakes import FakesProfile, load_fakes

#: a session's platform lives on the session itself (plain reference cycle, freed with it). A
#: process-wide WeakKeyDictionary kept every session forever: its values are strong and the
#: platform refers back to its session, so no closed simulation's memory was ever returned.
_PLATFORM_ATTRIBUTE = "_ors_platform"
#: at most this many __Log messages / recorded calls are kept per session (the JS memory limit
#: does not cover Python-side records a hostile loop could pile up)
MAX_KEPT = 10_000
#: sessions being started by <session:start> right now: they get no interaction
_WITHOUT_INTERACTION: set[int] = set()
_BARE_TOKEN = re.compile(r"^[A-Za-z_][\w-]*$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_SCXML_NS = "http://www.w3.org/2005/07/scxml"


#: the fakes profile of each run, by session group (every session of a run shares it)
_RUN_FAKES: weakref.WeakKeyDictionary[Any, FakesProfile] = weakref.WeakKeyDictionary()


def use_fakes(group: Any, fakes: FakesProfile) -> None:
    """Give the sessions of `group` (a run) the fakes `fakes`; the sessions already started
    answer their later requests with them."""
    _RUN_FAKES[group] = fakes
    for session in list(group.sessions.values()):
        platform = platform_of(session)
        if platform is not None:
            platform.fakes = fakes


def fakes_of(group: Any) -> FakesProfile:
    """The fakes profile of `group`'s run (the defaults when the run gave none)."""
    fakes = _RUN_FAKES.get(group)
    if fakes is None:
        fakes = _RUN_FAKES[group] = load_fakes(None)
    return fakes


def platform_of(session: Any) -> OrsPlatform | None:
    """The platform attached to an engine session, if it runs with the ORS profile."""
    return getattr(session, _PLATFORM_ATTRIBUTE, None)


def _convert_literal(attr: Attr | None, raw: str) -> Any:
    """A literal attribute value in its declared type (``"true"`` -> True, ``"10"`` -> 10)."""
    text = raw.strip()
    kind = attr.type if attr else "any"
    if kind in ("boolean", "any") and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if kind in ("integer", "number", "duration", "any") and _NUMBER.match(text):
        return int(text) if "." not in text else float(text)
    return raw


def _type_ok(attr: Attr, value: Any) -> bool:
    if value is None or value is UNDEFINED:
        return True
    t = attr.type
    if t in ("any", "resource"):
        return t == "any" or isinstance(value, (str, dict))
    if t == "string":
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    if t in ("integer", "number", "duration"):
        if isinstance(value, bool):
            return False
        if isinstance(value, (int, float)):
            return True
        return isinstance(value, str) and (_NUMBER.match(value.strip()) is not None or t == "duration")
    if t == "boolean":
        return isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false"))
    if t == "object":
        return isinstance(value, (dict, list))
    if t == "array":
        return isinstance(value, list)
    return True


def _normalise(attr: Attr, value: Any) -> Any:
    if value is UNDEFINED:
        return None
    if attr.type == "boolean" and isinstance(value, str):
        return value.lower() == "true"
    return value


class OrsPlatform(FakeEnv):
    """The fake Genesys platform behind one ORS session (see the module docstring)."""

    def __init__(self, session: Any, fakes: FakesProfile, document_url: str = "") -> None:
        self.session = session
        self.fakes = fakes
        self.document_url = document_url
        self.interactions: dict[str, dict[str, Any]] = {}
        self.requests: dict[str, Request] = {}
        self._timers: dict[str, list[Any]] = {}
        self._rule_for: dict[str, Any] = {}
        self._counter = 0
        self.outcome: dict[str, Any] = {"status": "running"}
        self.calls: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []
        #: what the fakes could not answer (see assume()), in order, one per distinct question
        self.assumptions: list[dict[str, Any]] = []
        self._assumed: set[str] = set()
        #: effects of queued events, applied when the session takes them (see deliver())
        self._on_taken: dict[int, tuple[dict[str, Any], list[Callable[[Any], None]]]] = {}
        setattr(session, _PLATFORM_ATTRIBUTE, self)

    # -- FakeEnv --------------------------------------------------------------------------------

    @property
    def now(self) -> float:  # type: ignore[override]
        """Virtual seconds since the session group started."""
        return float(self._clock().now)

    def config(self, module: str) -> dict[str, Any]:
        """The module's fakes section with the rule of the request being answered merged in."""
        return self.fakes.config(module, self._current_rule)

    _current_rule: Any = None

    def interaction(self, interactionid: str | None) -> dict[str, Any] | None:
        """The interaction object (by g_uid; ``0``/None = the first), or None."""
        if interactionid in (None, "", "0", 0):
            return next(iter(self.interactions.values()), None)
        return self.interactions.get(str(interactionid))

    def primary_interaction_id(self) -> str | None:
        """g_uid of the first interaction still in the session."""
        return next(iter(self.interactions), None)

    def new_id(self, kind: str = "req") -> str:
        """Deterministic ids: ``<SESSIONPREFIX>-<kind>-<n>`` so replays match."""
        self._counter += 1
        return f"{kind.upper()}{self._counter:05d}"

    @property
    def ended(self) -> bool:
        """Whether the session has ended (a top-level final, cancelled, or stopped by an error)."""
        return self.session.status in ("final", "cancelled", "error")

    def _close_if_ended(self) -> None:
        """ORS drops the requests of an ended session silently: they are ``closed``."""
        if self.ended:
            for r in self.requests.values():
                if r.status in ("pending", "manual"):
                    r.status = "closed"

    def pending(self, module: str | None = None, action: str | None = None) -> list[Request]:
        """Live (pending or manual) requests, optionally of one module/action."""
        self._close_if_ended()
        return [
            r
            for r in self.requests.values()
            if r.status in ("pending", "manual")
            and (module is None or r.module == module)
            and (action is None or r.action == action)
        ]

    def pending_requests(self) -> list[Request]:
        """Requests still waiting for an answer (automatic or manual), oldest first."""
        return self.pending()

    def cancel_request(self, request_id: str, emits: list[Emit]) -> Request | None:
        """Drop the scheduled answer of `request_id`, mark it cancelled, deliver `emits` for it."""
        request = self.requests.get(request_id)
        if request is None:
            return None
        for timer in self._timers.pop(request_id, []):
            self._cancel_timer(timer)
        request.status = "cancelled"
        request.answered_by = request.answered_by or "platform"
        self._schedule(request, emits)
        return request

    def assume(
        self,
        what: str,
        asked: Mapping[str, Any],
        used: Any,
        path: list[str],
        value: Any = None,
        append: bool = False,
        request: Request | None = None,
    ) -> None:
        """An ``assumption`` record (see FakeEnv.assume and docs/trace.md), once per question."""
        key = json.dumps([what, asked], sort_keys=True, default=str)
        if key in self._assumed or len(self.assumptions) >= MAX_KEPT:
            return
        self._assumed.add(key)
        fields: dict[str, Any] = {
            "what": what,
            "asked": dict(asked),
            "used": used,
            "fakes": {"path": [str(p) for p in path], "value": used if value is None else value, "append": append},
            "file": request.file if request is not None else None,
            "line": request.line if request is not None else None,
        }
        self.assumptions.append(fields)
        self._trace("assumption", dict(fields))

    def execute_js(self, source: str) -> None:
        """Run a script in the session's global scope (see FakeEnv.execute_js)."""
        self._js(source)

    # -- other sessions (session:start / session:terminate) ----------------------------------------

    def start_session(self, src: str, params: Mapping[str, Any]) -> str:
        """Start another session of the project (``<session:start>``); returns its session id.

        `src` is a project path or a URL whose path ends with one (``http://h/app/src-gen/X.scxml``).
        The new session runs in the same group, on the same clock and fakes, without an
        interaction; `params` initialise its same-named ``<data>``. When it ends, this session
        receives ``done.scxml.<name> {sessionid, reason, params}``. Raises LookupError.
        """
        from simulator.scxml.model import get_model

        project = self.session.model.loaded.project
        path = urlsplit(src).path.lstrip("/") if "://" in src else src.lstrip("/")
        here = posixpath.dirname(self.session.model.entry)
        candidates = [posixpath.normpath(posixpath.join(here, path)), path] if path else []
        found = next((c for c in candidates if c in project), None)
        if found is None and path:
            found = next((p for p in sorted(project) if path.endswith("/" + p)), None)
        if found is None:
            raise LookupError(f"no document {src!r} in the project")
        model = get_model(project, found, self.session.profile)
        if model.errors:
            raise LookupError(f"{found}: {model.errors[0]}")
        # the started session runs under the limits of the one that started it
        child = self.session.group.create_session(
            model,
            initial_data=dict(params),
            memory_limit=self.session.memory_limit,
            time_limit=self.session.time_limit,
        )
        name = model.name or posixpath.basename(found)

        def on_record(record: dict[str, Any]) -> None:
            if record.get("type") == "done" and record.get("session") == child.sessionid and self.session.running:
                data = {"sessionid": child.sessionid, "reason": record.get("status"), "params": record.get("donedata")}
                self._schedule_timer(0.0, lambda: self.deliver(f"done.scxml.{name}", data))

        child.attach(on_record)
        _WITHOUT_INTERACTION.add(id(child))
        try:
            child.start()
        finally:
            _WITHOUT_INTERACTION.discard(id(child))
        return child.sessionid

    def session_running(self, sessionid: str) -> bool:
        """Whether a session of the group with this id is running."""
        other = self.session.group.sessions.get(str(sessionid))
        return other is not None and other.running

    def terminate_session(self, sessionid: str) -> bool:
        """Stop a session of the group (``<session:terminate>``); False if there is none."""
        other = self.session.group.sessions.get(str(sessionid))
        if other is None or not other.running:
            return False
        other.cancel()
        return True

    def assign(self, location: str, value: Any) -> None:
        """Write a value into a datamodel location (``idlocation``-style outputs of actions)."""
        self.session.datamodel.assign_value(location, value)

    # -- interactions --------------------------------------------------------------------------

    def add_interaction(self, ixn_id: str | None = None, obj: dict[str, Any] | None = None) -> dict[str, Any]:
        """Put an interaction into the session's object model (JS mirror included)."""
        if obj is None:
            existing = self.interaction(ixn_id) if ixn_id else None
            if existing is not None:
                return existing
            obj = interaction_object(self.fakes, ixn_id, parentid="")
        self.interactions[obj["g_uid"]] = obj
        self._js(f"_genesys.ixn.__put({json.dumps(obj)});")
        return obj

    def _mirror_put(self, _env: FakeEnv | None = None) -> None:
        """Show the platform's interactions in ``_genesys.ixn`` (as an event's effect)."""
        for obj in self.interactions.values():
            self._js(f"_genesys.ixn.__put({json.dumps(obj)});")

    def merge_udata(self, ixn_id: str | None, data: Mapping[str, Any], js: bool = True) -> None:
        """Merge user data into an interaction (Python copy and, when `js`, the JS object)."""
        obj = self.interaction(ixn_id)
        if obj is None:
            return
        obj["udata"].update(data)
        if js:
            self._js(
                "(function(x,d){if(x){for(var k in d)x.udata[k]=d[k];}})"
                f"(_genesys.ixn.interactions[{json.dumps(obj['g_uid'])}],{json.dumps(dict(data))});"
            )

    # -- session start -------------------------------------------------------------------------

    def start(self) -> None:
        """Create the profile's interaction and queue the start events (interaction.added, ...)."""
        for module in BY_NAME.values():
            if module.start is not None:
                module.start(self)  # platform activity the profile scripts for the module
        if self.fakes.data["none"] or id(self.session) in _WITHOUT_INTERACTION:
            return
        # The platform controls the call at once; the session's object model shows it when it
        # processes interaction.added (a new session starts with an empty _genesys.ixn.interactions).
        obj = interaction_object(self.fakes)
        ixn_id = obj["g_uid"]
        self.interactions[ixn_id] = obj
        focus = self.fakes.interaction["routepoint"]
        for i, name in enumerate(self.fakes.start_events()):
            data: dict[str, Any] = {"interactionid": ixn_id}
            if name != "interaction.present":
                data["focusdeviceid"] = focus
            self.inject(name, data, 0.0, source="start", effect=self._mirror_put if i == 0 else None)
        for spec in self.fakes.data["inject"]:
            if "at" in spec:
                self.inject(spec["event"], spec.get("data") or {}, float(spec["at"]), source="profile")

    # -- actions -------------------------------------------------------------------------------

    def evaluate_attributes(
        self, ctx: Any, element: Any, attributes: tuple[Attr, ...], open_: bool
    ) -> tuple[dict[str, Any], list[str]]:
        """Evaluate an element's attributes by declaration; (values, problems)."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        declared = {a.name: a for a in attributes}
        for key, raw in element.attrib.items():
            ns, name = split_tag(key)
            if ns is not None:
                continue  # xmlns-qualified / loader markers
            attr = declared.get(name)
            if attr is None:
                if name.startswith("_") and name != "_expr":
                    continue  # ORS "_" extension attributes: accepted, ignored
                if not open_:
                    values[name] = raw
                    continue
                attr = Attr(name)
            if attr.kind == "location":
                values[name] = raw
                continue
            value = _convert_literal(attr, raw) if attr.kind == "literal" else self._evaluate(ctx, raw, attr)
            value = _normalise(attr, value)
            if not _type_ok(attr, value) or (
                attr.values is not None
                and value is not None
                and str(value).lower() not in {str(v).lower() for v in attr.values}
            ):
                problems.append(f"The attribute {name} has an invalid value ({json.dumps(value, default=str)})")
            values[name] = value
        for attr in attributes:
            if attr.name not in values and attr.default is not NO_DEFAULT:
                values[attr.name] = attr.default
        return values, problems

    def _evaluate(self, ctx: Any, raw: str, attr: Attr) -> Any:
        try:
            return self._ctx_evaluate(ctx, raw)
        except JSError as exc:
            if attr.bare_token_literal and exc.name == "ReferenceError" and _BARE_TOKEN.match(raw.strip()):
                return _convert_literal(attr, raw.strip())
            raise

    def evaluate_children(
        self, ctx: Any, element: Any, children: tuple[Child, ...], module: Module, open_: bool
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Evaluate child elements recursively: [{tag, namespace, attributes, children, text}]."""
        out: list[dict[str, Any]] = []
        problems: list[str] = []
        for sub in element:
            if not isinstance(sub.tag, str):
                continue
            ns, local = split_tag(sub.tag)
            decl = next((c for c in children if c.tag == local), None)
            child_open = open_ or decl is None or decl.open
            attrs = decl.attributes if decl else ()
            try:
                values, probs = self.evaluate_attributes(ctx, sub, attrs, child_open)
            except JSError:
                if decl is not None and not decl.open:
                    raise
                values, probs = {k: v for k, v in sub.attrib.items() if not k.startswith("{")}, []
            if local == "content" and "_expr" in values and values.get("expr") is None:
                values["expr"] = values.pop("_expr")
            kids, kprobs = self.evaluate_children(ctx, sub, decl.children if decl else (), module, child_open)
            mod = module_for_namespace(ns)
            entry = {
                "tag": local,
                "namespace": mod.name if mod else ("scxml" if ns == _SCXML_NS else ns),
                "attributes": values,
                "children": kids,
            }
            if (sub.text or "").strip() and not kids:
                entry["text"] = sub.text.strip()
            out.append(entry)
            problems += probs + kprobs
        return out, problems

    def execute_action(self, ctx: Any, module: Module, element: Any, file: str | None, line: int | None) -> None:
        """Run one action element: evaluate, write requestid, record the request, schedule the answer."""
        _ns, local = split_tag(element.tag)
        action = module.actions.get(local)
        if action is None:  # definition validation reports it; at run time ORS answers an error
            action = Action(local)
        attributes, problems = self.evaluate_attributes(ctx, element, action.attributes, False)
        children, child_problems = self.evaluate_children(ctx, element, action.children, module, False)
        problems += child_problems
        if not action.asynchronous:
            self.record_call(f"{module.name}.{local}", [attributes, children])
            return
        location = (
            attributes.pop("requestid", None) if (a := action.attr("requestid")) and a.kind == "location" else None
        )
        request = Request(
            id=self.new_id("req"),
            module=module.name,
            action=local,
            attributes=attributes,
            children=children,
            file=file,
            line=line,
            created_at=self.now,
        )
        if location:
            self._ctx_assign(ctx, location, request.id)
        self.requests[request.id] = request
        if self.session.tracing:
            self._trace("action", {"request": request.to_json()})
        if local not in module.actions:
            emits = [error_emit(module, action, "unknown", f"<{module.name}:{local}> is not supported", 0.0)]
            request.answered_by = "platform"
        elif problems:
            emits = [error_emit(module, action, "invalidattribute", "; ".join(problems), 0.0)]
            request.answered_by = "platform"
        elif (refusal := (action.refuse or partial(required_refusal, module, action))(request)) is not None:
            # what ORS itself refuses, whatever the fakes would answer
            emits = [error_emit(module, action, refusal[0], refusal[1], 0.0)]
            request.answered_by = "platform"
        else:
            emits = self._with_timeout(module, action, request, self._answer(module, action, request))
        if request.status == "manual":
            self._schedule(request, emits)  # only its timeout, if it has one: a user answers it
            return
        self._schedule(request, emits)
        self._triggers(request)

    def _with_timeout(self, module: Module, action: Action, request: Request, emits: list[Emit]) -> list[Emit]:
        """Honour the action's declared timeout: no final answer within it -> ``error.<module>.<action>
        {error: 'timeout'}`` at that virtual time, and the answers after it are not sent."""
        if action.timeout is None:
            return emits
        name, unit = action.timeout
        seconds = duration_seconds(request.attributes.get(name), unit)
        if not seconds or any(e.final and e.delay <= seconds for e in emits):
            return emits
        error = error_emit(module, action, "timeout", f"no answer within {seconds:g} s ({name})", seconds)
        return [*(e for e in emits if e.delay < seconds), error]

    def _answer(self, module: Module, action: Action, request: Request) -> list[Emit]:
        rule = self.fakes.match(request)
        if rule is not None and rule.spec.get("manual"):
            request.status = "manual"
            request.answered_by = "manual"
            return []
        spec = rule.spec if rule is not None else {}
        request.answered_by = rule.label if rule is not None else "default"
        if spec.get("events"):
            default_delay = float(spec.get("delay", 0.1))
            evs = spec["events"]
            return [
                Emit(
                    e["name"],
                    e.get("data") or {},
                    float(e.get("delay", default_delay)),
                    final=e.get("final", i == len(evs) - 1),
                )
                for i, e in enumerate(evs)
            ]
        if spec.get("error"):
            err = spec["error"]
            emit = error_emit(
                module,
                action,
                str(err.get("error", "unknown")),
                err.get("description", "error from fakes rule"),
                float(err.get("delay", spec.get("delay", 0.1))),
            )
            return [Emit(emit.name, {**emit.data, **(err.get("data") or {})}, emit.delay, final=True)]
        self._current_rule = rule
        try:
            emits = list(action.fake(request, self)) if action.fake else self._generic(module, action)
        finally:
            self._current_rule = None
        if spec.get("data") or "delay" in spec:
            emits = [
                Emit(
                    e.name,
                    {**e.data, **(spec.get("data") or {})} if e.final else e.data,
                    float(spec["delay"]) if e.final and "delay" in spec else e.delay,
                    e.final,
                    e.request,
                    e.effect,
                )
                for e in emits
            ]
        return emits

    def _generic(self, module: Module, action: Action) -> list[Emit]:
        return [Emit(module.done_event(action), {}, 0.1, final=True)]

    def _triggers(self, request: Request) -> None:
        for spec in self.fakes.data["inject"]:
            on = spec.get("on")
            if on and on["module"] == request.module and on["action"] == request.action:
                self.inject(spec["event"], spec.get("data") or {}, float(spec.get("after", 0.0)), source="profile")

    def _schedule(self, request: Request, emits: list[Emit]) -> None:
        timers = self._timers.setdefault(request.id, [])
        for emit in emits:
            timers.append(self._schedule_timer(emit.delay, self._deliverer(request, emit)))

    def _deliverer(self, request: Request, emit: Emit) -> Callable[[], None]:
        def deliver() -> None:
            data = dict(emit.data)
            if emit.request:
                data.setdefault("requestid", request.id)
                decl = self._event_decl(emit.name)
                if decl is not None and "interactionid" in decl.fields:
                    ixn = request.attributes.get("interactionid") or self.primary_interaction_id()
                    data.setdefault("interactionid", ixn)
            request.responses.append({"name": emit.name, "data": data, "time": self.now})
            if emit.final and request.status in ("pending", "manual"):
                request.status = "answered"
            self.deliver(emit.name, data, emit.effect, request=request)

        return deliver

    def _event_decl(self, name: str) -> Any:
        prefix = name.removeprefix("error.").split(".")[0]
        for module in BY_NAME.values():
            if prefix in module.event_prefixes:
                found = module.event(name)
                if found is not None:
                    return found
        return None

    # -- delivery and platform effects -----------------------------------------------------------

    def deliver(
        self,
        name: str,
        data: Mapping[str, Any],
        effect: Callable[[FakeEnv], None] | None = None,
        request: Request | None = None,
        sendid: str | None = None,
    ) -> None:
        """Note the outcome and queue the event; its `effect` on the session's state (object
        model, statistics...) applies when the session *processes* the event, as on ORS (see
        external_event_taken).  The platform itself stops controlling a deleted interaction at once.

        `sendid` becomes ``_event.sendid`` (web requests answered by ``<ws:response>``).
        """
        effects = [effect] if effect is not None else []
        leaving = (
            data.get("interactionid")
            if name == "interaction.deleted" or (request is not None and self._routes(name, data, request))
            else None
        )
        if leaving is not None:
            self._interaction_leaves(str(leaving), "the interaction left the strategy")
        if name == "interaction.deleted" and data.get("interactionid") is not None:
            ixn = str(data["interactionid"])
            if self.interactions.pop(ixn, None) is not None:
                effects.append(lambda _env: self._js(f"_genesys.ixn.__remove({json.dumps(ixn)});"))
        self._note_outcome(name, data, request)
        self._trace("response", {"request": request.id if request else None, "event": name, "data": dict(data)})
        payload = dict(data)
        if effects:
            # keyed by the data object, which becomes the queued Event's data (alive until taken)
            self._on_taken[id(payload)] = (payload, effects)
        self._enqueue_external(name, payload, sendid)

    def external_event_taken(self, event: Any) -> None:
        """The session takes `event` off its external queue: apply the effects queued with it."""
        entry = self._on_taken.pop(id(event.data), None)
        if entry is not None and entry[0] is event.data:
            for effect in entry[1]:
                effect(self)

    def _routes(self, name: str, data: Mapping[str, Any], request: Request | None) -> bool:
        """Whether this event reports the interaction routed away (by a module's outcome hook)."""
        for module in BY_NAME.values():
            if module.outcome is not None:
                new = module.outcome(name, data, request, self.outcome)
                if new is not None:
                    return new.get("status") == "routed"
        return False

    def _note_outcome(self, name: str, data: Mapping[str, Any], request: Request | None) -> None:
        """Each module's outcome hook says how its events change the outcome; routed and
        abandoned are final."""
        if self.outcome.get("status") in ("routed", "abandoned"):
            return
        for module in BY_NAME.values():
            if module.outcome is not None and (new := module.outcome(name, data, request, self.outcome)) is not None:
                self.outcome = new
                return

    def final_outcome(self, finished: bool, error: str | None = None) -> dict[str, Any]:
        """The summary outcome: routed(target) / terminated / abandoned / waiting(for) / error."""
        out = dict(self.outcome)
        out.pop("hangup", None)
        if error:
            return {"status": "error", "error": error}
        if out["status"] == "running":
            if finished:
                requests = list(self.requests.values())
                out = {"status": "terminated", "reason": "session ended without routing the interaction"}
                for module in BY_NAME.values():
                    said = module.ended_outcome(requests) if module.ended_outcome is not None else None
                    if said is not None:
                        out = said
                        break
            else:
                waiting = [f"{r.module}:{r.action} {r.id} ({r.status})" for r in self.pending()]
                out = {"status": "waiting", "for": waiting or ["an event"]}
        return out

    # -- user / scenario API ------------------------------------------------------------------

    def respond(self, request_id: str, events: Sequence[Mapping[str, Any]]) -> Request:
        """Answer a (manual or pending) request with events of the user's choice.

        Each event is ``{"name", "data"?, "delay"?}``; the last one completes the request.
        """
        request = self.requests.get(request_id)
        if request is None:
            raise KeyError(f"no request {request_id!r} in this session")
        self._close_if_ended()
        if request.status == "closed":
            raise ValueError(f"request {request_id} is closed: the session has ended")
        if request.status not in ("pending", "manual"):
            raise ValueError(f"request {request_id} is already {request.status}")
        for timer in self._timers.pop(request_id, []):
            self._cancel_timer(timer)
        request.answered_by = "manual"
        request.status = "pending"
        emits = [
            Emit(e["name"], e.get("data") or {}, float(e.get("delay", 0.0)), final=i == len(events) - 1)
            for i, e in enumerate(events)
        ]
        self._schedule(request, emits)
        return request

    def inject(
        self,
        name: str,
        data: Mapping[str, Any] | None = None,
        delay: float = 0.0,
        source: str = "user",
        sendid: str | None = None,
        effect: Callable[[FakeEnv], None] | None = None,
    ) -> None:
        """Queue an unsolicited platform event (after `delay` virtual seconds); `effect` applies
        when the session processes it.

        Shortcuts: ``hangup`` and ``abandon`` (the caller leaves), ``partystatechanged``.
        """
        payload = dict(data or {})
        if name in ("hangup", "abandon"):
            self._schedule_timer(delay, lambda: self.hangup(abandon=name == "abandon", **payload))
            return
        self._schedule_timer(delay, lambda: self.deliver(name, payload, effect, sendid=sendid))

    def hangup(self, abandon: bool = False, interactionid: str | None = None) -> None:
        """The caller hangs up: what runs for the call ends (dialogs fail ``cancelled``), the other
        pending requests are dropped, then (``interaction.abandoned`` and) ``interaction.deleted``."""
        ixn = interactionid or self.primary_interaction_id()
        if ixn is None:
            return
        self.outcome["hangup"] = True
        self._interaction_leaves(ixn, "the caller hung up")
        for request in self.pending():
            for timer in self._timers.pop(request.id, []):
                self._cancel_timer(timer)
            request.status = "cancelled"
        if abandon:
            self.deliver("interaction.abandoned", {"interactionid": ixn})
        self.deliver("interaction.deleted", {"interactionid": ixn, "resultof": "deletion"})

    def _interaction_leaves(self, ixn: str, why: str) -> None:
        """An interaction leaves the strategy (deleted, routed): each module ends what it runs for
        it, as ORS does; the events that says so are delivered at once, before the event that
        reports the departure."""
        for module in BY_NAME.values():
            if module.interaction_left is None:
                continue
            for request, emit in module.interaction_left(self, ixn, why):
                for timer in self._timers.pop(request.id, []):
                    self._cancel_timer(timer)
                request.status = "cancelled"
                request.answered_by = request.answered_by or "platform"
                self._deliverer(request, emit)()

    def party_changed(self, focusdeviceid: str, devicetype: str = "routepoint") -> None:
        """The call moved: update ``parties`` and send ``interaction.partystatechanged``."""
        obj = self.interaction(None)
        if obj is None:
            return
        obj["parties"] = [{"device": focusdeviceid, "devicetype": devicetype}, *obj["parties"][1:]]
        data = {"interactionid": obj["g_uid"], "focusdeviceid": focusdeviceid}

        def mirror(env: FakeEnv) -> None:
            env.add_interaction(obj=obj)

        self.deliver("interaction.partystatechanged", data, mirror)

    def udata_changed(self, data: Mapping[str, Any]) -> None:
        """External attached-data change: update ``udata`` then ``interaction.udata.changed``."""
        ixn = self.primary_interaction_id()
        changed = dict(data)
        self.deliver("interaction.udata.changed", {"interactionid": ixn}, lambda p: p.merge_udata(ixn, changed))

    def merge(self, from_id: str, to_id: str) -> None:
        """A consult interaction was merged: ``interaction.onmerge``."""
        self.deliver("interaction.onmerge", {"frominteractionid": from_id, "tointeractionid": to_id})

    # -- the JS bridge (``__orsCall``) -----------------------------------------------------------

    def js_call(self, name: str, args_json: str) -> Any:
        """Calls from the ``_genesys`` JS surfaces and ORS globals (JSON in, JSON-able out)."""
        args = json.loads(args_json) if args_json else []
        if name == "log":
            message = args[0] if args else ""
            level = args[2] if len(args) > 2 else None
            if len(self.logs) < MAX_KEPT:  # a strategy looping on __Log must not exhaust Python memory
                self.logs.append({"message": message, "label": args[1] if len(args) > 1 else None, "level": level})
            self._trace(
                "log",
                {"label": args[1] if len(args) > 1 else "__Log", "expr": "__Log", "value": message, "level": level},
            )
            return None
        if name == "raise":
            event = str(args[0]) if args else ""
            data = args[1] if len(args) > 1 else None
            self._raise_internal(event, data)
            return None
        if name == "assume":
            what, asked, used, path = (list(args) + [None] * 4)[:4]
            value = args[4] if len(args) > 4 else None
            if isinstance(what, str) and isinstance(asked, dict) and isinstance(path, list):
                self.assume(what, asked, used, path, value)
            return None
        if name == "states":
            return self._active_states()
        if name == "now":
            return self.now
        if name == "session.zone":
            return zone_now(self, args[0] if args else None)
        if name == "ixn.setuData":
            data, ixn = args[0], args[1]
            self.merge_udata(ixn, data, js=False)
            self._schedule_timer(0.05, lambda: self.deliver("interaction.udata.changed", {"interactionid": ixn}))
            return None
        if name == "ixn.deleteuData":
            keys, ixn = args[0], args[1]
            obj = self.interaction(ixn)
            if obj is not None:
                if keys is None:
                    obj["udata"].clear()
                else:
                    for k in keys:
                        obj["udata"].pop(k, None)
            self._schedule_timer(0.05, lambda: self.deliver("interaction.udata.changed", {"interactionid": ixn}))
            return None
        self.record_call(name, args)
        return None

    def record_call(self, name: str, args: Any) -> None:
        """Remember a recorded no-op call (``_genesys.queue.reserveTarget``, treatments...)."""
        if len(self.calls) < MAX_KEPT:
            self.calls.append({"call": name, "args": args, "time": self.now})

    # -- summary ------------------------------------------------------------------------------

    def requests_json(self, finished: bool = False) -> list[dict[str, Any]]:
        """Every request with its status and responses; once the session ended, the requests it
        left pending are ``closed`` (ORS drops them silently).  `finished`: the caller's view that
        the session ended (the same, kept for callers that pass it)."""
        self._close_if_ended()
        out = []
        for r in self.requests.values():
            record = r.to_json()
            if finished and r.status in ("pending", "manual"):
                record["status"] = "closed"
            out.append(record)
        return out

    # -- engine access (the only place that knows the interpreter's session API) ---------------

    def _ctx(self) -> Any:
        ctx = self.__dict__.get("_engine_ctx")
        if ctx is None:
            from simulator.scxml.interpreter import ActionContext

            ctx = self.__dict__["_engine_ctx"] = ActionContext(self.session, self.session.model.root)
        return ctx

    def _clock(self) -> Any:
        return self.session.group.clock

    def _schedule_timer(self, delay: float, callback: Callable[[], None]) -> Any:
        session = self.session

        def fire() -> None:
            if session.running:
                callback()

        return self._ctx().schedule(max(0.0, float(delay)), fire)

    def _cancel_timer(self, timer: Any) -> None:
        self._ctx().cancel_timer(timer)

    def _enqueue_external(self, name: str, data: dict[str, Any], sendid: str | None = None) -> None:
        self.session.inject(name, data, origintype="fm", origin="fm:" + name.split(".")[0], sendid=sendid)

    def _raise_internal(self, name: str, data: Any) -> None:
        self._ctx().raise_event(name, data)

    def _active_states(self) -> list[str]:
        return list(self.session.configuration_ids)

    def _js(self, source: str) -> None:
        self.session.datamodel.execute(source)

    def _ctx_evaluate(self, ctx: Any, expr: str) -> Any:
        return ctx.datamodel.evaluate(expr)

    def _ctx_assign(self, ctx: Any, location: str, value: Any) -> None:
        ctx.assign(location, value)

    def _trace(self, kind: str, fields: dict[str, Any]) -> None:
        if self.session.tracing:
            self._ctx().emit(kind, **fields)
