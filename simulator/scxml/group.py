"""A session group: the sessions of one simulation (a root session and the sessions it invokes)
sharing one clock, one trace numbering and one seeded random source (for session ids)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from mypy_extensions import mypyc_attr

from . import model as m
from .clock import Clock
from .profile import W3C, Profile
from .trace import ClockRecord, Listener, Tracer

if TYPE_CHECKING:
    from .datamodel import RuntimePool
    from .interpreter import Session
    from .session import SessionBase


@cache
def _interpreter_module() -> ModuleType:
    # imported on first use (the interpreter module imports this one), then kept: an import
    # statement run for every session cost ~10k instructions, 1.3% of a pingpong session's creation
    from . import interpreter

    return interpreter


@mypyc_attr(native_class=False)  # weakly referenced (the ORS platform's fakes by run)
class SessionGroup:
    """Sessions sharing one clock and one trace numbering (a root session and its invokes)."""

    def __init__(
        self,
        seed: int = 0,
        wall_clock: bool = False,
        profile: Profile = W3C,
        project: Any = None,
        runtimes: RuntimePool | None = None,
    ):
        #: the JS runtimes this group's sessions share (`runtimes`: given by a caller whose groups
        #: are all one user's work, e.g. a batch; else the group's own, created on first use)
        self._runtimes = runtimes
        self.clock = Clock(wall=wall_clock)
        self.tracer = Tracer(self.clock)
        self.seed = seed
        self._rng: random.Random | None = None  # see new_session_id
        self._ids = 0  # session ids drawn so far
        self.profile = profile
        self.project = project
        self.sessions: dict[str, SessionBase] = {}
        self.clock.listeners.append(self._on_clock)
        #: asked before each macrostep of `drain` (and so of advance/step_timer/run_until_idle):
        #: True stops the work there, between macrosteps, and sets `interrupted` (the caller's
        #: bound on one operation, e.g. a time budget; None: never)
        self.interrupt: Callable[[], bool] | None = None
        self.interrupted = False

    @property
    def listeners(self) -> list[Listener]:
        return self.tracer.listeners

    def _on_clock(self, old: float, new: float) -> None:
        if self.tracer.listeners:
            self.tracer.emit(ClockRecord(old, new), None)

    def close(self) -> None:
        """Dispose of every session (SessionBase.dispose) and take the group's own listener off
        the clock: the run's objects are freed by reference counting (the clock's listener, a
        bound method of the group, made a cycle of the two)."""
        for session in list(self.sessions.values()):
            with contextlib.suppress(Exception):  # closing must never fail the caller
                session.dispose()
        self.clock.listeners.clear()

    def js_runtimes(self) -> RuntimePool:
        """The pool of JS runtimes of this group's ECMAScript sessions (see `RuntimePool`)."""
        if self._runtimes is None:
            from .datamodel import RuntimePool  # lazy: null-datamodel users need no JS engine

            self._runtimes = RuntimePool()
        return self._runtimes

    def new_session_id(self) -> str:
        """The next id of the seed's sequence (the same ids in any process). The generator (~2.9 KB
        of state) is made on demand and kept only by a group drawing a second id: most groups
        have one session, and thousands of them may wait at once."""
        rng = self._rng
        if rng is None:
            rng = random.Random(self.seed)
            for _ in range(self._ids):  # the ids drawn before (one, when it is kept)
                rng.getrandbits(128)
            if self._ids:
                self._rng = rng
        self._ids += 1
        return f"{rng.getrandbits(128):032x}"

    def create_session(
        self,
        model: m.Model,
        parent: SessionBase | None = None,
        invokeid: str | None = None,
        initial_data: dict[str, Any] | None = None,
        **options: Any,
    ) -> Session:
        """A new, not yet started session of `model` in this group."""
        session = _interpreter_module().Session(
            model, self, parent=parent, invokeid=invokeid, initial_data=initial_data, **options
        )
        self.sessions[session.sessionid] = session
        return session

    def busy(self) -> list[SessionBase]:
        return [s for s in list(self.sessions.values()) if s.ready]

    def drain(self, max_macrosteps: int | None = None) -> int:
        """Process queued events of every session (no clock movement); returns macrosteps run."""
        steps = 0
        progressed = True
        while progressed:
            progressed = False
            for session in list(self.sessions.values()):
                while session.ready:
                    if self.interrupt is not None and self.interrupt():
                        self.interrupted = True
                        return steps
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
            if self.interrupted:
                return "limit"
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
        if self.interrupted or not self.clock.advance_to_next():
            return self.interrupted
        self.drain()
        return True

    def advance(self, seconds: float) -> None:
        """Move virtual time forward by `seconds`, processing events as timers fire in order
        (when `interrupt` stops it, the clock stays at the last timer fired)."""
        target = self.clock.now + seconds
        self.drain()
        while not self.interrupted:
            due = self.clock.next_due()
            if due is None or due > target:
                self.clock.advance(target - self.clock.now)
                break
            self.clock.advance_to_next()
            self.drain()
