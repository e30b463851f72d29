"""State frames of a live simulation: a whole `snapshot` now and then, a `delta` per step.

A client holds the simulation's state. A ``snapshot`` frame gives it whole (on connect, after a
rewind/restart, and on demand); after that, every step, run chunk or setting sends one ``delta``
frame carrying only what changed since the state named by its ``base`` (docs/simulation-protocol.md,
"State frames"): the appended trace records, the datamodel's changed and removed variables, the
events that left the head of a queue and those appended to it, timers added and removed, the
extension requests that are new or changed, and the other fields only when they differ. So a
frame's size and the work to build it follow what the step did, not the length of the history:
3,000 injected events cost linear, not quadratic, bytes and work.

Every published state has a ``key`` (``<runtime token>.<version>``); a delta applies to the state
whose key is its ``base``. ``StatePublisher`` builds the frames of one runtime (the caller holds
the runtime's lock); ``ClientState`` is the client side (tests, benches and any Python client:
it rebuilds the state from the frames and says when it needs a snapshot again). ``encode`` is the
one JSON encoding of a frame. Pure Python: no Django.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Sequence
from typing import Any

import orjson
from orchweb_quickjs import untrack_data

from simulator import debugger
from simulator.ors.report import run_report
from simulator.ors.requestbook import LIVE
from simulator.scxml.jsonpatch import Sizes, diff_variables, same, update_variables
from simulator.scxml.trace import jsonable

#: snapshot fields a delta carries whole, and only when they changed
_PLAIN = (
    "start_seq",
    "final_state",
    "configuration",
    "system",
    "interactions",
    "outcome",
    "breakpoints",
    "watches",
    "seed",
    "pending",
    "limit",
    "datamodel_error",
)
#: fields every delta carries (a handful of numbers: what a client shows after every step)
_ALWAYS = ("seq", "step", "inputs", "status", "time", "next_timer", "idle")
QUEUES = ("internal_queue", "external_queue")
#: per-frame fields that are no part of the state (a client does not keep them)
TRANSIENT = ("type", "key", "base", "records", "reply_to", "running")

_serial = itertools.count(1)


def encode(frame: Any) -> str:
    """The JSON text of a frame, compact (orjson: frames are most of the server's work per step).

    A frame whose keys are all strings (every frame but odd ones) is encoded without orjson's
    OPT_NON_STR_KEYS, which takes its slower path for every dict (7 KB frames: 11 -> 6 us); the
    text is the same, and a frame with other keys is encoded with the option, as it always was."""
    try:
        return orjson.dumps(frame).decode()
    except orjson.JSONEncodeError:
        return orjson.dumps(frame, option=orjson.OPT_NON_STR_KEYS).decode()


class StatePublisher:
    """The state the clients of one runtime were last sent, and the frames that catch them up.

    Not thread-safe: the runtime's lock is held by the caller (``SimulationRuntime`` methods).
    """

    def __init__(self) -> None:
        # pid and a counter, never randomness: keys differ between runtimes and processes
        self.token = f"{os.getpid():x}-{next(_serial)}"
        self.version = 0
        self._tracked = False

    @property
    def key(self) -> str:
        return f"{self.token}.{self.version}"

    # ---- whole state ----------------------------------------------------------------------------

    def snapshot(self, runtime: Any) -> dict[str, Any]:
        """The whole state (a `snapshot` frame); what later deltas are relative to."""
        changed = self._rebuilt(runtime) or bool(self._changes(runtime))
        state = _full_state(runtime)
        self._track(runtime, state)
        if changed:
            self.version += 1
        return {"type": "snapshot", "key": self.key, **state}

    def reset(self, runtime: Any) -> list[dict[str, Any]]:
        """`reset` (the whole trace) and `snapshot`: a client starts over with these."""
        snapshot = self.snapshot(runtime)
        return [{"type": "reset", "key": snapshot["key"], "records": list(runtime.records)}, snapshot]

    def frames(self, runtime: Any) -> list[dict[str, Any]]:
        """What changed since the last frames: one `delta` (`reset` and `snapshot` when the runtime
        was rebuilt: a rewind, a restart, a run paused before a request)."""
        if self._rebuilt(runtime):
            return self.reset(runtime)
        base = self.key
        delta = self._changes(runtime)
        self.version += 1
        return [{"type": "delta", "base": base, "key": self.key, **{n: self._values[n] for n in _ALWAYS}, **delta}]

    def forget(self) -> None:
        """Drop the tracked state (the next frames start over with `reset`). A closed runtime calls
        it: the tracked trace, session and datamodel copy would otherwise live as long as the
        runtime, which only a full cycle collection frees (see SimulationRuntime._release)."""
        self._tracked = False
        for name in ("_records", "_session", "_values", "_fakes", "_datamodel", "_queues", "_timers", "_live"):
            self.__dict__.pop(name, None)

    # ---- tracking -------------------------------------------------------------------------------

    def _rebuilt(self, runtime: Any) -> bool:
        """Nothing tracked yet, or the runtime started over (its trace and session are new)."""
        return not self._tracked or runtime.records is not self._records or runtime.session is not self._session

    def _track(self, runtime: Any, state: dict[str, Any]) -> None:
        session = runtime.session
        self._tracked = True
        self._records = runtime.records
        self._sent_records = len(runtime.records)
        self._session = session
        self._values = {name: state[name] for name in (*_PLAIN, *_ALWAYS)}
        untrack_data(self._values)  # kept until the next frame: plain data (see SimulationRuntime._collect)
        self._fakes = runtime.fakes
        self._datamodel = dict(state["datamodel"])
        runtime.take_touched()  # what changes from here on is relative to this copy
        self._queues = {name: deque(getattr(session, name)) for name in QUEUES}
        self._timers = {t["id"]: t["due"] for t in state["timers"]}
        self._op_seqs = len(state["op_seqs"])
        book = _book(runtime)
        self._requests = len(book.requests) if book else 0
        self._live = {r["id"]: r for r in state["requests"] if r["status"] in LIVE}

    def _changes(self, runtime: Any) -> dict[str, Any]:
        """The changes since the tracked state (tracked from now on)."""
        out: dict[str, Any] = {}
        records = runtime.records
        if len(records) > self._sent_records:
            out["records"] = records[self._sent_records :]
            self._sent_records = len(records)
        now, values = _small_fields(runtime, self._values)
        for name in (*_ALWAYS, *_PLAIN):
            if not same(now[name], self._values[name]):
                out[name] = now[name]
        self._values = now
        untrack_data(now)
        if runtime.fakes is not self._fakes:
            out["fakes"] = runtime.fakes
            self._fakes = runtime.fakes
        sizes = getattr(runtime.session, "value_sizes", None)
        datamodel = _diff(self._datamodel, values, runtime.take_touched(), sizes)
        if datamodel:
            out["datamodel"] = datamodel
        for name in QUEUES:
            change = _queue_change(self._queues[name], getattr(runtime.session, name))
            if change:
                out[name] = change
        timers = {t.seq: t.due for t in runtime.run.group.clock.pending()}
        if timers != self._timers:
            out["timers"] = {
                "removed": [i for i in self._timers if i not in timers],
                "added": [{"due": due, "id": i} for i, due in timers.items() if i not in self._timers],
            }
            self._timers = timers
        log = _op_log(runtime)
        if len(log) > self._op_seqs:
            out["op_seqs"] = [op["seq"] for op in log[self._op_seqs :]]
            self._op_seqs = len(log)
        requests = self._request_changes(runtime, now["pending"])
        if requests:
            out["requests"] = requests
        return out

    def _request_changes(self, runtime: Any, pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Requests made since the last frame and live ones that changed (finished ones never do).
        `pending`: the frame's live requests as JSON, made just before: a live request's record is
        its item there (the same dict in both fields of the frame), not made a second time."""
        book = _book(runtime)
        if book is None:
            return []
        book.close_if_ended()
        finished = runtime.session.status in ("final", "cancelled")
        new = list(itertools.islice(book.requests.values(), self._requests, None))
        self._requests = len(book.requests)
        made = {} if finished else {r["id"]: r for r in pending}  # finished: closed copies instead
        out = []
        for request in [*(book.requests[i] for i in self._live), *new]:
            record = made.get(request.id) or _request_json(request, finished)
            if same(self._live.get(record["id"]), record):
                continue
            out.append(record)
            if record["status"] in LIVE:
                self._live[record["id"]] = record
            else:
                self._live.pop(record["id"], None)
        return out


def _op_log(runtime: Any) -> list[dict[str, Any]]:
    """The operations the rewind slider walks: the inputs log, or a read-only replay's timeline."""
    timeline = getattr(runtime, "timeline", None)
    return runtime.inputs if timeline is None else timeline


def _book(runtime: Any) -> Any:
    platform = runtime.platform
    return platform.book if platform is not None else None


def _request_json(request: Any, finished: bool) -> dict[str, Any]:
    record = jsonable(request.to_json())
    if finished and record["status"] in LIVE:
        record["status"] = "closed"
    return record


def _small_fields(runtime: Any, sent: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields of the state that are small whatever the history (and cheap to build), and the
    variables now: read once a frame (`datamodel_values` copies them all, and reads them whole
    when the trace's are not exact), here where `datamodel_error` and the watches need them.
    `sent`: the fields of the last frame, whose copies of the platform's data serve again when
    that data still equals them (see _copy)."""
    session = runtime.session
    platform = runtime.platform
    clock = runtime.run.group.clock
    pending = _copy([r.to_json() for r in platform.pending()], sent, "pending") if platform else []
    fields: dict[str, Any] = {
        "seq": runtime.seq,
        "step": len(runtime.inputs),
        "inputs": len(runtime.inputs),
        "start_seq": runtime.start_seq,
        "status": session.status,
        "final_state": session.final_state,
        "configuration": session.configuration_ids or list(session.final_configuration or []),
        "time": clock.now,
        "next_timer": clock.next_due(),
        "idle": runtime.idle,
        "system": {"_sessionid": session.sessionid, "_name": session.model.name, "_event": runtime.last_event},
        "interactions": _copy(platform.interactions, sent, "interactions") if platform else {},
        "pending": pending,
        "outcome": run_report(session, requests=False)["outcome"],
        "breakpoints": runtime.breakpoints.to_json(),
    }
    values = runtime.datamodel_values()  # read where the watches always read them
    fields["watches"] = debugger.watch_values(values, runtime.watches, *runtime.js_limits()) if runtime.watches else []
    fields["seed"] = runtime.seed
    fields["limit"] = runtime.limit_reached
    fields["datamodel_error"] = runtime.datamodel_error  # after datamodel_values() ran
    return fields, values


def _copy(value: Any, sent: dict[str, Any] | None, name: str) -> Any:
    """`jsonable(value)`: a JSON copy of the platform's live data (a frame keeps it while the data
    changes in place), or the last frame's copy `sent[name]` when `value` equals it (most steps
    change neither the interactions nor the live requests; `jsonpatch.same`, C's `==` and a walk
    for booleans, is cheaper than a copy). Exact: `jsonable` maps a value to one equal to it (or
    unequal when it converts it: a tuple, a set, NaN, an enum member, a non-string key: then it
    copies again), so the copy it would make equals the one kept, and a field travels, and a
    request's record is sent, only when it differs (`same`) from what the clients hold (see
    _changes, _request_changes)."""
    if sent is not None:
        kept = sent[name]
        if same(value, kept):
            return kept
    return jsonable(value)


def _full_state(runtime: Any) -> dict[str, Any]:
    """The whole state (the fields of a `snapshot` frame but its type and key)."""
    session = runtime.session
    platform = runtime.platform
    book = platform.book if platform is not None else None
    finished = session.status in ("final", "cancelled")
    if book is not None:
        book.close_if_ended()
    fields, values = _small_fields(runtime)
    return {
        **fields,
        "datamodel": values,
        "timers": [{"due": t.due, "id": t.seq} for t in runtime.run.group.clock.pending()],
        "internal_queue": [e.as_dict() for e in session.internal_queue],
        "external_queue": [e.as_dict() for e in session.external_queue],
        "requests": [_request_json(r, finished) for r in book.requests.values()] if book else [],
        "fakes": runtime.fakes,
        "op_seqs": [op["seq"] for op in _op_log(runtime)],
    }


def _diff(
    sent: dict[str, Any], now: dict[str, Any], touched: set[str] | None, sizes: Sizes | None = None
) -> dict[str, Any]:
    """`{changed, removed, patches?}` from `sent` to `now` (and `sent` becomes `now`): a large
    variable that changed a little travels as a patch (jsonpatch), so frames stay small.
    `touched`: the only variables that may differ (None: any), so the others are not compared.
    `sizes`: the sizes the trace's diffs measured (its values are `now`'s after a step)."""
    if touched is not None and not touched:
        return {}
    changed, removed, patches = diff_variables(sent, now, sizes, touched)
    sent.update(changed)
    sent.update((name, now[name]) for name in patches)
    for name in removed:
        del sent[name]
    out: dict[str, Any] = {"changed": changed, "removed": removed} if changed or removed or patches else {}
    if patches:
        out["patches"] = patches
    return out


def _queue_change(mirror: deque, queue: Sequence[Any]) -> dict[str, Any]:
    """`{drop, add}`: events gone from the head of a FIFO queue and events appended to it since
    `mirror` (the events last sent, updated). Work follows the change, not the queue's length."""
    dropped = 0
    head = queue[0] if queue else None
    while mirror and mirror[0] is not head:
        mirror.popleft()
        dropped += 1
    kept = len(mirror)
    if kept and (kept > len(queue) or queue[kept - 1] is not mirror[-1]):  # not FIFO: send it whole
        dropped += kept
        mirror.clear()
        kept = 0
    added = list(itertools.islice(reversed(queue), len(queue) - kept))[::-1]
    mirror.extend(added)
    if not dropped and not added:
        return {}
    return {"drop": dropped, "add": [e.as_dict() for e in added]}


