"""A session's state and public face; `interpreter.Session` adds the W3C algorithm on top.

`SessionBase` holds what the algorithm works on (configuration, queues, history values, the
datamodel) and what callers use between steps: `inject`, `run`, `pause`/`resume`, `snapshot`,
`attach`/`detach`, `configuration_ids`, `close`. It composes the parts the algorithm calls out
to: `content` (executable content, executable.py), `io` (event I/O processors and delivery,
ioprocessors.py) and `invoker` (`<invoke>`, invoke.py). Trace records are typed (trace.py) and
leave a session only through `emit`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import model as m
from .clock import Timer
from .errors import DocumentError
from .events import Event
from .executable import ExecutableContent
from .invoke import Invoker
from .ioprocessors import IOProcessors
from .jsonpatch import diff_variables
from .plan import Configuration
from .steps import MacroStep
from .trace import OMIT, DatamodelRecord, ErrorRecord, Listener, Record, jsonable, macrostep_record, record_fields

if TYPE_CHECKING:
    from .group import SessionGroup

MAX_MICROSTEPS = 10_000


def _order(state: m.State) -> int:
    return state.order


class SessionBase:
    """State and public API of one running SCXML document (see interpreter.py for the API)."""

    #: the parts that refer back to the session, let go of by `dispose` (mypyc: deletable)
    __deletable__ = ("content", "io", "invoker")

    def __init__(
        self,
        model: m.Model,
        group: SessionGroup,
        parent: SessionBase | None = None,
        invokeid: str | None = None,
        initial_data: dict[str, Any] | None = None,
        memory_limit: int = 64 * 1024 * 1024,
        time_limit: float = 1.0,
        max_microsteps: int = MAX_MICROSTEPS,
        trace_datamodel: bool = True,
    ):
        if model.errors:
            raise DocumentError(model.errors)
        self.model = model
        assert model.root is not None  # a model without errors has its <scxml> root
        self.root: m.State = model.root
        self.plan = model.plan
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
        # The configuration as a plan node (its atomic states); None while it is being changed.
        self._config: Configuration | None = self.plan.configuration(())
        self.states_to_invoke: set[m.State] = set()
        # The event queues, made on first use (None: empty): an empty deque is 760 bytes (CPython
        # allocates its first 64-slot block at once), a fifth of an idle session's Python objects.
        # `internal_queue`/`external_queue` make them; the algorithm reads these.
        self._internal: deque[Event] | None = None
        self._external: deque[Event] | None = None
        self.history_value: dict[str, list[m.State]] = {}
        self.first_entry_done: set[m.State] = set()
        self.running = False
        self.status = "created"
        self.final_state: str | None = None
        self.paused = False
        self.events_processed = 0
        self.errors: list[dict[str, Any]] = []
        self.listeners: list[Listener] = []
        #: pending timers of profile handlers (ActionContext.schedule; a timer leaves once done)
        self._timers: dict[Timer, None] = {}
        self._current: MacroStep | None = None  # the macrostep being recorded (only when tracing)
        #: the variables' parsed values at the last `datamodel` record (None: the next one starts
        #: afresh; the datamodel keeps their JSON texts to name what changed)
        self._last_values: dict[str, Any] | None = None
        #: the last reading of the variables failed (a limit): the next one reads them all again
        self._values_unread = False
        #: the sizes the `datamodel` records' diffs measured, shared with a reader that diffs the
        #: same values again (the simulator's frames); None: not kept
        self.value_sizes: dict[str, tuple[Any, bool]] | None = None
        self._microsteps = 0
        #: the configuration when the session ended (exit_interpreter empties `configuration`)
        self.final_configuration: list[str] = []
        self.location = "#_scxml_" + self.sessionid
        #: what the profile keeps per session (ORS: its platform); compiled sessions take no
        #: attributes beyond those declared here
        self.profile_state: Any = None
        self.content = ExecutableContent(self)
        self.io = IOProcessors(self)
        self.invoker = Invoker(self)

    # ---- tracing ----------------------------------------------------------------------------

    def attach(self, listener: Listener) -> None:
        """Receive every record this session emits."""
        self.listeners.append(listener)

    def detach(self, listener: Listener) -> None:
        self.listeners.remove(listener)

    @property
    def tracing(self) -> bool:
        return bool(self.listeners) or bool(self.group.tracer.listeners)

    def emit(self, record: Record) -> None:
        """Hand a record to the group's tracer (errors are also kept in `errors`)."""
        tracing = self.tracing
        if isinstance(record, ErrorRecord):
            fields = record_fields(record)
            if tracing and self.invokeid is not None:
                fields["invokeid"] = self.invokeid
            self.errors.append(fields)
            if tracing:
                self.group.tracer.emit(record, self.sessionid, self.invokeid, self.listeners, fields)
            return
        if tracing:
            self.group.tracer.emit(record, self.sessionid, self.invokeid, self.listeners)

    # ---- public API between steps -----------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True when a run loop should call step_macrostep() (started, not paused, has work)."""
        return self.running and not self.paused and bool(self._external or self._internal)

    @property
    def internal_queue(self) -> deque[Event]:
        """The internal event queue (W3C), oldest first."""
        queue = self._internal
        if queue is None:
            queue = self._internal = deque()
        return queue

    @property
    def external_queue(self) -> deque[Event]:
        """The external event queue (W3C), oldest first."""
        queue = self._external
        if queue is None:
            queue = self._external = deque()
        return queue

    @property
    def invocations(self) -> dict[str, tuple[m.Invoke, SessionBase]]:
        """Running invocations: invokeid -> (the <invoke>, the child session)."""
        return self.invoker.invocations

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
            self.io.deliver_later(self, event, delay, None)
        else:
            self.external_queue.append(event)

    # The algorithm (interpreter.Session) provides these.
    def start(self) -> None:
        raise NotImplementedError

    def step_macrostep(self) -> bool:
        raise NotImplementedError

    def cancel(self) -> None:
        raise NotImplementedError

    def run(self, until: Callable[[Any], bool] | None = None, max_macrosteps: int = 1_000_000) -> int:
        """Run macrosteps until idle, stopped, paused, `until(self)` holds or the cap is hit."""
        count = 0
        if self.status == "created":
            self.step_macrostep()
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

    def snapshot(self) -> dict[str, Any]:
        """Configuration, datamodel, queues and timers as JSON-safe data."""
        return {
            "session": self.sessionid,
            "status": self.status,
            "configuration": self.configuration_ids,
            "datamodel": jsonable(self.datamodel.snapshot()) if self.datamodel is not None else {},
            "internal_queue": [e.as_dict() for e in self.internal_queue],
            "external_queue": [e.as_dict() for e in self.external_queue],
            "timers": self.io.pending_sends(),
            "history": {k: [s.id for s in v] for k, v in sorted(self.history_value.items())},
            "invocations": sorted(self.invocations),
            "time": self.group.clock.now,
            "events": self.events_processed,
        }

    def cancel_all_timers(self) -> None:
        self.io.cancel_all()
        for timer in list(self._timers):
            self.group.clock.cancel(timer)
        self._timers.clear()

    def close(self) -> None:
        """Release the JS runtime and the last traced datamodel copy (sessions are also released
        when garbage-collected, but they sit in reference cycles that only a full collection frees)."""
        self.cancel_all_timers()
        if self.datamodel is not None:
            self.datamodel.close()
            self.datamodel = None
        self._last_values = None
        self._values_unread = False
        self.group.sessions.pop(self.sessionid, None)

    def dispose(self) -> None:
        """close(), then let go of the parts that refer back to the session (executable content,
        I/O processors, invoker, the profile's state): a finished run's ~100 objects are then
        freed by reference counting, not left as cycles that only a full collection frees (the
        open loop restarts ~30 calls a second). The session is unusable after: its parts are
        gone, and any use of them raises AttributeError rather than acting on a dead run."""
        self.close()
        del self.content, self.io, self.invoker
        self.profile.release_state(self)

    def record_macrostep(self, step: MacroStep) -> None:
        """Trace a finished macrostep, then the datamodel variables it changed."""
        if not self.tracing:
            return
        self.emit(macrostep_record(step, self.configuration_ids))
        self.record_datamodel()

    def record_datamodel(self) -> None:
        """Trace the user variables changed since the last `datamodel` record (after a macrostep,
        or after a debugger's evaluation changed them)."""
        if self.tracing and self.trace_datamodel and self.datamodel is not None:
            last = self._last_values
            unread = self._values_unread
            try:
                # Only the variables whose JSON text changed cross (the datamodel compares the texts).
                fresh, gone = self.datamodel.changes(reset=last is None or unread)
            except Exception as exc:  # the memory or time limit while reading them (a getter's own
                # throw is a value): said once, and the record that next reads them has every
                # change since the last one, never variables "removed" because unread
                if not unread:
                    message = f"the variables could not be read for the trace: {exc}"
                    self.emit(ErrorRecord("datamodel", None, message, None, None))
                self._values_unread = True
                return
            if unread and last is not None:  # read afresh: gone is what the last record had
                gone = [name for name in last if name not in fresh]
            self._values_unread = False
            self._last_values = {} if last is None else last
            last = last or {}
            # The unchanged variables keep the parsed values of the last record: nothing mutates
            # them (the diff and the records' readers only read, `jsonpatch.apply` copies).
            old = {name: last[name] for name in gone}
            old.update((name, last[name]) for name in fresh if name in last)
            changed, removed, patches = diff_variables(old, fresh, self.value_sizes)
            if changed or removed or patches:
                self.emit(DatamodelRecord(changed, removed, patches or OMIT))
            if self._last_values is not None:
                for name in gone:
                    del self._last_values[name]
                self._last_values.update(fresh)

    # ---- helpers of the algorithm -----------------------------------------------------------

    def _configuration_node(self) -> Configuration:
        """The plan's node of the current configuration (keyed by its atomic states)."""
        atomic = tuple(sorted((s for s in self.configuration if s.is_atomic), key=_order))
        node = self._config = self.plan.configuration(atomic)
        return node

    def raise_event(self, event: Event) -> None:
        """Put an event on the internal queue."""
        self.internal_queue.append(event)

    def in_state(self, state_id: Any) -> bool:
        """The `In()` predicate (W3C 5.9.1)."""
        return isinstance(state_id, str) and self.model.states_by_id.get(state_id) in self.configuration

    def set_event(self, event: Event) -> None:
        """Bind `_event` (W3C 5.10)."""
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
