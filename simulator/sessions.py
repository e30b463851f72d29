"""Simulation sessions: live ORS simulations driven step by step, rebuilt anywhere by replay.

A simulation's state is never stored: it is rebuilt from its *recipe* — version files, entry,
fakes profile, seed — plus the **inputs log**, the list of operations the user applied, each
stamped with the trace sequence number reached after it (``seq``). Replaying the log gives the
same trace record for record (the engine and the fakes are deterministic), which gives three
features with one mechanism: reconnect/resume in any Daphne process, rewind ("go back to trace
record N" = replay the operations that ended at or before N), and restart (replay nothing).

Public API
----------
``SimulationRuntime(files, entry, fakes, seed, limits=None)``
    One live simulation (a ``simulator.runners.driver.OrsRun``; `limits` default to the
    settings'). ``apply(op)`` runs one validated operation and returns the new trace records;
    ``run_chunk(...)`` runs macrosteps for a ``run``; ``replay(inputs, upto=None)``,
    ``rewind(seq)``, ``restart()``; ``snapshot()`` is the JSON state shown by the page and
    ``frames()`` what changed since (``simulator.frames``: snapshot and delta frames);
    ``breakpoints`` (``Breakpoints``). Not thread-safe by itself: callers hold
    ``runtime.lock`` (``execute`` does).
``execute(runtime, fn, *args, user=None)``
    Awaitable: runs ``fn(*args)`` under the runtime's lock in the bounded worker pool, never on
    the event loop (the JS engine releases the GIL while JS runs, so simulations progress in
    parallel; the sessions of one simulation share a JS runtime and take turns).
    The pool is created on first use with ``SIMULATION_WORKERS`` threads (``pool()``) and is fair
    across users (``simulator.scheduling.FairPool``: per-user queues served in turn).
``registry``
    Process-wide ``Registry`` of live runtimes by simulation id, reference-counted by the
    websockets attached to them (``acquire``/``release``); ``open_simulations()`` counts them.
``version_files(version_id)`` / ``load_recipe(simulation)``
    Cached (versions are immutable) project files and the recipe of a ``Simulation`` row.

Operations (the inputs log, built by ``simulator.protocol.parse_op``; docs/simulation-protocol.md)::

    {"op": "step", "unit": "micro" | "macro" | "timer"}
    {"op": "inject", "kind": "event" | "hangup" | "abandon" | "party_changed" | "udata_changed",
     "event"?, "data"?, "delay"?}
    {"op": "respond", "request": "REQ00003", "events": [{"name", "data"?, "delay"?}]}
    {"op": "set_fakes", "fakes": {...}}
    {"op": "advance", "seconds": 2.5}
    {"op": "eval", "expression": "x + 1"}            the console (simulator.debugger)
    {"op": "set_variable", "name": "x", "value": 5}  an edit of a variable's value
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from orchweb_quickjs import untrack_data

from simulator import debugger, memory
from simulator.breakpoints import Breakpoints, before_request
from simulator.frames import StatePublisher
from simulator.ors.fakes import FakesError, FakesProfile, copy_json, load_fakes
from simulator.ors.platform import OrsPlatform, platform_of
from simulator.protocol import OpError
from simulator.runners.driver import OrsRun
from simulator.runners.limits import Limits
from simulator.runners.scenarios import run_step
from simulator.scheduling import FairPool
from simulator.scxml.datamodel import JSError, RuntimePool, operation_budget
from simulator.scxml.errors import DocumentError
from simulator.scxml.jsonpatch import same, update_variables
from simulator.scxml.profile import JSIntrinsics
from simulator.scxml.trace import ExtensionRecord, LimitRecord, jsonable

T = TypeVar("T")

#: total JSON size of the inputs log (each operation is at most a websocket frame: many large
#: `set_fakes` or `set_variable` operations would otherwise grow the stored log without end)
MAX_INPUTS_BYTES = 32 * 1024 * 1024
#: macrosteps a "block" step may take before it gives up (a strategy that never enters a block)
MAX_BLOCK_MACROSTEPS = 10_000


class SimulationError(RuntimeError):
    """The simulation cannot be built (definition errors, bad fakes, missing entry...)."""


def _kept(fakes: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a fakes profile kept as long as the simulation lives: plain JSON data, out of the
    cycle collector's walks (as the trace's records: see _collect)."""
    copy = dict(fakes)
    untrack_data(copy)
    return copy


