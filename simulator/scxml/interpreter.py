"""The W3C SCXML 1.0 interpreter: Appendix D's algorithm with the spec's names, made steppable.

https://www.w3.org/TR/scxml/#AlgorithmforSCXMLInterpretation

Public API
----------
``SessionGroup(seed=0, wall_clock=False, profile=W3C, project=None)``
    Owns the ``clock.Clock``, the ``trace.Tracer`` and every session of one simulation (a root
    session and the sessions it invokes). ``create_session(model, ...) -> Session``,
    ``run_until_idle(max_time=None, max_macrosteps=100_000) -> str`` ("idle", "limit"),
    ``drain()`` (queued events only, no time), ``advance(seconds)``, ``step_timer() -> bool``
    (next-timer stepping), ``poll() -> seconds to next timer`` (wall-clock mode),
    ``listeners`` (records of all sessions), ``sessions`` (sessionid -> Session).
``Session``
    ``start()``, ``inject(name, data=None, delay=0.0, type="external")``,
    ``step_microstep() -> bool``, ``step_macrostep() -> bool``, ``run(until=None, max_macrosteps)``,
    ``pause()``/``resume()``, ``snapshot() -> dict``, ``attach(listener)``/``detach``,
    ``configuration`` (ids, document order), ``status`` ("created" | "running" | "final" |
    "error" | "cancelled"), ``final_state`` (id of the top-level final reached), ``is_active(id)``,
    ``datamodel``, ``events_processed``, ``errors`` (error records).
``ActionContext``
    What a profile action handler gets (see profile.py): ``evaluate``, ``evaluate_bool``,
    ``assign``, ``raise_event``, ``send_external``, ``schedule``/``cancel_timer``, ``emit``,
    ``attribute``, ``line``/``file``, ``session``, ``now``, ``fail``.
``NullDataModel``
    The W3C null datamodel (B.1): only ``In('id')`` conditions.

Runtime errors never escape: a failing expression becomes an ``error.execution`` internal event
(W3C 5.10) plus an ``error`` trace record. A hostile chart that keeps itself busy (more than
``max_microsteps`` microsteps in one macrostep) stops with an ``error`` record of kind ``storm``.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from . import model as m
from .clock import Clock, Timer, parse_duration
from .errors import DocumentError, ExecutionError
from .loader import resolve_href
from .profile import W3C, Profile
from .trace import Tracer, jsonable

SCXML_IO = m.SCXML_EVENT_PROCESSOR
BASICHTTP_IO = "http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor"
BASICHTTP_TYPES = {BASICHTTP_IO, "basichttp"}
#: base of the BasicHTTP locations: an in-process loopback, nothing listens on a socket
BASICHTTP_BASE = "http://localhost/scxml/"
SCXML_TYPES = {None, "", "scxml", SCXML_IO, "http://www.w3.org/TR/scxml", m.SCXML_INVOKE_TYPE}
MAX_MICROSTEPS = 10_000


class Event:
    """An SCXML event (W3C 5.10.1 `_event` fields)."""

    __slots__ = ("data", "invokeid", "name", "origin", "origintype", "raw", "sendid", "type")

    def __init__(
        self,
        name: str,
        data: Any = None,
        type: str = "external",
        sendid: str | None = None,
        origin: str | None = None,
        origintype: str | None = None,
        invokeid: str | None = None,
    ):
        self.name = name
        self.data = data
        self.type = type
        self.sendid = sendid
        self.origin = origin
        self.origintype = origintype
        self.invokeid = invokeid
        self.raw: str | None = None  # the HTTP request text of BasicHTTP events (`_event.raw`)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "sendid": self.sendid,
            "origin": self.origin,
            "origintype": self.origintype,
            "invokeid": self.invokeid,
            "data": jsonable(self.data),
        }

    def copy(self) -> Event:
        event = Event(self.name, self.data, self.type, self.sendid, self.origin, self.origintype, self.invokeid)
        event.raw = self.raw
        return event


# -- datamodels -----------------------------------------------------------------------------------


class NullDataModel:
    """W3C B.1 null datamodel: no data, the only condition is `In('state')`."""

    def __init__(self, **_: Any):
        self.functions: dict[str, Callable] = {}

    def _fail(self, what: str) -> None:
        from .datamodel import JSError  # same exception type as the ECMAScript datamodel

        raise JSError("TypeError", f"the null datamodel cannot evaluate {what!r}", None)

    def install_time(self, *_: Any) -> None:
        """No scripts, so no `Date` to set."""

    def evaluate_bool(self, expr: str) -> bool:
        import re

        match = re.fullmatch(r"\s*In\(\s*['\"]([^'\"]+)['\"]\s*\)\s*", expr)
        if match and "In" in self.functions:
            return bool(self.functions["In"](match.group(1)))
        self._fail(expr)
        return False

    def evaluate(self, expr: str) -> Any:
        import re

        match = re.fullmatch(r"\s*'([^']*)'\s*|\s*\"([^\"]*)\"\s*", expr)
        if match:  # string literals, so <log expr="'pass'"/> still logs something useful
            return match.group(1) if match.group(1) is not None else match.group(2)
        self._fail(expr)
        return None

    def assign(self, location: str, expr: str) -> None:
        self._fail(location)

    def assign_value(self, location: str, value: Any) -> None:
        self._fail(location)

    def declare(self, id: str, expr: str | None) -> None:
        if expr is not None:
            self._fail(expr)

    def declare_value(self, id: str, value: Any) -> None:
        pass

    def execute(self, script: str) -> None:
        self._fail(script)

    def is_valid_location(self, location: str) -> bool:
        return False

    def set_event(self, *args: Any) -> None:
        pass

    def set_system(self, name: str, value: Any) -> None:
        pass

    def define_function(self, name: str, fn: Callable) -> None:
        self.functions[name] = fn

    def snapshot(self, names: Iterable[str] | None = None) -> dict:
        return {}

    def close(self) -> None:
        pass


def _make_datamodel(kind: str, profile: Profile, memory_limit: int, time_limit: float) -> Any:
    if kind == "null":
        return NullDataModel()
    from .datamodel import ECMAScriptDataModel

    return ECMAScriptDataModel(memory_limit=memory_limit, time_limit=time_limit, preprocess=profile.preprocess_script)


def _js_error_type() -> type[Exception]:
    from .datamodel import JSError

    return JSError


# -- action context for profile handlers ---------------------------------------------------------


class ActionContext:
    """Operations a custom action handler (profile.action_handlers) may use on its session."""

    __slots__ = ("node", "session")

    def __init__(self, session: Session, node: m.Node):
        self.session = session
        self.node = node

    @property
    def line(self) -> int | None:
        return self.node.line

    @property
    def file(self) -> str | None:
        return self.node.file

    @property
    def now(self) -> float:
        return self.session.group.clock.now

    @property
    def datamodel(self) -> Any:
        return self.session.datamodel

    def attribute(self, name: str, default: str | None = None) -> str | None:
        """Raw text of an attribute of the element being executed."""
        attributes = getattr(self.node, "attributes", None)
        if attributes is None and self.node.element is not None:
            attributes = self.node.element.attrib
        return (attributes or {}).get(name, default)

    def evaluate(self, expr: str) -> Any:
        """Evaluate an expression; failures raise ExecutionError (-> error.execution)."""
        return self.session._evaluate(expr, self.node)

    def evaluate_bool(self, expr: str) -> bool:
        return self.session._evaluate_bool_strict(expr, self.node)

    def assign(self, location: str, value: Any) -> None:
        """Store a Python value at a datamodel location."""
        self.session._assign_value(location, value, self.node)

    def raise_event(self, name: str, data: Any = None) -> None:
        """Put an event on the internal queue."""
        self.session._raise(Event(name, data, "internal"))

    def send_external(
        self, name: str, data: Any = None, delay: float = 0.0, sendid: str | None = None, origin: str | None = None
    ) -> Timer | None:
        """Enqueue an external event for this session, optionally after `delay` virtual seconds."""
        event = Event(name, data, "external", sendid, origin, None, None)
        return self.session._deliver_later(self.session, event, delay, sendid)

    def schedule(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run `callback` after `delay` seconds on the group's clock (virtual or wall)."""
        timer = self.session.group.clock.schedule(delay, callback, key=self.session.sessionid)
        self.session._timers.append(timer)
        return timer

    def cancel_timer(self, timer: Timer) -> None:
        self.session.group.clock.cancel(timer)

    def emit(self, type_: str, **fields: Any) -> None:
        """Emit a trace record (e.g. "action" / "response") located at this element."""
        fields.setdefault("file", self.node.file)
        fields.setdefault("line", self.node.line)
        self.session._emit(type_, fields)

    def fail(self, message: str, kind: str = "execution") -> None:
        """Abort the element with an error.<kind> event."""
        raise ExecutionError(message, kind, None, self.node.line)


