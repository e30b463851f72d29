"""The request lifecycle of one ORS session: an action becomes a request, answered by the fakes.

:class:`RequestBook` turns an executed action into a :class:`~.extensions.base.Request`
(``execute_action``), writes its id into the ``requestid`` location, answers what ORS refuses
itself (``Action.refuse``), else schedules the answer chosen by the fakes profile (a rule, the
module's default fake, or nothing when the rule is *manual*) within the action's declared timeout.
A user answers a manual request (``respond``); a module ends one (``cancel_request``); the
requests of an ended session are ``closed``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from simulator.scxml.clock import Timer

from .evaluation import Shape, evaluate_attributes, evaluate_children, shape_of
from .extensions import BY_NAME
from .extensions.base import Action, Emit, Module, Request, duration_seconds, error_emit, required_refusal, split_tag

if TYPE_CHECKING:
    from .platform import OrsPlatform

#: the statuses of a request still waiting for an answer
LIVE = ("pending", "manual")


class RequestBook:
    """The requests of one session's platform, their scheduled answers and their timeouts."""

    def __init__(self, platform: OrsPlatform) -> None:
        self.platform = platform
        self.engine = platform.engine
        self.requests: dict[str, Request] = {}
        self._timers: dict[str, list[Timer]] = {}
        #: the fakes rule of the request being answered (see OrsPlatform.config)
        self.current_rule: Any = None

    def close_if_ended(self) -> None:
        """ORS drops the requests of an ended session silently: they are ``closed``."""
        if self.platform.ended:
            for r in self.requests.values():
                if r.status in LIVE:
                    r.status = "closed"

    def pending(self, module: str | None = None, action: str | None = None) -> list[Request]:
        """Live (pending or manual) requests, optionally of one module/action."""
        self.close_if_ended()
        return [
            r
            for r in self.requests.values()
            if r.status in LIVE and (module is None or r.module == module) and (action is None or r.action == action)
        ]

    def drop_answers(self, request_id: str) -> None:
        """Cancel the answers still scheduled for `request_id`."""
        for timer in self._timers.pop(request_id, []):
            self.engine.cancel_timer(timer)

    def end(self, request: Request) -> None:
        """The platform ends `request` (``cancelled``): its scheduled answers are dropped."""
        self.drop_answers(request.id)
        request.status = "cancelled"
        request.answered_by = request.answered_by or "platform"

    def cancel_request(self, request_id: str, emits: list[Emit]) -> Request | None:
        """Drop the scheduled answer of `request_id`, mark it cancelled, deliver `emits` for it."""
        request = self.requests.get(request_id)
        if request is None:
            return None
        self.end(request)
        self.schedule(request, emits)
        return request

    def respond(self, request_id: str, events: Sequence[Mapping[str, Any]]) -> Request:
        """Answer a (manual or pending) request with events of the user's choice.

        Each event is ``{"name", "data"?, "delay"?}``; the last one completes the request.
        """
        request = self.requests.get(request_id)
        if request is None:
            raise KeyError(f"no request {request_id!r} in this session")
        self.close_if_ended()
        if request.status == "closed":
            raise ValueError(f"request {request_id} is closed: the session has ended")
        if request.status not in LIVE:
            raise ValueError(f"request {request_id} is already {request.status}")
        self.drop_answers(request_id)
        request.answered_by = "manual"
        request.status = "pending"
        emits = [
            Emit(e["name"], e.get("data") or {}, float(e.get("delay", 0.0)), final=i == len(events) - 1)
            for i, e in enumerate(events)
        ]
        self.schedule(request, emits)
        return request

    def requests_json(self, finished: bool = False) -> list[dict[str, Any]]:
        """Every request with its status and responses; once the session ended, the requests it
        left pending are ``closed`` (ORS drops them silently).  `finished`: the caller's view that
        the session ended (the same, kept for callers that pass it)."""
        self.close_if_ended()
        out = []
        for r in self.requests.values():
            record = r.to_json()
            if finished and r.status in LIVE:
                record["status"] = "closed"
            out.append(record)
        return out

    # -- actions -------------------------------------------------------------------------------

    def execute_action(
        self, ctx: Any, module: Module, element: Any, file: str | None, line: int | None, shape: Shape | None = None
    ) -> None:
        """Run one action element: evaluate, write requestid, record the request, schedule the answer.
        `shape`: the element's `Shape`, when the caller keeps it (else read from `element`)."""
        platform = self.platform
        _ns, local = split_tag(element.tag)
        action = module.actions.get(local)
        if action is None:  # definition validation reports it; at run time ORS answers an error
            action = Action(local)
        if shape is None:
            shape = shape_of(element)
        attributes, problems = evaluate_attributes(ctx, shape, action.attributes, False)
        children, child_problems = evaluate_children(ctx, shape, action.children, module, False)
        problems += child_problems
        if not action.asynchronous:
            platform.record_call(f"{module.name}.{local}", [attributes, children])
            return
        location = (
            attributes.pop("requestid", None) if (a := action.attr("requestid")) and a.kind == "location" else None
        )
        request = Request(
            id=platform.new_id("req"),
            module=module.name,
            action=local,
            attributes=attributes,
            children=children,
            file=file,
            line=line,
            created_at=platform.now,
        )
        if location:
            self.engine.assign_in(ctx, location, request.id)
        self.requests[request.id] = request
        if self.engine.tracing:
            self.engine.trace("action", {"request": request.to_json(), "file": file, "line": line})
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
            self.schedule(request, emits)  # only its timeout, if it has one: a user answers it
            return
        self.schedule(request, emits)
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
        rule = self.platform.fakes.match(request)
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
        self.current_rule = rule
        try:
            emits = list(action.fake(request, self.platform)) if action.fake else self._generic(module, action)
        finally:
            self.current_rule = None
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
        for spec in self.platform.fakes.data["inject"]:
            on = spec.get("on")
            if on and on["module"] == request.module and on["action"] == request.action:
                self.platform.inject(
                    spec["event"], spec.get("data") or {}, float(spec.get("after", 0.0)), source="profile"
                )

    # -- answers ---------------------------------------------------------------------------------

    def schedule(self, request: Request, emits: list[Emit]) -> None:
        """Deliver each of `emits` for `request` after its delay."""
        # The request's answers already delivered are done: kept no longer (a long run would keep
        # a timer for every answer it ever had).
        timers = [t for t in self._timers.get(request.id, ()) if not t.done]
        timers.extend(self.engine.schedule_timer(emit.delay, self.deliverer(request, emit)) for emit in emits)
        if timers:
            self._timers[request.id] = timers
        else:
            self._timers.pop(request.id, None)

    def deliverer(self, request: Request, emit: Emit) -> Callable[[], None]:
        """What delivers `emit` as an answer to `request` (adds ``requestid``/``interactionid``)."""

        def deliver() -> None:
            platform = self.platform
            data = dict(emit.data)
            if emit.request:
                data.setdefault("requestid", request.id)
                decl = _event_decl(emit.name)
                if decl is not None and "interactionid" in decl.fields:
                    ixn = request.attributes.get("interactionid") or platform.primary_interaction_id()
                    data.setdefault("interactionid", ixn)
            request.responses.append({"name": emit.name, "data": data, "time": platform.now})
            if emit.final and request.status in LIVE:
                request.status = "answered"
            platform.deliver(emit.name, data, emit.effect, request=request)

        return deliver


def _event_decl(name: str) -> Any:
    prefix = name.removeprefix("error.").split(".")[0]
    for module in BY_NAME.values():
        if prefix in module.event_prefixes:
            found = module.event(name)
            if found is not None:
                return found
    return None