def _obj(value: Any, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise OpError(f"{what} must be a JSON object")
    return value


# -- the runtime ----------------------------------------------------------------------------------


def settings_limits() -> Limits:
    """The simulation limits of the settings (JS memory and time, worker threads); the defaults
    when no Django settings are configured (a runtime used from a plain script)."""
    return Limits.from_settings(settings) if settings.configured else Limits()


class SimulationRuntime:
    """One live simulation (see the module docstring)."""

    def __init__(
        self,
        files: Mapping[str, bytes],
        entry: str | None,
        fakes: Mapping[str, Any],
        seed: int = 0,
        limits: Limits | None = None,
    ):
        self.files = files
        self.entry = entry or None
        self.limits = limits or settings_limits()
        #: the recipe's fakes profile (what every replay starts from) ...
        self.base_fakes = _kept(fakes)
        self._base_profile = self._load(self.base_fakes)
        #: ... and the one in force now (`set_fakes` operations change it)
        self.fakes = _kept(fakes)
        self.seed = int(seed)
        self.lock = threading.Lock()
        #: whose jobs these are in the fair worker pool (the owner's user id; None outside the web)
        self.owner: Any = None
        #: bumped by every change of the inputs log or the recipe (what a save must persist)
        self.revision = 0
        self.breakpoints = Breakpoints()
        #: watch expressions, evaluated on a copy of the variables for every snapshot
        self.watches: list[str] = []
        #: the result of the last console evaluation (`eval` operation)
        self.last_eval: dict[str, Any] = {}
        self.inputs: list[dict] = []
        #: a read-only replay's whole log (a scenario's timeline): rewinds move along it and never
        #: truncate it; None for an ordinary simulation
        self.timeline: list[dict] | None = None
        #: the verdicts of the last `scenario` operation (where a replay's timeline stops)
        self.step_results: list[Any] = []
        #: skip-once marker: the length of the inputs log when a run paused before an extension
        #: request (action breakpoint); the next step goes past that request without stopping
        self.pass_request_at: int | None = None
        #: the end (time.monotonic()) of the running run chunk's budget, which its operations share
        self._chunk_deadline: float | None = None
        #: the state its clients were sent: snapshot and delta frames (simulator.frames)
        self.publisher = StatePublisher()
        #: the JS runtimes of every run of this simulation: a restart, rewind or replay closes the
        #: run's contexts (their memory goes back to the runtime) and starts the next run in the
        #: same runtime, which has read the libraries' bytecode already (see RuntimePool)
        self._runtimes = RuntimePool()
        self._build()

    # ---- construction / replay --------------------------------------------------------------

    @staticmethod
    def _load(fakes: Mapping[str, Any]) -> FakesProfile:
        try:
            return load_fakes(dict(fakes))
        except FakesError as exc:
            raise SimulationError(str(exc)) from exc

    def _build(self) -> None:
        try:
            # A copy of the recipe's loaded profile: rules count their uses during a run.
            self.run = OrsRun(
                self.files,
                self.entry,
                fakes=self._base_profile.for_run(),
                seed=self.seed,
                limits=self.limits,
                runtimes=self._runtimes,
            )
        except DocumentError as exc:
            raise SimulationError(f"the document has definition errors: {exc}") from exc
        except ValueError as exc:  # ProjectError (no entry document) and friends
            raise SimulationError(str(exc)) from exc
        self.inputs = []
        #: the inputs log is unchanged below this length since it was last stored (persistence)
        self.log_floor = 0
        #: JSON size of the operations in `inputs` (MAX_INPUTS_BYTES)
        self.inputs_bytes = 0
        self.fakes = _kept(self.base_fakes)
        self.revision = getattr(self, "revision", 0) + 1
        self.idle = False
        self._records: list[dict] = []
        #: macrostep records so far (where an operation a limit stopped is cut again on replay)
        self._macrosteps = 0
        #: the limit the last operation reached (its `limit` field in the log), None if none
        self.last_limit: dict | None = None
        # The datamodel as the trace's `datamodel` diffs describe it: exact right after macrosteps,
        # which saves the page a second full datamodel read per step (see datamodel_values()).
        self._datamodel: dict[str, Any] = {}
        self._datamodel_exact = False
        #: why the variables could not be read whole the last time (the memory or time limit of
        #: the strategy's scripts, which a strategy near its limit can reach): the page shows the
        #: values the trace last recorded, and says so
        self.datamodel_error: str | None = None
        #: the trace's last reading of the root session's variables failed (its `datamodel` error)
        self._trace_unread = False
        #: the variables those records changed since `take_touched()` was last called; None once
        #: `_datamodel` was read whole since (any variable may differ): the frames diff only these
        self._touched: set[str] | None = None
        #: the event of the last macrostep that had one (the snapshot's `system._event`)
        self.last_event: dict | None = None
        self.run.group.listeners.append(self._collect)
        # The frames diff the values the trace's records diffed: the sizes those measured are
        # kept by variable, one entry each, and the frames' diff reads them (see _diff).
        self.run.session.value_sizes = {}
        self.run.start()
        # Events due now (the start events) are shown in the queue at once, not after a first step.
        self.run.group.clock.fire_due()
        self.start_seq = self.seq
        # The start ended as a macrostep does, with a `datamodel` record (its first: every
        # variable), and queueing the start events runs no script: the variables are exact, and
        # the first snapshot (a restart's, a rewind's) need not read them all again.
        root = self.run.session.sessionid
        self._datamodel_exact = not self._trace_unread and any(
            r["type"] == "datamodel" and r.get("session") == root for r in self._records
        )

    def _collect(self, record: dict) -> None:
        # An action record carries the live request (its responses list grows later): keep the
        # request as it was, so a replayed trace is the trace the user saw.
        kind = record["type"]
        if kind == "action" and isinstance(record.get("request"), dict):
            record = {**record, "request": copy_json(record["request"])}
        elif kind == "datamodel" and record.get("session") == self.run.session.sessionid:
            self._trace_unread = False
            update_variables(self._datamodel, record)
            if self._touched is not None:
                self._touched.update(record.get("changed") or (), record.get("removed") or ())
                self._touched.update(record.get("patches") or ())
        elif kind == "error" and record["kind"] == "datamodel" and record.get("file") is None:
            self._trace_unread = True  # the trace could not record the variables: read them whole
        elif kind == "macrostep":
            self._macrosteps += 1
            if record.get("event"):
                self.last_event = record["event"]
        self._records.append(record)
        # Kept as long as the simulation lives, and plain data: out of the cycle collector's walks
        # (a full collection walked every record of every live simulation).
        untrack_data(record)

    @property
    def records(self) -> list[dict]:
        """Every trace record since the simulation (re)started."""
        return self._records

    @property
    def seq(self) -> int:
        """Number of the last trace record."""
        return self.run.group.tracer.seq

    @property
    def session(self) -> Any:
        return self.run.session

    @property
    def platform(self) -> OrsPlatform | None:
        """The fake platform, None when the session could not start (its datamodel could not be
        made: the trace's `error` record says why), which the frames show as such."""
        return platform_of(self.run.session)

    def replay(self, inputs: list[dict], upto: int | None = None) -> None:
        """Rebuild from scratch and re-apply `inputs` (those ending at or before seq `upto`).

        A pause before a request (`pass_request_at`) survives when the replayed log still reaches
        it: no step was applied after it (a step clears it), so that is the same position."""
        marker = self.pass_request_at
        before, floor = self.inputs, self.log_floor
        self._release()  # not close(): the new run takes the memory back at once
        self._build()
        for op in inputs:
            if upto is not None and op.get("seq", 0) > upto:
                break
            self.apply(op)
        self.pass_request_at = marker if marker is not None and len(self.inputs) >= marker else None
        # What is stored stays valid up to the first operation the replay changed (a rewind only
        # truncates the stored log).
        kept = 0
        for old, new in zip(before[:floor], self.inputs, strict=False):
            if not same(old, new):  # an event's data that went from 1 to true is a change
                break
            kept += 1
        self.log_floor = kept

    def rewind(self, seq: int) -> None:
        """Back to the state right after the last operation that ended at or before record `seq`
        (a replay: to record `seq` itself, forward or back along its timeline)."""
        if self.timeline is not None:
            self._position(self.timeline, max(0, int(seq)))
            return
        self.replay(list(self.inputs), upto=max(0, int(seq)))

    def _position(self, timeline: list[dict], seq: int) -> None:
        """Rebuild, then re-apply the timeline up to record `seq`: the operation that spans it runs
        until the first macrostep boundary at or past it (a scenario step can be a whole call)."""
        self._release()  # as replay(): the new run takes the memory back
        self._build()
        for op in timeline:
            if op.get("seq", 0) <= seq:
                self.apply(op)
                continue
            if self.seq < seq:
                group = self.run.group
                group.interrupt = lambda: self.seq >= seq
                try:
                    self._apply(op)
                finally:
                    group.interrupt, group.interrupted = None, False
                self._datamodel_exact = False  # a part of an operation: the variables are read whole
            break

    def restart(self, fakes: Mapping[str, Any] | None = None, seed: int | None = None) -> None:
        """Start again from the beginning (optionally with another fakes profile / seed)."""
        if fakes is not None:
            profile = load_fakes(dict(fakes))  # FakesError before anything is lost
            self.base_fakes = _kept(fakes)
            self._base_profile = profile
        if seed is not None:
            self.seed = int(seed)
        self.pass_request_at = None
        self.replay([])

    def close(self) -> None:
        """Free the JS contexts and the trace, and give the freed memory back to the system."""
        self._release()
        memory.give_back()

    def _release(self) -> None:
        """Free the JS contexts of every session and drop the trace.

        The runtime and its run refer to each other (the trace collector is a bound method), so
        the trace would otherwise wait for a full cycle collection, which a busy server runs
        rarely (issue 11: ~100 MB kept per closed simulation): dropped here, reference counting
        frees it at once."""
        run = getattr(self, "run", None)
        if run is None:
            return
        run.close()
        with contextlib.suppress(ValueError):
            run.group.listeners.remove(self._collect)
        self._records = []
        self._datamodel = {}
        self._touched = None
        self.publisher.forget()

    # ---- operations -------------------------------------------------------------------------

    @property
    def limit_reached(self) -> str | None:
        """ "trace_records" or "operations" once the trace or the inputs log is full (operations
        are refused then: rewind or restart), else None."""
        if len(self._records) >= self.limits.max_trace_records:
            return "trace_records"
        if len(self.inputs) >= self.limits.max_operations:
            return "operations"
        return None

    def apply(self, op: dict) -> list[dict]:
        """Run one operation; log it when it changed anything; return the new records.

        An operation the log or the trace has no room for is refused (OpError) before it runs,
        so the log always describes the state. A live operation runs within the limits of
        `_bounded`; one a limit stopped is logged with that limit, so a replay stops it at the
        same macrostep and emits the same `limit` record."""
        size = len(json.dumps(op, separators=(",", ":"), ensure_ascii=False))
        most = self.limits.max_operations
        if len(self.inputs) >= most or self.inputs_bytes + size > MAX_INPUTS_BYTES:
            raise OpError(
                f"this simulation's operations reached their limit ({most:,} operations or "
                f"{MAX_INPUTS_BYTES // (1024 * 1024)} MB); it was not applied: restart the simulation"
            )
        if "seq" not in op and len(self._records) >= self.limits.max_trace_records:
            raise OpError(
                f"this simulation's trace reached its limit of {self.limits.max_trace_records:,} records; "
                "it was not applied: rewind or restart the simulation"
            )
        start = len(self.records)
        before = (self.seq, self.run.group.clock.now)
        changed, limit = self._bounded(op)
        self.last_limit = limit
        if limit is not None:
            fields = {k: limit[k] for k in ("limit", "value", "message")}
            self.run.group.tracer.emit(LimitRecord(**fields), None)
        if op["op"] == "step":
            self.pass_request_at = None
        self._datamodel_exact = (
            op["op"] == "step" and op["unit"] in ("macro", "timer", "block") and not self._trace_unread
        )
        if self._datamodel_exact:
            self.datamodel_error = None  # the trace read them all after this step
        if changed or (self.seq, self.run.group.clock.now) != before:
            logged = dict(op)
            logged["seq"] = self.seq
            if limit is not None:
                logged["limit"] = limit
            self.inputs.append(logged)
            self.inputs_bytes += size
            self.revision += 1
            self.idle = False
        else:
            self.idle = op["op"] == "step"
        return self.records[start:]

    def apply_and_frames(self, op: dict) -> list[dict]:
        """`apply(op)` then `frames()` (one call for the worker pool)."""
        self.apply(op)
        return self.frames()

    def _bounded(self, op: dict) -> tuple[bool, dict | None]:
        """`_apply(op)` within its bounds: (changed, the limit it reached or None).

        A live operation has `Limits.step_budget` seconds (shared by the operations of one run
        chunk): every JS evaluation it starts is capped at that deadline (interrupted like one
        over the JS time limit), and multi-macrostep work (a block step, a timer step, advance)
        stops between macrosteps once the deadline passed or the trace is full; the W3C
        algorithm is never left inside a macrostep. A replayed operation (it has its `seq`) runs
        without a clock: it stops after the macrosteps its logged `limit` says, if any.
        """
        group = self.run.group
        first = self._macrosteps
        if "seq" in op:
            recorded = op.get("limit")
            if isinstance(recorded, dict):
                cut = int(recorded.get("macrosteps", 0))
                group.interrupt = lambda: self._macrosteps - first >= cut
            try:
                return self._apply(op), recorded if isinstance(recorded, dict) else None
            finally:
                group.interrupt, group.interrupted = None, False
        limits = self.limits
        now = time.monotonic()
        deadline = now + limits.step_budget
        if self._chunk_deadline is not None:
            deadline = min(deadline, self._chunk_deadline)
        with operation_budget(max(0.0, deadline - now)):
            group.interrupt = lambda: time.monotonic() > deadline or len(self._records) >= limits.max_trace_records
            try:
                changed = self._apply(op)
            finally:
                group.interrupt, group.interrupted = None, False
        if len(self._records) >= limits.max_trace_records:
            name, value = "trace_records", limits.max_trace_records
            message = (
                f"the trace reached its limit of {value:,} records (ORCHWEB_SIM_MAX_TRACE_RECORDS): "
                "no further operation is applied; rewind or restart the simulation"
            )
        elif len(self.inputs) + 1 >= limits.max_operations:
            name, value = "operations", limits.max_operations
            message = (
                f"the inputs log reached its limit of {value:,} operations (ORCHWEB_SIM_MAX_OPERATIONS): "
                "no further operation is applied; rewind or restart the simulation"
            )
        elif time.monotonic() > deadline:
            name, value = "step_budget", limits.step_budget
            message = (
                f"this operation used its time budget of {value:g} s (ORCHWEB_SIM_STEP_BUDGET_MS) and "
                f"stopped after {self._macrosteps - first} macrosteps; step or run again to go on"
            )
        else:
            return changed, None
        return changed, {"limit": name, "value": value, "message": message, "macrosteps": self._macrosteps - first}

    def _apply(self, op: dict) -> bool:
        kind = op["op"]
        run = self.run
        if kind == "step":
            return self._step_block() if op["unit"] == "block" else run.step(op["unit"])
        if kind == "eval":
            self.last_eval = self._console(op["expression"], None)
            return True
        if kind == "set_variable":
            self._console(f"{op['name']} = {json.dumps(op['value'], ensure_ascii=False)}", (op["name"], op["value"]))
            return True
        platform = self.platform
        if platform is None and kind in ("inject", "respond"):
            raise OpError("the session could not start (see the error in the trace): restart it to try again")
        if kind == "inject":
            assert platform is not None
            k = op["kind"]
            if k == "party_changed":
                platform.party_changed(op["focusdeviceid"], op.get("devicetype") or "routepoint")
            elif k == "udata_changed":
                platform.udata_changed(op["data"])
            else:
                name = op["event"] if k == "event" else k
                run.inject(name, op.get("data") or {}, float(op.get("delay", 0.0)))
                run.clock.fire_due()  # a zero delay lands in the queue now (virtual clock)
            return True
        if kind == "respond":
            try:
                run.respond(op["request"], op["events"])
            except (KeyError, ValueError) as exc:
                raise OpError(str(exc).strip("'\"")) from exc
            run.clock.fire_due()
            return True
        if kind == "set_fakes":
            run.set_fakes(load_fakes(op["fakes"]))
            self.fakes = _kept(op["fakes"])
            return True
        if kind == "advance":
            run.advance(float(op["seconds"]))
            return True
        if kind == "scenario":  # a step of a scenario's timeline (read-only replays only)
            self.step_results = run_step(run, op["index"], op["step"], float(op["max_time"]))
            return True
        raise OpError(f"unknown operation {kind!r}")

    def _step_block(self) -> bool:
        """Macrosteps until one enters a Composer block (the next block of the diagram), the session
        ends, or nothing is left: stepping the way the diagram reads."""
        moved = False
        group = self.run.group
        for _ in range(MAX_BLOCK_MACROSTEPS):
            if group.interrupt is not None and group.interrupt():  # a bound of the operation
                group.interrupted = True
                return moved
            start = len(self.records)
            if not self.run.step("macro"):
                return moved
            moved = True
            entered = (s for r in self.records[start:] if r["type"] == "macrostep" for s in r["entered"])
            if self.finished or any(debugger.is_block_state(s) for s in entered):
                return True
        return moved

    # ---- debugger -------------------------------------------------------------------------------

    def js_limits(self) -> tuple[int, float, JSIntrinsics]:
        """(memory, time) limits of the strategy's scripts and its JS built-ins, which the
        debugger's evaluations on a copy get too."""
        return self.limits.js_memory, self.limits.js_time, self.session.profile.js_intrinsics(self.session)

    def _console(self, expression: str, edit: tuple[str, Any] | None) -> dict[str, Any]:
        """Evaluate (or, `edit`: assign a JSON value) in the session's datamodel; traced as a
        `console` record and the `datamodel` record of what it changed."""
        session = self.session
        if session.datamodel is None:
            raise OpError("the session has no datamodel to evaluate in (it has ended)")
        if edit is None:
            result = debugger.evaluate(session.datamodel, expression)
        else:
            try:
                debugger.set_variable(session.datamodel, self.datamodel_values(), *edit)
            except ValueError as exc:
                raise OpError(str(exc)) from exc
            result = {"value": edit[1]}
        session.emit(ExtensionRecord("console", {"expression": expression, **result}))
        session.record_datamodel()
        return result

    def datamodel_values(self) -> dict[str, Any]:
        """The user variables now (JSON values); when they cannot be read (`datamodel_error`), the
        values the trace's `datamodel` records last gave."""
        if not self._datamodel_exact and self.session.datamodel is not None:
            try:
                values = self.session.datamodel.snapshot()
            except JSError as exc:
                self.datamodel_error = f"the variables could not be read ({exc}): shown as the trace last recorded them"
                return dict(self._datamodel)
            self._datamodel = jsonable(values)
            self._datamodel_exact = True
            self._touched = None
            self.datamodel_error = None
        return dict(self._datamodel)

    def take_touched(self) -> set[str] | None:
        """The variables that may differ from the `datamodel_values()` of the previous call (None:
        any of them), and from now on those changed after this call."""
        touched, self._touched = self._touched, set()
        return touched

    def evaluate_on_copy(self, expression: str) -> dict[str, Any]:
        """A console evaluation that cannot change anything (watchers): on a copy of the variables."""
        return debugger.evaluate_on_copy(self.datamodel_values(), expression, *self.js_limits())

    def _condition(self, expression: str) -> tuple[bool, str | None]:
        return debugger.condition_holds(self.datamodel_values(), expression, *self.js_limits())

    # ---- run ----------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.run.finished

    def next_timer(self) -> float | None:
        """Virtual due time of the next timer (None when there is none)."""
        return self.run.clock.next_due()

    def run_chunk(self, max_steps: int, paced: bool, to: str | None = None) -> tuple[list[dict], str, list[dict]]:
        """Macrosteps for a `run`, until a stop reason; returns (records, reason, breakpoint hits).

        Reasons: "more" (`max_steps` done, call again), "breakpoint", "limit" (the chunk's time
        budget ran out, or the trace or the inputs log is full: the `limit` record says which),
        "idle" (nothing left),
        "finished" (the session ended), "wait" (paced run: the next step needs a timer, which the
        caller fires after the matching wall-clock pause). `to`: "run to here", a state whose
        entry stops this run (hit kind `run_to`).
        """
        start = len(self.records)
        # the chunk is one operation for the step budget: its macrosteps share one deadline
        self._chunk_deadline = time.monotonic() + self.limits.step_budget
        try:
            for _ in range(max_steps):
                if self.finished:
                    return self.records[start:], "finished", []
                if self.limit_reached:
                    return self.records[start:], "limit", []
                if paced and self.run.busy_session() is None:
                    return self.records[start:], ("wait" if self.next_timer() is not None else "idle"), []
                hits = self._run_op({"op": "step", "unit": "macro"}, to)
                if self.idle:
                    return self.records[start:], "idle", []
                if hits:
                    return self.records[start:], "breakpoint", hits
                if self.last_limit is not None:
                    return self.records[start:], "limit", []
        finally:
            self._chunk_deadline = None
        return self.records[start:], ("finished" if self.finished else "more"), []

    def apply_and_hits(self, op: dict, to: str | None = None) -> tuple[list[dict], list[dict]]:
        """One operation of a run (see `_run_op`), the frames it makes and the breakpoints it hit
        (one call for the worker pool)."""
        hits = self._run_op(op, to)
        return self.frames(), hits

    def _run_op(self, op: dict, to: str | None) -> list[dict]:
        """`apply(op)` for a run; the breakpoints it hit.

        A step that sent an extension request matching an action breakpoint is undone (the log is
        replayed without it): the run pauses before the request is sent, and the hits say which
        one (`before_request`). The step after that pause goes past it once (`pass_request_at`).
        """
        passing = self.pass_request_at is not None
        logged = len(self.inputs)
        step_start = len(self.records)
        self.apply(op)
        hits = self.hits(self.records[step_start:], to)
        before = [h for h in hits if h["kind"] == "actions"]
        if not before:
            return hits
        if passing or op["op"] != "step" or len(self.inputs) != logged + 1:
            # going past the request this pause stopped before (or not a step it can undo)
            return [h for h in hits if h["kind"] != "actions"] if passing else hits
        self.replay(self.inputs[:logged])
        self.pass_request_at = logged
        return [before_request(h, self.seq) for h in before]

    def hits(self, records: list[dict], to: str | None = None) -> list[dict]:
        """The breakpoints (their conditions checked on a copy of the variables) `records` hit."""
        hits = self.breakpoints.hits(records, self._condition)
        if to is not None:
            seqs = [r["seq"] for r in records if r["type"] == "macrostep" and to in r["entered"]]
            hits += [{"kind": "run_to", "value": to, "seq": seq} for seq in seqs[:1]]
        return hits

    # ---- state ----------------------------------------------------------------------------------

    def snapshot(self) -> dict:
        """What the page shows, whole: a `snapshot` frame (simulator.frames)."""
        return self.publisher.snapshot(self)

    def frames(self) -> list[dict]:
        """What changed since the last frames: a `delta` frame (or `reset` and `snapshot` after a
        rebuild). Every change of the state is followed by this call, under the lock."""
        return self.publisher.frames(self)

    def reset_frames(self) -> list[dict]:
        """`reset` (the whole trace) and `snapshot`: what a client starts from."""
        return self.publisher.reset(self)


# -- worker pool ----------------------------------------------------------------------------------

_pool: FairPool | None = None
_pool_lock = threading.Lock()
#: whose jobs `execute` queues when the call names no user: each socket sets its user for its task
#: (a watcher's reads of a shared simulation are the watcher's jobs, not the owner's)
job_user: contextvars.ContextVar[Any] = contextvars.ContextVar("simulation_job_user", default=None)


def pool() -> FairPool:
    """The worker threads running simulation steps, created on first use with the
    ``SIMULATION_WORKERS`` setting (bounded: a flood of clients queues, never spawns), fair
    across users (``simulator.scheduling``: at most ``SIMULATION_WORKERS_PER_USER`` jobs of one
    user run at once)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            limits = settings_limits()
            _pool = FairPool(limits.workers, limits.workers_per_user)
        return _pool


def pool_load() -> tuple[int, int]:
    """(workers, jobs running or queued) of the simulation pool, for the readiness endpoint."""
    current = pool()
    return current.workers, current.pending


async def execute(
    runtime: SimulationRuntime | None, fn: Callable[..., T], *args: Any, user: Any = None, hand_over: bool = False
) -> T:
    """Run `fn(*args)` in the worker pool, holding `runtime.lock` (if given) while it runs.

    The job is queued for `user` (default: `job_user`, else the runtime's owner); jobs of one
    runtime run one at a time, in the order they were submitted. `hand_over`: `fn(future, *args)`
    may pass the awaited future on to another thread (`FairPool.submit_async`)."""

    def call(*first: Any) -> T:
        if runtime is None:
            return fn(*first, *args)
        with runtime.lock:
            return fn(*first, *args)

    if user is None:
        user = job_user.get()
    if user is None and runtime is not None:
        user = runtime.owner
    return await pool().submit_async(call, user=user, key=None if runtime is None else id(runtime), hand_over=hand_over)


# -- registry of live runtimes --------------------------------------------------------------------


@dataclass
class Entry:
    """A live runtime, the websockets attached to it and the lock ordering their operations."""

    runtime: SimulationRuntime
    refs: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: the `simulator.persistence.SimulationStore` saving this runtime's inputs log
    store: Any = None


class Registry:
    """Live runtimes of this process by simulation id (a reconnect here reuses the live one)."""

    def __init__(self) -> None:
        self.entries: dict[int, Entry] = {}

    def get(self, simulation_id: int) -> Entry | None:
        return self.entries.get(simulation_id)

    def acquire(self, simulation_id: int, runtime: SimulationRuntime) -> Entry:
        """Attach a websocket; `runtime` is used only when none is live yet."""
        entry = self.entries.get(simulation_id)
        if entry is None:
            entry = self.entries[simulation_id] = Entry(runtime)
        elif entry.runtime is not runtime:
            runtime.close()
        entry.refs += 1
        return entry

    def release(self, simulation_id: int) -> Entry | None:
        """Detach a websocket; the runtime is dropped (and returned) with the last one."""
        entry = self.entries.get(simulation_id)
        if entry is None:
            return None
        entry.refs -= 1
        if entry.refs <= 0:
            del self.entries[simulation_id]
            return entry
        return None


registry = Registry()


def open_simulations() -> int:
    """Live simulations of this process (for /readyz: a closed one is gone once its close ran)."""
    return len(registry.entries)


# -- Django side: recipes from the database -------------------------------------------------------

_FILES_CACHE: OrderedDict[int, tuple[dict[str, bytes], str]] = OrderedDict()
_FILES_CACHE_SIZE = 32
_files_lock = threading.Lock()


def version_files(version: Any) -> tuple[dict[str, bytes], str]:
    """(files, entry) of a designer Version, cached by id (versions are immutable)."""
    with _files_lock:
        cached = _FILES_CACHE.get(version.pk)
        if cached is not None:
            _FILES_CACHE.move_to_end(version.pk)
            return cached
    value = (version.read_files(), version.entry)
    with _files_lock:
        _FILES_CACHE[version.pk] = value
        while len(_FILES_CACHE) > _FILES_CACHE_SIZE:
            _FILES_CACHE.popitem(last=False)
    return value


def simulation_files(simulation: Any) -> tuple[dict[str, bytes], str]:
    """(files, entry) a simulation runs: its version's, or the snapshot it holds (a draft's
    scenario replay: `Simulation.files`, path -> Blob sha256)."""
    if not simulation.files:
        return version_files(simulation.version)
    from designer.models import Blob

    blobs = {b.sha256: b.data() for b in Blob.objects.filter(sha256__in=set(simulation.files.values()))}
    return {path: blobs[sha] for path, sha in sorted(simulation.files.items())}, simulation.version.entry


def resolve_fakes(files: Mapping[str, bytes], fakes: Any, interaction: Any = None) -> tuple[dict, str]:
    """The fakes profile to store: inline JSON, or a project file path (`fakes/x.json`).

    `interaction` overrides are merged into the profile's ``interaction`` section. Raises OpError
    with the validation problems.
    """
    source = ""
    if fakes is None or fakes == "":
        data: Any = {}
    elif isinstance(fakes, str):
        if fakes not in files:
            raise OpError(f"no fakes profile {fakes!r} in this version")
        source = fakes
        try:
            data = json.loads(files[fakes])
        except (ValueError, UnicodeDecodeError) as exc:
            raise OpError(f"{fakes}: not valid JSON ({exc})") from exc
    else:
        data = fakes
    if not isinstance(data, dict):
        raise OpError("fakes must be a JSON object or the path of a fakes file of the version")
    data = dict(data)
    if interaction:
        data["interaction"] = {**_obj(data.get("interaction"), "fakes.interaction"), **_obj(interaction, "interaction")}
    try:
        load_fakes(data)
    except FakesError as exc:
        raise OpError(str(exc)) from exc
    return data, source


def build_runtime(simulation: Any, inputs: list[dict] | None = None) -> SimulationRuntime:
    """A runtime for a Simulation row, replayed to the end of `inputs` (default: its stored inputs
    log; sync: DB)."""
    files, entry = simulation_files(simulation)
    runtime = SimulationRuntime(files, simulation.entry or entry, simulation.fakes or {}, simulation.seed)
    runtime.owner = simulation.owner_id
    for op in simulation.inputs if inputs is None else inputs:
        runtime.apply(op)
    if simulation.scenario:
        runtime.timeline = list(runtime.inputs)
    runtime.log_floor = len(runtime.inputs)
    with contextlib.suppress(OpError):  # a stored value from an older schema is dropped
        runtime.breakpoints = Breakpoints.from_json(simulation.breakpoints or {})
    runtime.watches = [w for w in simulation.watches or [] if isinstance(w, str)]
    return runtime


def build_runtime_on_worker(simulation: Any, inputs: list[dict] | None = None) -> SimulationRuntime:
    """`build_runtime` as a job of the simulation pool: the worker's database connection goes
    back (to the pool, or closed) when it is done, as a request's does. A worker otherwise kept
    it checked out for as long as it lived: pooled connections taken from requests, and the test
    run's DROP DATABASE found the database in use."""
    from django.db import close_old_connections

    try:
        return build_runtime(simulation, inputs)
    finally:
        close_old_connections()


def get_simulation_for_user(user: Any, simulation_id: int, share_tokens: Iterable[str] = ()) -> tuple[Any, str]:
    """(simulation, "owner" | "watcher" | "replay") for a user of a page or a websocket (sync: DB).

    "replay": the owner of a scenario replay, read-only like a watcher but free to rewind.

    The owner must still be allowed to view the version; others may watch a *shared* simulation
    of a version they can view. Http404 hides simulations of versions the user cannot see,
    PermissionDenied refuses unshared simulations of other users. The version check is the
    designer's (`designer.permissions.check_version_access`, of the version loaded with the
    simulation), never re-implemented here.
    """
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from designer.permissions import AuthenticationRequired, check_version_access
    from simulator.models import Simulation

    simulation = Simulation.objects.select_related("version__project", "owner").filter(pk=simulation_id).first()
    if simulation is None:
        raise Http404("No such simulation.")
    try:
        check_version_access(user, simulation.version, share_tokens)
    except (Http404, PermissionDenied) as exc:
        raise Http404("No such simulation.") from exc
    except AuthenticationRequired:
        raise
    if simulation.owner_id == getattr(user, "pk", None):
        return simulation, "replay" if simulation.scenario else "owner"
    if simulation.shared:
        return simulation, "watcher"
    raise PermissionDenied("This simulation belongs to another user and is not shared.")