# -- session group --------------------------------------------------------------------------------


class SessionGroup:
    """Sessions sharing one clock and one trace numbering (a root session and its invokes)."""

    def __init__(self, seed: int = 0, wall_clock: bool = False, profile: Profile = W3C, project: Any = None):
        self.clock = Clock(wall=wall_clock)
        self.tracer = Tracer(self.clock)
        self.seed = seed
        self.rng = random.Random(seed)
        self.profile = profile
        self.project = project
        self.sessions: dict[str, Session] = {}
        self.clock.listeners.append(self._on_clock)

    @property
    def listeners(self) -> list[Callable[[dict], None]]:
        return self.tracer.listeners

    def _on_clock(self, old: float, new: float) -> None:
        if self.tracer.listeners:
            self.tracer.emit("clock", None, {"from": old, "to": new})

    def new_session_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def create_session(
        self,
        model: m.Model,
        parent: Session | None = None,
        invokeid: str | None = None,
        initial_data: dict | None = None,
        **options: Any,
    ) -> Session:
        """A new, not yet started session of `model` in this group."""
        session = Session(model, self, parent=parent, invokeid=invokeid, initial_data=initial_data, **options)
        self.sessions[session.sessionid] = session
        return session

    def busy(self) -> list[Session]:
        return [s for s in list(self.sessions.values()) if s.ready]

    def drain(self, max_macrosteps: int | None = None) -> int:
        """Process queued events of every session (no clock movement); returns macrosteps run."""
        steps = 0
        progressed = True
        while progressed:
            progressed = False
            for session in list(self.sessions.values()):
                while session.ready:
                    session.step_macrostep()
                    progressed = True
                    steps += 1
                    if max_macrosteps is not None and steps >= max_macrosteps:
                        return steps
        return steps

    def run_until_idle(self, max_time: float | None = None, max_macrosteps: int | None = 100_000) -> str:
        """Process every queued event, then fire timers in time order, until nothing is left.

        Returns "idle" (no work and no timers left) or "limit" (the next timer lies beyond
        `max_time` virtual seconds, which the clock then shows, or `max_macrosteps` macrosteps
        ran: the guard against charts that keep themselves busy forever).
        """
        budget = max_macrosteps
        while True:
            steps = self.drain(budget)
            if budget is not None:
                budget -= steps
                if budget <= 0:
                    return "limit"
            if self.clock.wall:
                return "idle"
            due = self.clock.next_due()
            if due is None:
                return "idle"
            if max_time is not None and due > max_time:
                if max_time > self.clock.now:
                    self.clock.advance(max_time - self.clock.now)
                return "limit"
            self.clock.advance_to_next()

    def poll(self) -> float | None:
        """Wall-clock mode (live play): fire the timers that are due now and process what they
        caused; returns seconds until the next timer (None if none), for the caller's wake-up."""
        self.drain()
        self.clock.fire_due()
        self.drain()
        due = self.clock.next_due()
        return None if due is None else max(due - self.clock.now, 0.0)

    def step_timer(self) -> bool:
        """ "Next timer" stepping: jump to the next timer, fire it, process what it caused."""
        self.drain()
        if not self.clock.advance_to_next():
            return False
        self.drain()
        return True

    def advance(self, seconds: float) -> None:
        """Move virtual time forward by `seconds`, processing events as timers fire in order."""
        target = self.clock.now + seconds
        self.drain()
        while True:
            due = self.clock.next_due()
            if due is None or due > target:
                break
            self.clock.advance_to_next()
            self.drain()
        self.clock.advance(target - self.clock.now)


# -- session --------------------------------------------------------------------------------------


