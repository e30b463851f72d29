"""The one way to drive a simulation: a root session and its group on the virtual clock.

Every runner goes through a :class:`Driver`: the headless CLI (``headless``), scenarios, batches
and the simulator page's live runtime (``simulator.sessions``). It owns the session group, applies
the :class:`~simulator.runners.limits.Limits`, and offers the ways a run moves on:

``step(unit)``
    One ``"micro"`` step, one ``"macro"`` step (firing the next timer when nothing is queued) or
    the next ``"timer"``; returns whether anything happened.
``advance(seconds)`` / ``advance_until(limit, done=None)``
    Process events and timers in time order for a while, or until ``done()`` holds.
``run_until_idle(max_time=None)``
    Everything queued and every timer, until nothing is left or a limit is reached.
``summary()`` / ``snapshot()``
    The run's summary record (``type: done``) and the live state the simulator page shows.

:class:`OrsRun` is a driver of a Composer project with a fakes profile: it adds the fake ORS
platform (pending requests, answers, platform events) and the ORS outcome to the summary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from simulator.ors.dialect import ORS
from simulator.ors.fakes import FakesProfile, load_fakes
from simulator.ors.platform import OrsPlatform, platform_of, use_fakes
from simulator.ors.project import find_entry
from simulator.ors.report import run_report
from simulator.scxml.errors import DocumentError
from simulator.scxml.interpreter import Session, SessionGroup
from simulator.scxml.model import Model, get_model
from simulator.scxml.profile import Profile
from simulator.scxml.trace import jsonable

from .limits import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:
    from simulator.scxml.datamodel import RuntimePool

STEP_UNITS = ("micro", "macro", "timer")
#: timers (and macrosteps per drain) one `advance_until` may go through before it gives up on a
#: strategy that keeps itself busy (a timer loop would otherwise make it run for ever)
MAX_STEP_WORK = 100_000


class Driver:
    """One run of `model` (see the module docstring)."""

    def __init__(
        self,
        model: Model,
        project: Any,
        profile: Profile,
        seed: int = 0,
        limits: Limits = DEFAULT_LIMITS,
        trace: bool = False,
        trace_datamodel: bool = True,
        runtimes: RuntimePool | None = None,
    ) -> None:
        if model.errors:
            raise DocumentError(model.errors)
        self.model = model
        self.profile = profile
        self.limits = limits
        # `runtimes`: JS runtimes shared with other runs of the same user's work (a batch)
        self.group = SessionGroup(seed=seed, profile=profile, project=project, runtimes=runtimes)
        #: every trace record, when the driver was built with `trace=True`
        self.records: list[dict[str, Any]] = []
        if trace:
            self.group.listeners.append(self.records.append)
        self.session: Session = self.group.create_session(
            model, trace_datamodel=trace_datamodel, **limits.session_options()
        )
        #: the last `run_until_idle` verdict ("idle" or "limit"), None before any
        self.verdict: str | None = None

    @property
    def clock(self) -> Any:
        return self.group.clock

    @property
    def now(self) -> float:
        return float(self.group.clock.now)

    @property
    def finished(self) -> bool:
        """The root session ended (final, error or cancelled)."""
        return self.session.status not in ("created", "running")

    def start(self) -> Driver:
        """Start the root session (initial configuration; start events are queued)."""
        if self.session.status == "created":
            self.session.start()
        return self

    def close(self) -> None:
        """Free the JavaScript contexts of every session of the run, and the run's objects (see
        SessionGroup.close)."""
        self.group.close()

    # ---- moving on ----------------------------------------------------------------------------

    def busy_session(self) -> Session | None:
        """The session with queued work: the root first, then invoked children."""
        if self.session.ready:
            return self.session
        return next((s for s in self.group.sessions.values() if s.ready and isinstance(s, Session)), None)

    def step(self, unit: str) -> bool:
        """One step of `unit` (see the module docstring); False when nothing could happen."""
        group = self.group
        root = self.session
        if unit == "timer":
            before = group.tracer.seq
            return group.step_timer() or group.tracer.seq != before
        if not root.running and not group.busy():
            return False
        if unit == "macro":
            session = self.busy_session()
            if session is None:
                if not group.clock.advance_to_next():
                    return False
                session = self.busy_session()
                if session is None:
                    return True
            session.step_macrostep()
            return True
        if unit != "micro":
            raise ValueError(f"unknown step unit {unit!r} (use {', '.join(STEP_UNITS)})")
        # continue the current macrostep, or take the next event (firing a timer if needed)
        session = self.busy_session() or root
        if session.step_microstep():
            return True
        if not group.clock.advance_to_next():
            return False
        session = self.busy_session() or root
        session.step_microstep()
        return True

    def advance(self, seconds: float) -> None:
        """Move virtual time forward by `seconds`, processing events as timers fire in order."""
        self.group.advance(float(seconds))

    def advance_until(self, limit: float, done: Callable[[], bool] | None = None, max_work: int = MAX_STEP_WORK) -> str:
        """Process events and timers in time order until `done()` holds or virtual time `limit`.

        Returns ``"done"``, ``"limit"`` (the next timer lies beyond `limit`; without `done` the
        clock then shows `limit`), ``"ended"`` (the session ended first) or ``"busy"``
        (`max_work` timers went by).
        """
        group = self.group
        group.drain(max_work)
        for _ in range(max_work):
            if done is not None and done():
                return "done"
            if done is not None and not self.session.running:
                return "ended"
            due = group.clock.next_due()
            if due is None or due > limit:
                if done is None and limit > group.clock.now:
                    group.clock.advance(limit - group.clock.now)
                return "limit"
            group.clock.advance_to_next()
            group.drain(max_work)
        return "busy"

    def run_until_idle(self, max_time: float | None = None, max_macrosteps: int | None = None) -> str:
        """Start if needed, then run until nothing is left ("idle") or a limit ("limit")."""
        self.start()
        budget = self.limits.max_macrosteps if max_macrosteps is None else max_macrosteps
        self.verdict = self.group.run_until_idle(max_time=max_time, max_macrosteps=budget)
        return self.verdict

    # ---- what the run shows -------------------------------------------------------------------

    @property
    def status(self) -> str:
        """The session's status, with "idle" / "limit" for a running session a run left there."""
        status = self.session.status
        if status == "running" and self.verdict is not None:
            return self.verdict
        return status

    def configuration(self) -> list[str]:
        """Active states (the configuration the session ended in, once it ended)."""
        session = self.session
        return session.configuration_ids if session.running else list(session.final_configuration)

    def errors(self) -> list[dict[str, Any]]:
        """Runtime error records of every session of the run, the root session's first."""
        sessions = [self.session, *(s for s in self.group.sessions.values() if s is not self.session)]
        return [{k: jsonable(v) for k, v in e.items()} for s in sessions for e in s.errors]

    def summary(self) -> dict[str, Any]:
        """The run's summary record: ``{"type": "done", "status", "final_state", "configuration",
        "events", "virtual_time", "errors"}`` (``OrsRun`` adds ``outcome`` and ``requests``)."""
        return {
            "type": "done",
            "status": self.status,
            "final_state": self.session.final_state,
            "configuration": self.configuration(),
            "events": sum(s.events_processed for s in self.group.sessions.values()),
            "virtual_time": self.now,
            "errors": self.errors(),
        }

    def snapshot(self, datamodel: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The live state: status, configuration, datamodel (`datamodel` when the caller keeps it
        up to date from the trace, else read from the session), queues, timers and time."""
        session = self.session
        clock = self.group.clock
        if datamodel is None:
            datamodel = jsonable(session.datamodel.snapshot()) if session.datamodel is not None else {}
        return {
            "status": session.status,
            "final_state": session.final_state,
            "configuration": session.configuration_ids or list(session.final_configuration or []),
            "datamodel": dict(datamodel),
            "time": clock.now,
            "next_timer": clock.next_due(),
            "timers": [{"due": t.due} for t in clock.pending()],
            "internal_queue": [e.as_dict() for e in session.internal_queue],
            "external_queue": [e.as_dict() for e in session.external_queue],
        }


def definition_error_summary(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary record of a document that could not run (its definition errors)."""
    return {
        "type": "done",
        "status": "error",
        "final_state": None,
        "configuration": [],
        "events": 0,
        "virtual_time": 0.0,
        "errors": errors,
        "definition_errors": errors,
    }


class OrsRun(Driver):
    """A driver of a Composer project's `entry` (default: its IPD) with a fakes profile.

    `fakes` is a loaded ``FakesProfile`` (used as it is: rules count their uses, so one profile
    serves one run), JSON data, or None for the defaults. `model` skips the model cache lookup
    when the caller holds the compiled model already (batches); `runtimes` shares JS runtimes
    with the other runs of one batch (see `RuntimePool`).
    """

    def __init__(
        self,
        files: Mapping[str, bytes],
        entry: str | None = None,
        fakes: FakesProfile | Mapping[str, Any] | str | None = None,
        seed: int = 0,
        trace: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        trace_datamodel: bool = True,
        model: Model | None = None,
        runtimes: RuntimePool | None = None,
    ) -> None:
        self.files = files
        self.entry = entry or find_entry(files)
        self.fakes = (
            fakes
            if isinstance(fakes, FakesProfile)
            else load_fakes(dict(fakes) if isinstance(fakes, Mapping) else fakes)
        )
        super().__init__(
            model if model is not None else get_model(files, self.entry, ORS),
            files,
            ORS,
            seed=seed,
            limits=limits,
            trace=trace,
            trace_datamodel=trace_datamodel,
            runtimes=runtimes,
        )
        use_fakes(self.group, self.fakes)  # before the session starts: its platform reads them

    @property
    def platform(self) -> OrsPlatform:
        """The fake platform of the session (exists once the session started)."""
        platform = platform_of(self.session)
        if platform is None:
            raise RuntimeError("the session has not started")
        return platform

    def set_fakes(self, fakes: FakesProfile) -> None:
        """Answer the requests from now on with another fakes profile."""
        self.fakes = fakes
        use_fakes(self.group, fakes)  # every session of the run

    def pending_requests(self) -> list[dict[str, Any]]:
        """The extension requests waiting for an answer (JSON view)."""
        return [r.to_json() for r in self.platform.pending_requests()]

    def respond(self, request_id: str, events: list[dict[str, Any]]) -> None:
        """Answer a pending (e.g. manual) request with events ``[{name, data?, delay?}]``."""
        self.platform.respond(request_id, events)

    def inject(self, name: str, data: dict[str, Any] | None = None, delay: float = 0.0, source: str = "user") -> None:
        """Queue an unsolicited platform event (``hangup``/``abandon`` shortcuts included)."""
        self.platform.inject(name, data or {}, delay, source=source)

    def run(self, max_time: float | None = 3600.0, max_macrosteps: int | None = None) -> str:
        """`run_until_idle` with a virtual-time limit of an hour by default."""
        return self.run_until_idle(max_time=max_time, max_macrosteps=max_macrosteps)

    def summary(self, requests: bool = True) -> dict[str, Any]:
        """The driver's summary with the ORS ``outcome`` and (`requests`) every request with its result."""
        return {**super().summary(), **run_report(self.session, requests)}

    def snapshot(self, datamodel: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The driver's snapshot with the interactions, pending and all requests, and the outcome."""
        platform = platform_of(self.session)
        report = run_report(self.session)
        return {
            **super().snapshot(datamodel),
            "interactions": jsonable(platform.interactions) if platform else {},
            "pending": jsonable([r.to_json() for r in platform.pending()]) if platform else [],
            "requests": report["requests"],
            "outcome": report["outcome"],
        }