# -- the client side ------------------------------------------------------------------------------


class ClientState:
    """A client's copy of a simulation: the state and the trace, rebuilt from frames.

    ``apply(frame)`` is False when a delta does not apply to the state held (the client then asks
    for a ``snapshot``); True otherwise (frames that are not state frames are ignored).
    """

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None
        self.records: list[dict[str, Any]] = []

    @property
    def key(self) -> str | None:
        return self.state["key"] if self.state is not None else None

    def apply(self, frame: dict[str, Any]) -> bool:
        kind = frame.get("type")
        if kind == "reset":
            self.records = list(frame["records"])
        elif kind == "snapshot":
            self.state = {k: v for k, v in frame.items() if k not in ("type", "reply_to", "running")}
        elif kind == "delta":
            if self.state is None or frame["base"] != self.state["key"]:
                return self.state is not None and frame["key"] == self.state["key"]
            apply_delta(self.state, frame)
            self.records.extend(frame.get("records") or ())
        return True

    def snapshot(self) -> dict[str, Any]:
        """The state as a `snapshot` frame would give it now (without `key`)."""
        assert self.state is not None, "no snapshot received yet"
        return {k: v for k, v in self.state.items() if k != "key"}


def apply_delta(state: dict[str, Any], delta: dict[str, Any]) -> None:
    """Bring `state` (a snapshot's fields) to the state a `delta` frame describes."""
    for name, value in delta.items():
        if name in TRANSIENT:
            continue
        if name == "datamodel":  # new containers, never changed in place: earlier states stay as they were
            datamodel = dict(state["datamodel"])
            update_variables(datamodel, value)
            state["datamodel"] = datamodel
        elif name in QUEUES:
            state[name] = state[name][value["drop"] :] + value["add"]
        elif name == "timers":
            removed = set(value["removed"])
            timers = [t for t in state["timers"] if t["id"] not in removed] + value["added"]
            state["timers"] = sorted(timers, key=lambda t: (t["due"], t["id"]))
        elif name == "op_seqs":
            state["op_seqs"] = state["op_seqs"] + value
        elif name == "requests":
            requests = list(state["requests"])
            index = {r["id"]: i for i, r in enumerate(requests)}
            for request in value:
                if request["id"] in index:
                    requests[index[request["id"]]] = request
                else:
                    requests.append(request)
            state["requests"] = requests
        else:
            state[name] = value
    state["key"] = delta["key"]