class Session:
    """One running SCXML document (see module docstring for the API)."""

    def __init__(
        self,
        model: m.Model,
        group: SessionGroup,
        parent: Session | None = None,
        invokeid: str | None = None,
        initial_data: dict | None = None,
        memory_limit: int = 64 * 1024 * 1024,
        time_limit: float = 1.0,
        max_microsteps: int = MAX_MICROSTEPS,
        trace_datamodel: bool = True,
    ):
        if model.errors:
            raise DocumentError(model.errors)
        self.model = model
        self.group = group
        self.profile = group.profile
        self.parent = parent
        self.invokeid = invokeid
        self.initial_data = initial_data or {}
        self.sessionid = group.new_session_id()
        self.memory_limit = memory_limit
        self.time_limit = time_limit
        self.max_microsteps = max_microsteps
        self.trace_datamodel = trace_datamodel
        self.datamodel: Any = None
        self.configuration: set[m.State] = set()
        # The atomic states of the configuration in document order; the configuration is fully
        # determined by it, so it also keys the per-transition memos of exit sets.
        self._atomic: tuple[m.State, ...] | None = ()
        self.states_to_invoke: set[m.State] = set()
        self.internal_queue: deque[Event] = deque()
        self.external_queue: deque[Event] = deque()
        self.history_value: dict[str, list[m.State]] = {}
        self.first_entry_done: set[m.State] = set()
        self.invocations: dict[str, tuple[m.Invoke, Session]] = {}
        self.running = False
        self.status = "created"
        self.final_state: str | None = None
        self.paused = False
        self.events_processed = 0
        self.errors: list[dict] = []
        self.listeners: list[Callable[[dict], None]] = []
        self._send_timers: dict[str, list[Timer]] = {}
        self._timers: list[Timer] = []
        self._send_counter = 0
        self._invoke_counter = 0
        self._current: dict | None = None  # macrostep accumulator (only when tracing)
        self._last_snapshot: dict | None = None
        self._microsteps = 0
        self._history_seen = False
        #: the configuration when the session ended (exit_interpreter empties `configuration`)
        self.final_configuration: list[str] = []
        self.location = "#_scxml_" + self.sessionid

    # ---- tracing ----------------------------------------------------------------------------

    def attach(self, listener: Callable[[dict], None]) -> None:
        """Receive every record this session emits."""
        self.listeners.append(listener)

    def detach(self, listener: Callable[[dict], None]) -> None:
        self.listeners.remove(listener)

    @property
    def tracing(self) -> bool:
        return bool(self.listeners) or bool(self.group.tracer.listeners)

    def _emit(self, type_: str, fields: dict) -> dict | None:
        if type_ == "error":
            self.errors.append(fields)
        if not self.tracing:
            return None
        if self.invokeid is not None:
            fields["invokeid"] = self.invokeid
        record = self.group.tracer.emit(type_, self.sessionid, fields)
        for listener in list(self.listeners):
            listener(record)
        return record

    # ---- public stepping API ----------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True when a run loop should call step_macrostep() (started, not paused, has work)."""
        return self.running and not self.paused and bool(self.external_queue or self.internal_queue)

    def start(self) -> None:
        """interpret(doc) up to the first stable configuration (W3C Appendix D `interpret`)."""
        if self.status != "created":
            return
        self.status = "running"
        self.running = True
        self._begin_macrostep(None)
        try:
            self.datamodel = _make_datamodel(self.model.datamodel, self.profile, self.memory_limit, self.time_limit)
        except Exception as exc:  # resource exhaustion creating the JS runtime
            self._fatal("datamodel", f"cannot create the datamodel: {exc}")
            return
        dm = self.datamodel
        # `Date` shows the profile's wall clock at the group's virtual time; Math.random is seeded
        clock, profile = self.group.clock, self.profile
        dm.install_time(
            profile.time_base().zone,
            lambda: profile.time_base().epoch_ms(clock.now),
            f"{self.group.seed}/{self.sessionid}",
        )
        dm.set_system("_sessionid", self.sessionid)
        dm.set_system("_name", self.model.name if self.model.name is not None else None)
        dm.set_system("_ioprocessors", self._ioprocessors())
        dm.set_system("_x", {})
        dm.define_function("In", self._in)
        self.profile.install_globals(self)
        self._emit("start", {"name": self.model.name, "file": self.model.entry, "parent": self._parent_id()})
        self.initialize_datamodel()
        self.profile.datamodel_initialized(self)
        for script in self.model.scripts:
            self.execute_block((script,))
        entered = self.enter_states([self.model.root.initial])
        if self._current is not None:
            self._current["entered"].extend(s.id for s in entered)
        self._settle()

    def inject(
        self,
        name: str,
        data: Any = None,
        delay: float = 0.0,
        type: str = "external",
        sendid: str | None = None,
        origin: str | None = None,
        origintype: str | None = None,
        invokeid: str | None = None,
    ) -> None:
        """Put an external event on this session's queue (after `delay` virtual seconds)."""
        event = Event(name, data, type, sendid, origin, origintype, invokeid)
        if delay > 0:
            self._deliver_later(self, event, delay, None)
        else:
            self.external_queue.append(event)

    # Benchmarks and the UI call this; it is the whole external-event path.
    def step_macrostep(self) -> bool:
        """Run one macrostep: settle pending internal work, or take one external event."""
        if self.status == "created":
            self.start()
            return True
        if not self.running:
            return False
        if self.internal_queue or self.states_to_invoke:
            self._begin_macrostep(None)
            self._settle()
            return True
        if not self.external_queue:
            return False
        event = self.external_queue.popleft()
        if self.listeners or self.group.tracer.listeners:
            self._begin_macrostep(event)
        else:  # the untraced fast path (benchmarks, batch runs)
            self._microsteps = 0
            self._current = None
        self._take_external(event)
        self._settle()
        return True

    def step_microstep(self) -> bool:
        """Run a single microstep (or start / invoke / take one external event); False if idle."""
        if self.status == "created":
            self.start()
            return True
        if not self.running:
            return False
        if self._current is None:
            self._begin_macrostep(None)
        enabled = self.select_eventless_transitions()
        if enabled:
            self.microstep(enabled, None)
            self._finish_if_stopped()
            return True
        if self.internal_queue:
            event, enabled = self._take_internal()
            if enabled:
                self.microstep(enabled, event)
            self._finish_if_stopped()
            return True
        if self.states_to_invoke:
            self._run_invokes()
            return True
        self._end_macrostep()
        if self.external_queue:
            event = self.external_queue.popleft()
            self._begin_macrostep(event)
            self._take_external(event)
            self._finish_if_stopped()
            return True
        return False

    def _finish_if_stopped(self) -> None:
        if not self.running and self.status == "running":
            self._end_macrostep()
            self.exit_interpreter()

    def run(self, until: Callable[[Session], bool] | None = None, max_macrosteps: int = 1_000_000) -> int:
        """Run macrosteps until idle, stopped, paused, `until(self)` holds or the cap is hit."""
        count = 0
        if self.status == "created":
            self.start()
            count += 1
        while count < max_macrosteps and self.ready and not (until and until(self)):
            self.step_macrostep()
            count += 1
        return count

    def pause(self) -> None:
        """Stop run loops (group.run_until_idle, run()) from processing this session."""
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def is_active(self, state_id: str) -> bool:
        return self.model.states_by_id.get(state_id) in self.configuration

    @property
    def configuration_ids(self) -> list[str]:
        return [s.id for s in sorted(self.configuration, key=_order)]

    def snapshot(self) -> dict:
        """Configuration, datamodel, queues and timers as JSON-safe data."""
        clock = self.group.clock
        timers = []
        for sendid, items in self._send_timers.items():
            timers.extend({"sendid": sendid, "due": t.due} for t in items if not t.cancelled)
        return {
            "session": self.sessionid,
            "status": self.status,
            "configuration": self.configuration_ids,
            "datamodel": jsonable(self.datamodel.snapshot()) if self.datamodel is not None else {},
            "internal_queue": [e.as_dict() for e in self.internal_queue],
            "external_queue": [e.as_dict() for e in self.external_queue],
            "timers": sorted(timers, key=lambda t: (t["due"], t["sendid"])),
            "history": {k: [s.id for s in v] for k, v in sorted(self.history_value.items())},
            "invocations": sorted(self.invocations),
            "time": clock.now,
            "events": self.events_processed,
        }

    # ---- main event loop, split into steppable pieces (W3C Appendix D mainEventLoop) ---------

    def _settle(self) -> None:
        """Eventless transitions and internal events until stable, then invokes (mainEventLoop)."""
        while self.running:
            enabled = self.select_eventless_transitions()
            event = None
            if not enabled:
                if not self.internal_queue:
                    if self.states_to_invoke:
                        self._run_invokes()
                        continue
                    break
                event, enabled = self._take_internal()
            if enabled:
                self.microstep(enabled, event)
            self._microsteps += 1
            if self._microsteps > self.max_microsteps:
                self._fatal(
                    "storm",
                    f"more than {self.max_microsteps} microsteps in one macrostep (event storm); session stopped",
                )
                return
        self._end_macrostep()
        if not self.running and self.status == "running":
            self.exit_interpreter()

    def _take_internal(self) -> tuple[Event, list[m.Transition]]:
        """The internal-event half of mainEventLoop: dequeue, record, bind ``_event``, select."""
        event = self.internal_queue.popleft()
        if self._current is not None:
            self._current["internal_events"].append(event.name)
        self._set_event(event)
        return event, self.select_transitions(event)

    def _take_external(self, event: Event) -> None:
        """The external-event half of mainEventLoop: finalize, autoforward, select, microstep."""
        if self._current is not None:
            self._current["event"] = event.as_dict()
        self.events_processed += 1
        self.profile.external_event_taken(self, event)
        self._set_event(event)
        if self.invocations:
            for invokeid, (inv, child) in list(self.invocations.items()):
                if invokeid == event.invokeid and inv.finalize:
                    self.execute_block(inv.finalize)
                if inv.autoforward and child.running:
                    child.external_queue.append(event.copy())
        enabled = self.select_transitions(event)
        if enabled:
            self.microstep(enabled, event)

    def _begin_macrostep(self, event: Event | None) -> None:
        self._microsteps = 0
        if self.tracing:
            self._current = {
                "event": event.as_dict() if event is not None else None,
                "internal_events": [],
                "transitions": [],
                "exited": [],
                "entered": [],
            }
        else:
            self._current = None

    def _end_macrostep(self) -> None:
        current, self._current = self._current, None
        if current is None or not self.tracing:
            return
        if not (current["event"] or current["internal_events"] or current["transitions"] or current["entered"]):
            return  # stepping found nothing to do: no empty macrostep records
        current["configuration"] = self.configuration_ids
        self._emit("macrostep", current)
        if self.trace_datamodel and self.datamodel is not None:
            try:
                snap = jsonable(self.datamodel.snapshot())
            except Exception:  # a hostile getter must not break tracing
                snap = {}
            last = self._last_snapshot or {}
            changed = {k: v for k, v in snap.items() if k not in last or last[k] != v}
            removed = [k for k in last if k not in snap]
            if changed or removed:
                self._emit("datamodel", {"changed": changed, "removed": removed})
            self._last_snapshot = snap

    def _fatal(self, kind: str, message: str) -> None:
        self._emit("error", {"kind": kind, "event": None, "message": message, "file": self.model.entry, "line": None})
        self.running = False
        self.status = "error"
        self.internal_queue.clear()
        self.external_queue.clear()
        self._cancel_all_timers()
        self._end_macrostep()
        self.final_configuration = self.configuration_ids
        for _, child in list(self.invocations.values()):
            child.cancel()
        self._emit("done", {"status": "error", "final_state": None, "configuration": self.configuration_ids})

    def _run_invokes(self) -> None:
        states = sorted(self.states_to_invoke, key=_order)
        self.states_to_invoke.clear()
        for state in states:
            for inv in state.invokes:
                self.invoke(inv)

    def _set_event(self, event: Event) -> None:
        if event.raw is not None:
            self.datamodel.set_event(
                event.name,
                event.type,
                event.sendid,
                event.origin,
                event.origintype,
                event.invokeid,
                event.data,
                {"raw": event.raw},
            )
            return
        self.datamodel.set_event(
            event.name, event.type, event.sendid, event.origin, event.origintype, event.invokeid, event.data
        )

    # ---- Appendix D functions ----------------------------------------------------------------

    def select_eventless_transitions(self) -> list[m.Transition]:
        """https://www.w3.org/TR/scxml/#selectEventlessTransitions"""
        enabled: list[m.Transition] = []
        for state in self._atomic if self._atomic is not None else self._atomic_states():
            # state.eventless(): its and its ancestors' eventless transitions in search order.
            eventless = state._eventless
            if eventless is None:
                eventless = state.eventless()
            for t in eventless:
                if t.cond is None or self._condition(t):
                    if t not in enabled:
                        enabled.append(t)
                    break
        return self.remove_conflicting_transitions(enabled) if len(enabled) > 1 else enabled

    def select_transitions(self, event: Event) -> list[m.Transition]:
        """https://www.w3.org/TR/scxml/#selectTransitions"""
        enabled: list[m.Transition] = []
        name = event.name
        evaluate_bool = self.datamodel.evaluate_bool
        for state in self._atomic if self._atomic is not None else self._atomic_states():
            found = state._candidates.get(name)
            if found is None:
                found = state.candidates(name)
            for t in found:
                if t.cond is not None:
                    # conditionMatch(), inlined: a failing cond is false + error.execution (5.9.1)
                    try:
                        if not evaluate_bool(t.cond):
                            continue
                    except Exception as exc:
                        self._error_from(exc, t)
                        continue
                if t not in enabled:
                    enabled.append(t)
                break
        return self.remove_conflicting_transitions(enabled) if len(enabled) > 1 else enabled

    def remove_conflicting_transitions(self, enabled: list[m.Transition]) -> list[m.Transition]:
        """https://www.w3.org/TR/scxml/#removeConflictingTransitions"""
        filtered: list[m.Transition] = []
        exit_sets: dict[m.Transition, set[m.State]] = {}
        for t1 in enabled:
            t1_preempted = False
            to_remove = []
            exit1 = exit_sets.setdefault(t1, self.compute_exit_set([t1]))
            for t2 in filtered:
                if exit1 & exit_sets[t2]:
                    if t2.source in t1.source.ancestors:
                        to_remove.append(t2)
                    else:
                        t1_preempted = True
                        break
            if not t1_preempted:
                for t3 in to_remove:
                    filtered.remove(t3)
                filtered.append(t1)
        return filtered

    def microstep(self, enabled: list[m.Transition], event: Event | None = None) -> None:
        """https://www.w3.org/TR/scxml/#microstep"""
        if self._current is not None:
            self._current["transitions"].extend(_transition_record(t) for t in enabled)
        t = enabled[0] if len(enabled) == 1 else None
        before = (self._atomic if self._atomic is not None else self._atomic_states()) if t is not None else None
        exited = self.exit_states(enabled)
        for transition in enabled:  # execute_transition_content(), inlined on the hot path
            if transition.content:
                self.execute_block(transition.content)
        entered = self.enter_states(enabled)
        if t is not None and t._entry is not None and t._domain is not m.UNKNOWN:
            after = t._next.get(before)
            if after is None:
                after = self._atomic_states()
                if len(t._next) < 256:
                    t._next[before] = after
            self._atomic = after
        if self._current is not None:
            exited = [s.id for s in exited]
            entered = [s.id for s in entered]
            self._current["exited"].extend(exited)
            self._current["entered"].extend(entered)
            self._emit(
                "microstep",
                {
                    "event": event.name if event is not None else None,
                    "transitions": [t.id for t in enabled],
                    "exited": exited,
                    "entered": entered,
                },
            )

    def exit_states(self, enabled: list[m.Transition]) -> tuple[m.State, ...]:
        """https://www.w3.org/TR/scxml/#exitStates"""
        t = enabled[0] if len(enabled) == 1 else None
        if t is not None and t._domain is not m.UNKNOWN:
            # Memo per (transition, atomic configuration): both are enough to know the exit set.
            atomic = self._atomic if self._atomic is not None else self._atomic_states()
            states_to_exit = t._exits.get(atomic)
            if states_to_exit is None:
                states_to_exit = tuple(sorted(self.compute_exit_set(enabled), key=_order, reverse=True))
                if len(t._exits) < 256:
                    t._exits[atomic] = states_to_exit
        else:
            states_to_exit = tuple(sorted(self.compute_exit_set(enabled), key=_order, reverse=True))
        if not states_to_exit:
            return states_to_exit
        configuration = self.configuration
        if self.states_to_invoke:
            for s in states_to_exit:
                self.states_to_invoke.discard(s)
        for s in states_to_exit:
            if not s.history:
                continue
            for h in s.history:
                if h.history_type == "deep":
                    value = [s0 for s0 in configuration if s0.is_atomic and s in s0.ancestors]
                else:
                    value = [s0 for s0 in configuration if s0.parent is s]
                self.history_value[h.id] = sorted(value, key=_order)
        for s in states_to_exit:
            for block in s.onexit:
                self.execute_block(block)
            if s.invokes:
                for inv in s.invokes:
                    self.cancel_invoke(inv)
            configuration.discard(s)
        self._atomic = None
        return states_to_exit

    def compute_exit_set(self, transitions: Iterable[m.Transition]) -> set[m.State]:
        """https://www.w3.org/TR/scxml/#computeExitSet"""
        states_to_exit: set[m.State] = set()
        for t in transitions:
            if t.targets:
                domain = t._domain
                if domain is m.UNKNOWN:
                    domain = self.get_transition_domain(t)
                for s in self.configuration:
                    if domain in s.ancestors:
                        states_to_exit.add(s)
        return states_to_exit

    def execute_transition_content(self, enabled: list[m.Transition]) -> None:
        """https://www.w3.org/TR/scxml/#executeTransitionContent"""
        for t in enabled:
            if t.content:
                self.execute_block(t.content)

    def enter_states(self, enabled: list[m.Transition]) -> tuple[m.State, ...]:
        """https://www.w3.org/TR/scxml/#enterStates"""
        late = self.model.binding == "late"
        if len(enabled) == 1 and enabled[0]._entry is not None:
            entered, plain, states_for_default_entry, default_history_content = enabled[0]._entry
        else:
            states_to_enter: set[m.State] = set()
            states_for_default_entry: set[m.State] = set()
            default_history_content: dict[str, tuple] = {}
            self._history_seen = False
            self.compute_entry_set(enabled, states_to_enter, states_for_default_entry, default_history_content)
            entered = tuple(sorted(states_to_enter, key=_order))
            # `plain` states need nothing but joining the configuration (the common case).
            plain = tuple(
                not (
                    s.invokes
                    or s.onentry
                    or s.kind == "final"
                    or (late and s.data)
                    or (s in states_for_default_entry and s.initial.content)
                    or s.id in default_history_content
                )
                for s in entered
            )
            if len(enabled) == 1 and not self._history_seen:
                # No history state took part: the entry set depends on the document only.
                enabled[0]._entry = (entered, plain, frozenset(states_for_default_entry), default_history_content)
        configuration = self.configuration
        self._atomic = None
        for s, is_plain in zip(entered, plain, strict=True):
            configuration.add(s)
            if is_plain:
                continue
            if s.invokes:
                self.states_to_invoke.add(s)
            if late and s not in self.first_entry_done:
                self.first_entry_done.add(s)
                self.initialize_data(s.data)
            for block in s.onentry:
                self.execute_block(block)
            if s in states_for_default_entry and s.initial.content:
                self.execute_block(s.initial.content)
            content = default_history_content.get(s.id)
            if content:
                self.execute_block(content)
            if s.kind == "final":
                parent = s.parent
                if parent.kind == "scxml":
                    self.running = False
                    self.final_state = s.id
                else:
                    grandparent = parent.parent
                    self._raise(Event("done.state." + parent.id, self.done_data(s), "platform"))
                    if (
                        grandparent is not None
                        and grandparent.kind == "parallel"
                        and all(self.is_in_final_state(c) for c in grandparent.children)
                    ):
                        self._raise(Event("done.state." + grandparent.id, None, "platform"))
        return entered

    def compute_entry_set(
        self,
        transitions: list[m.Transition],
        states_to_enter: set[m.State],
        states_for_default_entry: set[m.State],
        default_history_content: dict[str, tuple],
    ) -> None:
        """https://www.w3.org/TR/scxml/#computeEntrySet"""
        for t in transitions:
            for s in t.targets:
                self.add_descendant_states_to_enter(
                    s, states_to_enter, states_for_default_entry, default_history_content
                )
            ancestor = self.get_transition_domain(t)
            for s in self.get_effective_target_states(t):
                self.add_ancestor_states_to_enter(
                    s, ancestor, states_to_enter, states_for_default_entry, default_history_content
                )

    def add_descendant_states_to_enter(
        self,
        state: m.State,
        states_to_enter: set[m.State],
        states_for_default_entry: set[m.State],
        default_history_content: dict[str, tuple],
    ) -> None:
        """https://www.w3.org/TR/scxml/#addDescendantStatesToEnter"""
        if state.kind == "history":
            self._history_seen = True
            stored = self.history_value.get(state.id)
            if stored:
                targets = stored
            else:
                transition = state.transitions[0] if state.transitions else None
                targets = transition.targets if transition is not None else ()
                if transition is not None and transition.content:
                    default_history_content[state.parent.id] = transition.content
            for s in targets:
                self.add_descendant_states_to_enter(
                    s, states_to_enter, states_for_default_entry, default_history_content
                )
            for s in targets:
                self.add_ancestor_states_to_enter(
                    s, state.parent, states_to_enter, states_for_default_entry, default_history_content
                )
            return
        states_to_enter.add(state)
        if state.is_compound:
            states_for_default_entry.add(state)
            targets = state.initial.targets
            for s in targets:
                self.add_descendant_states_to_enter(
                    s, states_to_enter, states_for_default_entry, default_history_content
                )
            for s in targets:
                self.add_ancestor_states_to_enter(
                    s, state, states_to_enter, states_for_default_entry, default_history_content
                )
        elif state.kind == "parallel":
            for child in state.children:
                if not any(child is s or child in s.ancestors for s in states_to_enter):
                    self.add_descendant_states_to_enter(
                        child, states_to_enter, states_for_default_entry, default_history_content
                    )

    def add_ancestor_states_to_enter(
        self,
        state: m.State,
        ancestor: m.State | None,
        states_to_enter: set[m.State],
        states_for_default_entry: set[m.State],
        default_history_content: dict[str, tuple],
    ) -> None:
        """https://www.w3.org/TR/scxml/#addAncestorStatesToEnter"""
        for anc in self.get_proper_ancestors(state, ancestor):
            states_to_enter.add(anc)
            if anc.kind == "parallel":
                for child in anc.children:
                    if not any(child is s or child in s.ancestors for s in states_to_enter):
                        self.add_descendant_states_to_enter(
                            child, states_to_enter, states_for_default_entry, default_history_content
                        )

    @staticmethod
    def get_proper_ancestors(state: m.State, ancestor: m.State | None) -> list[m.State]:
        """https://www.w3.org/TR/scxml/#getProperAncestors (excludes the <scxml> root)."""
        result = []
        for anc in state.ancestors:
            if anc is ancestor or anc.kind == "scxml":
                break
            result.append(anc)
        return result

    def is_in_final_state(self, state: m.State) -> bool:
        """https://www.w3.org/TR/scxml/#isInFinalState"""
        if state.is_compound:
            return any(c.kind == "final" and c in self.configuration for c in state.children)
        if state.kind == "parallel":
            return all(self.is_in_final_state(c) for c in state.children)
        return False

    def get_transition_domain(self, t: m.Transition) -> m.State | None:
        """https://www.w3.org/TR/scxml/#getTransitionDomain

        The domain only depends on the document unless a target is a history state, so it is
        memoised on the (shared, immutable) transition in that case.
        """
        domain = t._domain
        if domain is not m.UNKNOWN:
            return domain
        domain = self._transition_domain(t)
        if not any(s.kind == "history" for s in t.targets):
            t._domain = domain
        return domain

    def _transition_domain(self, t: m.Transition) -> m.State | None:
        tstates = self.get_effective_target_states(t)
        if not tstates:
            return None
        source = t.source
        if t.type == "internal" and source.is_compound and all(source in s.ancestors for s in tstates):
            return source
        return self.find_lcca([source, *tstates])

    @staticmethod
    def find_lcca(states: list[m.State]) -> m.State | None:
        """https://www.w3.org/TR/scxml/#findLCCA"""
        head, tail = states[0], states[1:]
        for anc in head.ancestors:
            if (anc.is_compound or anc.kind == "scxml") and all(anc in s.ancestors for s in tail):
                return anc
        return None

    def get_effective_target_states(self, t: m.Transition) -> list[m.State]:
        """https://www.w3.org/TR/scxml/#getEffectiveTargetStates"""
        targets: list[m.State] = []
        for s in t.targets:
            if s.kind == "history":
                stored = self.history_value.get(s.id)
                extra = (
                    stored if stored else (self.get_effective_target_states(s.transitions[0]) if s.transitions else [])
                )
                for x in extra:
                    if x not in targets:
                        targets.append(x)
            elif s not in targets:
                targets.append(s)
        return targets

    def exit_interpreter(self) -> None:
        """https://www.w3.org/TR/scxml/#exitInterpreter — also sends done.invoke to the parent."""
        states_to_exit = sorted(self.configuration, key=_order, reverse=True)
        self.final_configuration = [st.id for st in reversed(states_to_exit)]
        done_data = None
        final = None
        for s in states_to_exit:
            for block in s.onexit:
                self.execute_block(block)
            for inv in s.invokes:
                self.cancel_invoke(inv)
            self.configuration.discard(s)
            if s.kind == "final" and s.parent.kind == "scxml":
                final = s
                done_data = self.done_data(s)
        self._atomic = None
        self._cancel_all_timers()
        self.running = False
        if self.status == "running":
            self.status = "final" if final is not None else "cancelled"
        if final is not None:
            self.final_state = final.id
        self._emit(
            "done",
            {
                "status": self.status,
                "final_state": self.final_state,
                "donedata": jsonable(done_data),
                "configuration": [final.id] if final is not None else [],
            },
        )
        parent = self.parent
        if final is not None and parent is not None and self.invokeid in parent.invocations:
            parent._deliver_from_child(
                self,
                Event(
                    "done.invoke." + self.invokeid, done_data, "external", None, self.location, SCXML_IO, self.invokeid
                ),
            )

    def cancel(self) -> None:
        """Terminate this (invoked) session: onexit handlers run, no done.invoke is sent."""
        if not self.running:
            return
        self.status = "cancelled"
        self.internal_queue.clear()
        self.external_queue.clear()
        # Detached while exiting: nothing its onexit handlers send reaches the parent, and no
        # done.invoke is returned (W3C 6.4.3).
        parent, self.parent = self.parent, None
        self.exit_interpreter()
        self.parent = parent

    # ---- datamodel ---------------------------------------------------------------------------

    def initialize_datamodel(self) -> None:
        """Early binding: every <data> now; late: declare all, initialise the root's (W3C 5.3.3)."""
        dm = self.datamodel
        if self.model.binding == "early":
            self.initialize_data(self.model.all_data)
        else:
            for data in self.model.all_data:
                if data.id:
                    dm.declare(data.id, None)
            self.initialize_data(self.model.root.data)
            self.first_entry_done.add(self.model.root)

    def initialize_data(self, items: Iterable[m.Data]) -> None:
        dm = self.datamodel
        for data in items:
            if not data.id:
                continue
            try:
                if data.id in self.initial_data:
                    dm.declare_value(data.id, self.initial_data[data.id])
                elif data.expr is not None:
                    dm.declare(data.id, data.expr)
                elif data.src_value is not None:
                    dm.declare_value(data.id, data.src_value)
                elif data.content is not None:
                    dm.declare_value(data.id, data.content.value)
                else:
                    dm.declare(data.id, None)
            except Exception as exc:
                # W3C 5.3: the variable exists but stays unbound; error.execution is raised.
                with contextlib.suppress(Exception):
                    dm.declare(data.id, None)
                self._error_from(exc, data)

    def _condition(self, t: m.Transition) -> bool:
        """conditionMatch(): a failing cond is false and raises error.execution (W3C 5.9.1)."""
        try:
            return self.datamodel.evaluate_bool(t.cond)
        except Exception as exc:
            self._error_from(exc, t)
            return False

    def _evaluate(self, expr: str, node: m.Node) -> Any:
        try:
            return self.datamodel.evaluate(expr)
        except ExecutionError:
            raise
        except Exception as exc:
            raise self._as_execution_error(exc, node) from exc

    def _evaluate_bool_strict(self, expr: str, node: m.Node) -> bool:
        try:
            return self.datamodel.evaluate_bool(expr)
        except Exception as exc:
            raise self._as_execution_error(exc, node) from exc

    def _assign_value(self, location: str, value: Any, node: m.Node) -> None:
        try:
            self.datamodel.assign_value(location, value)
        except Exception as exc:
            raise self._as_execution_error(exc, node) from exc

    def _as_execution_error(self, exc: Exception, node: m.Node | None) -> ExecutionError:
        if isinstance(exc, ExecutionError):
            return exc
        name = getattr(exc, "name", None) if isinstance(exc, _js_error_type()) else None
        message = getattr(exc, "message", None) or str(exc)
        if name:
            message = f"{name}: {message}"
        line = node.line if node is not None else None
        js_line = getattr(exc, "line", None)
        if isinstance(node, m.Script) and line is not None and isinstance(js_line, int) and js_line > 0:
            # Script text starts on the <script> tag's line, so JS line N is source line + N - 1.
            line += js_line - 1
        return ExecutionError(message, "execution", name, line)

    def _error_from(self, exc: Exception, node: m.Node | None) -> None:
        self._error(self._as_execution_error(exc, node), node)

    def _error(self, err: ExecutionError, node: m.Node | None, sendid: str | None = None) -> None:
        """Record the failure and put error.<kind> on the internal queue (W3C 5.10)."""
        name = self.profile.error_event_name(err.kind, err.js_error)
        line = err.line if err.line is not None else (node.line if node is not None else None)
        file = node.file if node is not None else self.model.entry
        self._emit("error", {"kind": err.kind, "event": name, "message": err.message, "file": file, "line": line})
        data = {"message": err.message, "line": line, "file": file}
        self._raise(Event(name, data, "platform", sendid=sendid or getattr(err, "sendid", None)))

    def _in(self, state_id: Any) -> bool:
        return isinstance(state_id, str) and self.model.states_by_id.get(state_id) in self.configuration

    def _ioprocessors(self) -> dict:
        http = {"location": BASICHTTP_BASE + self.sessionid}
        processors = {
            SCXML_IO: {"location": self.location},
            "scxml": {"location": self.location},
            BASICHTTP_IO: http,
            "basichttp": http,
        }
        for name in self.profile.io_processors:
            processors.setdefault(name, {"location": self.location})
        return processors

    def _parent_id(self) -> str | None:
        return self.parent.sessionid if self.parent is not None else None

    def done_data(self, state: m.State) -> Any:
        """Evaluate <donedata> (W3C 5.7); errors give error.execution and empty data."""
        donedata = state.donedata
        if donedata is None:
            return None
        try:
            if donedata.content is not None:
                return self._content_value(donedata.content)
            return self._params(donedata.params, ()) if donedata.params else None
        except ExecutionError as err:
            self._error(err, donedata)
            return None

    # ---- executable content ------------------------------------------------------------------

    def execute_block(self, block: tuple) -> None:
        """Run actions in order; the first failure aborts the rest of the block (W3C 4.10)."""
        for action in block:
            try:
                self._EXECUTORS[type(action)](self, action)
            except ExecutionError as err:
                self._error(err, action, getattr(err, "sendid", None))
                return

    def _raise(self, event: Event) -> None:
        self.internal_queue.append(event)

    def _exec_raise(self, node: m.Raise) -> None:
        name = node.event if node.event is not None else str(self._evaluate(node.event_expr, node))
        if self.tracing:
            self._emit("raise", {"event": name, "file": node.file, "line": node.line})
        data = self._params(node.params, ()) if node.params else None
        self._raise(Event(name, data, "internal"))

    def _exec_log(self, node: m.Log) -> None:
        value = self._evaluate(node.expr, node) if node.expr is not None else None
        if self.tracing:
            record = {"label": node.label, "value": jsonable(value), "file": node.file, "line": node.line}
            if node.element is not None:
                record.update(self.profile.log_fields(node.element))  # e.g. ORS <log level>
            self._emit("log", record)

    def _exec_assign(self, node: m.Assign) -> None:
        dm = self.datamodel
        try:
            if node.expr is not None:
                dm.assign(node.location, node.expr)
            else:
                if not dm.is_valid_location(node.location):
                    raise ExecutionError(f"invalid location {node.location!r}", line=node.line)
                dm.assign_value(node.location, node.content.value if node.content is not None else None)
        except ExecutionError:
            raise
        except Exception as exc:
            raise self._as_execution_error(exc, node) from exc

    def _exec_script(self, node: m.Script) -> None:
        try:
            self.datamodel.execute(node.source)
        except Exception as exc:
            raise self._as_execution_error(exc, node) from exc

    def _exec_if(self, node: m.If) -> None:
        for cond, block in node.branches:
            if cond is None or self._evaluate_bool_strict(cond, node):
                self.execute_block(block)
                return

    def _exec_foreach(self, node: m.Foreach) -> None:
        dm = self.datamodel
        array = self._evaluate(node.array, node)
        if isinstance(array, dict):
            items = list(array.values())
        elif isinstance(array, (list, tuple)):
            items = list(array)
        else:
            raise ExecutionError(f"<foreach> array {node.array!r} is not iterable", line=node.line)
        for name in (node.item, node.index):
            if not name:
                continue
            if not dm.is_valid_location(name):
                raise ExecutionError(f"<foreach> {name!r} is not a valid location", line=node.line)
            try:
                dm.evaluate(name)
            except Exception:
                # W3C 4.6: a new variable is declared when `item`/`index` do not exist yet.
                try:
                    dm.declare(name.strip(), None)
                except Exception as exc:
                    raise self._as_execution_error(exc, node) from exc
        for index, item in enumerate(items):
            self._assign_value(node.item, item, node)
            if node.index:
                self._assign_value(node.index, index, node)
            for action in node.block:
                # A failure inside the body aborts the whole <foreach> (W3C 4.6).
                self._EXECUTORS[type(action)](self, action)

    def _exec_custom(self, node: m.Custom) -> None:
        try:
            node.handler.execute(ActionContext(self, node), node)
        except ExecutionError:
            raise
        except Exception as exc:
            raise self._as_execution_error(exc, node) from exc

    def _exec_cancel(self, node: m.Cancel) -> None:
        sendid = node.sendid if node.sendid is not None else str(self._evaluate(node.sendid_expr, node))
        if self.tracing:
            self._emit("cancel", {"sendid": sendid, "file": node.file, "line": node.line})
        timers = self._send_timers.pop(sendid, ())
        for timer in timers:
            self.group.clock.cancel(timer)
        for name, data in self.profile.cancel_events(sendid, bool(timers)):
            self._raise(Event(name, data, "platform"))

    # ---- <send> and event delivery -----------------------------------------------------------

    def _content_value(self, content: m.Content) -> Any:
        if content.expr is not None:
            return self._evaluate(content.expr, content)
        return content.value

    def _params(self, params: tuple, namelist: tuple) -> dict:
        data: dict[str, Any] = {}
        for name in namelist:
            try:
                data[name] = self.datamodel.evaluate(name)
            except Exception as exc:
                raise self._as_execution_error(exc, None) from exc
        for p in params:
            source = p.expr if p.expr is not None else p.location
            value = self._evaluate(source, p)
            if p.name in data:  # duplicate names keep every value (W3C 5.7 / test178)
                previous = data[p.name]
                data[p.name] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                data[p.name] = value
        return data

    def _exec_send(self, node: m.Send) -> None:
        sendid = node.id
        if sendid is None:
            self._send_counter += 1
            sendid = f"send.{self._send_counter}.{node.line}"
            if node.idlocation is not None:
                self._assign_value(node.idlocation, sendid, node)
        try:
            event = node.event if node.event is not None else None
            if node.event_expr is not None:
                event = str(self._evaluate(node.event_expr, node))
            target = node.target if node.target is not None else None
            if node.target_expr is not None:
                target = str(self._evaluate(node.target_expr, node))
            type_ = node.type if node.type is not None else None
            if node.type_expr is not None:
                type_ = str(self._evaluate(node.type_expr, node))
            delay = 0.0
            if node.delay is not None or node.delay_expr is not None:
                raw = node.delay if node.delay is not None else self._evaluate(node.delay_expr, node)
                parsed = parse_duration(raw)
                if parsed is None:
                    raise ExecutionError(f"invalid delay {raw!r}", line=node.line)
                delay = parsed
            if node.content is not None:
                data = self._content_value(node.content)
            elif node.params or node.namelist:
                data = self._params(node.params, node.namelist)
            else:
                data = None
        except ExecutionError as err:
            err.sendid = sendid
            raise
        if self.tracing:
            self._emit(
                "send",
                {
                    "event": event,
                    "sendid": sendid,
                    "target": target,
                    "io_type": type_,
                    "delay": delay,
                    "data": jsonable(data),
                    "file": node.file,
                    "line": node.line,
                },
            )
        # _event.sendid is only set when the author gave an id (W3C 5.10.1, test333).
        self.dispatch(event, target, type_, sendid, delay, data, node, node.id)

    def dispatch(
        self,
        event: str | None,
        target: str | None,
        type_: str | None,
        sendid: str,
        delay: float,
        data: Any,
        node: m.Node | None,
        event_sendid: str | None = None,
    ) -> None:
        """Hand an evaluated <send> to the SCXML I/O processor or a profile I/O processor."""
        if target:
            target = self.profile.send_target(target)  # dialect spellings (ORS `_internal`)
        if type_ in BASICHTTP_TYPES and type_ not in self.profile.io_processors:
            self._send_basichttp(event, target, sendid, delay, data, node)
            return
        if type_ not in SCXML_TYPES:
            processor = self.profile.io_processors.get(type_)
            if processor is None:
                err = ExecutionError(f"unsupported send type {type_!r}", "execution", line=node.line if node else None)
                err.sendid = sendid
                raise err
            request = {"event": event, "target": target, "type": type_, "sendid": sendid, "delay": delay, "data": data}
            processor.send(ActionContext(self, node), request)
            return
        ev = Event(event or "", data, "external", event_sendid, self.location, SCXML_IO, None)
        if target is None or target == "":
            self._deliver_later(self, ev, delay, sendid)
            return
        if target == "#_internal":
            ev.type = "internal"
            self._raise(ev)
            return
        if target == "#_parent":
            if self.parent is None:
                self._communication_error(f"no parent session for target {target!r}", node, sendid)
                return
            ev.invokeid = self.invokeid
            self._deliver_later(self.parent, ev, delay, sendid)
            return
        if target.startswith("#_scxml_"):
            other = self.group.sessions.get(target[len("#_scxml_") :])
            if other is None or not other.running:
                self._communication_error(f"no session {target!r}", node, sendid)
                return
            self._deliver_later(other, ev, delay, sendid)
            return
        if target.startswith("#_"):
            invocation = self.invocations.get(target[2:])
            if invocation is None or not invocation[1].running:
                self._communication_error(f"no invoked session {target!r}", node, sendid)
                return
            self._deliver_later(invocation[1], ev, delay, sendid)
            return
        err = ExecutionError(f"unsupported send target {target!r}", "execution", line=node.line if node else None)
        err.sendid = sendid
        raise err

    def _send_basichttp(
        self, event: str | None, target: str | None, sendid: str, delay: float, data: Any, node: m.Node | None
    ) -> None:
        """W3C C.2 BasicHTTP, as an in-process loopback: the request is built and parsed as HTTP
        would carry it (`_event.raw`, form fields, `_scxmleventname`), but only sessions of this
        group are reachable; any other URL is error.communication (simulations never touch the
        network)."""
        if not target:
            self._communication_error("BasicHTTP <send> needs a target URL", node, sendid)
            return
        receiver = None
        if target.startswith(BASICHTTP_BASE):
            receiver = self.group.sessions.get(target[len(BASICHTTP_BASE) :])
        if receiver is None or not receiver.running:
            self._communication_error(f"BasicHTTP target {target!r} is not reachable", node, sendid)
            return
        content = isinstance(node, m.Send) and node.content is not None
        if content:
            body = urllib.parse.quote(data if isinstance(data, str) else json.dumps(data))
        else:
            fields = [("_scxmleventname", event)] if event else []
            for key, value in (data or {}).items() if isinstance(data, dict) else ():
                fields.append((key, value if isinstance(value, str) else json.dumps(value)))
            body = urllib.parse.urlencode(fields)
        path = target[len("http://localhost") :]
        raw = (
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
        )
        # The receiving side: parse the request as an HTTP server would.
        name, payload = "HTTP.POST", None
        if content:
            payload = urllib.parse.unquote(body)
        else:
            parsed = urllib.parse.parse_qsl(body, keep_blank_values=True)
            values = {}
            for key, value in parsed:
                if key == "_scxmleventname":
                    name = value
                else:
                    try:
                        values[key] = json.loads(value)
                    except ValueError:
                        values[key] = value
            payload = values or None
        ev = Event(name, payload, "external", None, BASICHTTP_BASE + self.sessionid, BASICHTTP_IO, None)
        ev.raw = raw
        self._deliver_later(receiver, ev, delay, sendid)

    def _communication_error(self, message: str, node: m.Node | None, sendid: str) -> None:
        self._error(ExecutionError(message, "communication", None, node.line if node else None), node, sendid)

    def _deliver_later(self, target: Session, event: Event, delay: float, sendid: str | None) -> Timer | None:
        """Deliver now (delay 0) or schedule on the group clock; returns the timer if any."""
        if delay <= 0:
            target._receive(self, event)
            return None

        def fire() -> None:
            timers = self._send_timers.get(sendid or "")
            if timers is not None and timer in timers:
                timers.remove(timer)
                if not timers:
                    del self._send_timers[sendid or ""]
            if self.running:
                target._receive(self, event)

        timer = self.group.clock.schedule(delay, fire, key=self.sessionid)
        self._send_timers.setdefault(sendid or "", []).append(timer)
        return timer

    def _receive(self, sender: Session, event: Event) -> None:
        if not self.running and self.status != "created":
            return
        if sender.parent is self and sender is not self:
            self._deliver_from_child(sender, event)
        else:
            self.external_queue.append(event)

    def _deliver_from_child(self, child: Session, event: Event) -> None:
        """Events from a cancelled invocation are discarded (W3C 6.4.3)."""
        invocation = self.invocations.get(child.invokeid or "")
        if invocation is not None and invocation[1] is child and self.running:
            self.external_queue.append(event)

    def _cancel_all_timers(self) -> None:
        for timers in self._send_timers.values():
            for timer in timers:
                self.group.clock.cancel(timer)
        self._send_timers.clear()
        for timer in self._timers:
            self.group.clock.cancel(timer)
        self._timers.clear()

    # ---- <invoke> ----------------------------------------------------------------------------

    def invoke(self, inv: m.Invoke) -> None:
        """Start an invoked SCXML session on the same group and clock (W3C 6.4)."""
        try:
            type_ = inv.type if inv.type is not None else None
            if inv.type_expr is not None:
                type_ = str(self._evaluate(inv.type_expr, inv))
            if inv.id is not None:
                invokeid = inv.id
            else:
                self._invoke_counter += 1
                invokeid = f"{inv.state.id}.{self.sessionid[:8]}{self._invoke_counter}"
                if inv.idlocation is not None:
                    self._assign_value(inv.idlocation, invokeid, inv)
            if type_ not in SCXML_TYPES:
                raise ExecutionError(f"unsupported invoke type {type_!r}", line=inv.line)
            child_model = inv.model
            if inv.src_expr is not None:
                src = str(self._evaluate(inv.src_expr, inv))
                child_model = self._model_for_src(src, inv)
            elif inv.content is not None and inv.model is None:
                text = self._content_value(inv.content)
                if type(text).__name__ == "XMLValue":
                    text = jsonable(text)
                if not isinstance(text, str):
                    raise ExecutionError("<invoke> content is not an SCXML document", line=inv.line)
                if re.match(r"\s*<scxml[\s>]", text) and "xmlns=" not in text.split(">", 1)[0]:
                    # XML held in the datamodel loses the inherited default namespace declaration.
                    text = text.replace("<scxml", f'<scxml xmlns="{m.SCXML_NS}"', 1)
                child_model = m.model_from_string(
                    text, f"{self.model.entry}#invoke-{invokeid}", self.profile, self.model.loaded.project
                )
            if child_model is None:
                raise ExecutionError("<invoke> has no document to run", line=inv.line)
            if child_model.errors:
                raise ExecutionError(f"invoked document is invalid: {child_model.errors[0]}", line=inv.line)
            data = self._params(inv.params, inv.namelist) if (inv.params or inv.namelist) else None
        except ExecutionError as err:
            self._error(err, inv)
            return
        child = self.group.create_session(
            child_model,
            parent=self,
            invokeid=invokeid,
            initial_data=data,
            memory_limit=self.memory_limit,
            time_limit=self.time_limit,
            max_microsteps=self.max_microsteps,
            trace_datamodel=self.trace_datamodel,
        )
        self.invocations[invokeid] = (inv, child)
        self._emit("invoke", {"id": invokeid, "child": child.sessionid, "file": inv.file, "line": inv.line})
        child.start()

    def _model_for_src(self, src: str, inv: m.Invoke) -> m.Model:
        path = resolve_href(inv.file or self.model.entry, src)
        project = self.model.loaded.project
        if path is None or path not in project:
            raise ExecutionError(f"invoke src {src!r} is not a file of this project", line=inv.line)
        return m.get_model(project, path, self.profile)

    def cancel_invoke(self, inv: m.Invoke) -> None:
        """Cancel the sessions `inv` started when its state exits (W3C 6.4.3)."""
        for invokeid, (node, child) in list(self.invocations.items()):
            if node is inv:
                del self.invocations[invokeid]
                child.cancel()
                self.group.sessions.pop(child.sessionid, None)
                if child.datamodel is not None:
                    child.datamodel.close()

    def _atomic_states(self) -> tuple[m.State, ...]:
        atomic = self._atomic
        if atomic is None:
            atomic = self._atomic = tuple(sorted((s for s in self.configuration if s.is_atomic), key=_order))
        return atomic

    def close(self) -> None:
        """Release the JS runtime (sessions are also released when garbage-collected)."""
        self._cancel_all_timers()
        if self.datamodel is not None:
            self.datamodel.close()
            self.datamodel = None
        self.group.sessions.pop(self.sessionid, None)

    _EXECUTORS: dict = {}


def _order(state: m.State) -> int:
    return state.order


def _transition_record(t: m.Transition) -> dict:
    return {
        "id": t.id,
        "source": t.source.id,
        "targets": [s.id for s in t.targets],
        "event": " ".join(t.events) or None,
        "file": t.file,
        "line": t.line,
    }


Session._EXECUTORS = {
    m.Raise: Session._exec_raise,
    m.Send: Session._exec_send,
    m.Cancel: Session._exec_cancel,
    m.Log: Session._exec_log,
    m.Assign: Session._exec_assign,
    m.Script: Session._exec_script,
    m.If: Session._exec_if,
    m.Foreach: Session._exec_foreach,
    m.Custom: Session._exec_custom,
}
