"""Trace records: the one output format of the engine (documented field by field in docs/trace.md).

Inside the engine every record is a typed dataclass (one per record kind, below). Listeners get
each record as a plain JSON-serialisable ``dict`` built in one place, ``Tracer.emit``: ``"type"``
(one of ``RECORD_TYPES``), ``"seq"`` (1-based, numbered per session group, i.e. a root session and
the sessions it invokes), ``"session"`` (the ``_sessionid`` that produced it, ``None`` for group
records such as ``clock``) and ``"time"`` (virtual seconds), then the record's own fields in
declaration order (``invokeid`` last, on records of invoked sessions). Records are only built when
someone listens, so an untraced benchmark session pays nothing for them.

Public API: ``Tracer`` (numbering + fan-out to listeners), the record classes, ``RECORD_TYPES``,
``macrostep_record``/``microstep_record`` (records from the interpreter's steps),
``jsonable(value)`` (UNDEFINED/NaN/sets -> JSON-safe) and ``dumps(record)`` (compact, key order
kept).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Transition
    from .steps import MacroStep, MicroStep

RECORD_TYPES = (
    "start",
    "macrostep",
    "microstep",
    "action",
    "response",
    "log",
    "error",
    "datamodel",
    "clock",
    "raise",
    "send",
    "cancel",
    "invoke",
    "done",
    "console",
    "limit",
)

Listener = Callable[[dict[str, Any]], None]


class _Omit:
    """Marks a field left out of the record (e.g. `donedata` of a session stopped by an error)."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Any = _Omit()


# -- typed records (fields in the order listeners see them) --------------------------------------


@dataclass(slots=True)
class Record:
    """A trace record; its type name is `record_type(record)` (`_TYPES`)."""


@dataclass(slots=True)
class StartRecord(Record):
    name: str | None
    file: str
    parent: str | None


@dataclass(slots=True)
class MacrostepRecord(Record):
    event: dict[str, Any] | None
    internal_events: list[str]
    transitions: list[dict[str, Any]]
    exited: list[str]
    entered: list[str]
    configuration: list[str]


@dataclass(slots=True)
class MicrostepRecord(Record):
    event: str | None
    transitions: list[str]
    exited: list[str]
    entered: list[str]


@dataclass(slots=True)
class DatamodelRecord(Record):
    changed: dict[str, Any]
    removed: list[str]
    #: large variables that changed a little: `{name: jsonpatch operations}` (absent when none)
    patches: dict[str, list[dict[str, Any]]] | Any = OMIT


@dataclass(slots=True)
class LogRecord(Record):
    label: str | None
    value: Any
    file: str | None
    line: int | None
    #: dialect fields from `Profile.log_fields` (e.g. ORS `level`), appended as they come
    extra: dict[str, Any]


@dataclass(slots=True)
class RaiseRecord(Record):
    event: str
    file: str | None
    line: int | None


@dataclass(slots=True)
class SendRecord(Record):
    event: str | None
    sendid: str
    target: str | None
    io_type: str | None
    delay: int | float  # (not `float`: compiled, it would make an int a float)
    data: Any
    file: str | None
    line: int | None


@dataclass(slots=True)
class CancelRecord(Record):
    sendid: str
    file: str | None
    line: int | None


@dataclass(slots=True)
class InvokeRecord(Record):
    id: str
    child: str
    file: str | None
    line: int | None


@dataclass(slots=True)
class ErrorRecord(Record):
    kind: str
    event: str | None
    message: str
    file: str | None
    line: int | None


@dataclass(slots=True)
class ClockRecord(Record):
    from_: int | float  # numbers as given (see SendRecord.delay)
    to: int | float


@dataclass(slots=True)
class DoneRecord(Record):
    status: str
    final_state: str | None
    donedata: Any
    configuration: list[str]


@dataclass(slots=True)
class LimitRecord(Record):
    """A bound of the simulation stopped or will refuse work (emitted by the live simulator)."""

    limit: str
    value: int | float  # as given (see SendRecord.delay)
    message: str


@dataclass(slots=True)
class ExtensionRecord(Record):
    """A record a profile action handler emits (`ActionContext.emit`: ORS `action`/`response`)."""

    type: str
    fields: dict[str, Any]


#: each record class's type name (not a `ClassVar` of the class: mypyc, which compiles this module
#: (compiled.py), makes a dataclass's class variable one more field)
_TYPES: dict[type[Record], str] = {
    Record: "",
    StartRecord: "start",
    MacrostepRecord: "macrostep",
    MicrostepRecord: "microstep",
    DatamodelRecord: "datamodel",
    LogRecord: "log",
    RaiseRecord: "raise",
    SendRecord: "send",
    CancelRecord: "cancel",
    InvokeRecord: "invoke",
    ErrorRecord: "error",
    ClockRecord: "clock",
    DoneRecord: "done",
    LimitRecord: "limit",
}

#: dataclass field -> record key, where the key is a Python keyword
_KEYS = {"from_": "from"}
#: `(record, out) -> out`: the record's own fields added to `out`, one function per record class
_Filler = Callable[[Any, dict[str, Any]], dict[str, Any]]
_FILLERS: dict[type[Record], _Filler] = {}


def _filler(kind: type[Record]) -> _Filler:
    """The function adding a `kind` record's own fields to a dict, generated once per class from
    its dataclass fields, in their order: each read by name, OMIT left out, `extra` merged, keys
    renamed by _KEYS (a generic loop's `getattr`, tuple unpacking and name tests cost ~2 us a
    record, ~10 records a step)."""
    if issubclass(kind, ExtensionRecord):
        lines = ["    out.update(record.fields)"]
    else:
        lines = []
        for field in fields(kind):
            store = (
                "out.update(value)" if field.name == "extra" else f"out[{_KEYS.get(field.name, field.name)!r}] = value"
            )
            lines += [f"    value = record.{field.name}", f"    if value is not OMIT: {store}"]
    namespace: dict[str, Any] = {"OMIT": OMIT}
    exec("\n".join(["def fill(record, out):", *lines, "    return out"]), namespace)
    filler: _Filler = namespace["fill"]
    _FILLERS[kind] = filler
    return filler


def record_fields(record: Record) -> dict[str, Any]:
    """The record's own fields as the dict listeners receive (without the common fields)."""
    kind = type(record)
    return (_FILLERS.get(kind) or _filler(kind))(record, {})


def record_type(record: Record) -> str:
    return record.type if isinstance(record, ExtensionRecord) else _TYPES[type(record)]


# -- records from the interpreter's steps ----------------------------------------------------------


def transition_record(t: Transition) -> dict[str, Any]:
    return {
        "id": t.id,
        "source": t.source.id,
        "targets": [s.id for s in t.targets],
        "event": " ".join(t.events) or None,
        "file": t.file,
        "line": t.line,
    }


def microstep_record(step: MicroStep) -> MicrostepRecord:
    return MicrostepRecord(
        event=step.event.name if step.event is not None else None,
        transitions=[t.id for t in step.transitions],
        exited=[s.id for s in step.exited],
        entered=[s.id for s in step.entered],
    )


def macrostep_record(step: MacroStep, configuration: list[str]) -> MacrostepRecord:
    return MacrostepRecord(
        event=step.event.as_dict() if step.event is not None else None,
        internal_events=list(step.internal_events),
        transitions=[transition_record(t) for t in step.transitions],
        exited=[s.id for s in step.exited],
        entered=[s.id for s in step.entered],
        configuration=configuration,
    )


# -- values ---------------------------------------------------------------------------------------


#: the exact types `jsonable` returns as they are
_KEPT = frozenset({str, int, bool, type(None)})


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of a datamodel value (the datamodel's UNDEFINED becomes None)."""
    # The common kinds by exact type first (a frame's fields run through here every step): the
    # same values as the general checks below, which serve subclasses and the other kinds; a
    # container's items of those types are kept inline, without a call each.
    kind = type(value)
    if kind in _KEPT:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): v if type(v) in _KEPT else jsonable(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _KEPT else jsonable(v) for v in value]
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if type(value).__name__ == "XMLValue":
        return "".join(_xml_text(node) for node in value.tree)
    return None if type(value).__name__ in {"_Undefined", "Undefined", "UndefinedType"} else str(value)


def _xml_text(node: list[Any]) -> str:
    """XML text of one node of the datamodel's XMLValue tree (["e"|"t"|"c", ...])."""
    kind = node[0]
    if kind == "t":
        return html.escape(str(node[1]), quote=False)
    if kind == "c":
        return f"<!--{node[1]}-->"
    _, qname, _, _, attrs, children = node
    attributes = "".join(f' {k}="{html.escape(v)}"' for k, v in attrs)
    if not children:
        return f"<{qname}{attributes}/>"
    return f"<{qname}{attributes}>{''.join(_xml_text(c) for c in children)}</{qname}>"


def dumps(record: dict[str, Any]) -> str:
    """One JSON line for a record."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str)


class Tracer:
    """Numbers records and hands them to listeners; shared by the sessions of one group."""

    __slots__ = ("clock", "listeners", "seq")

    def __init__(self, clock: Any):
        self.clock = clock
        self.seq = 0
        self.listeners: list[Listener] = []

    @property
    def active(self) -> bool:
        return bool(self.listeners)

    def emit(
        self,
        record: Record,
        session: str | None,
        invokeid: str | None = None,
        extra_listeners: list[Listener] | tuple[()] = (),
        own_fields: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Serialise, number and deliver one record: the only place records become dicts.

        `own_fields` is the record's fields when the caller already built them (see
        `record_fields`); `extra_listeners` are the emitting session's own listeners.
        """
        self.seq += 1
        out: dict[str, Any] = {"type": record_type(record), "seq": self.seq, "session": session, "time": self.clock.now}
        if own_fields is None:
            kind = type(record)
            (_FILLERS.get(kind) or _filler(kind))(record, out)
        else:
            out.update(own_fields)
        if invokeid is not None:
            out["invokeid"] = invokeid
        for listener in list(self.listeners):
            listener(out)
        if extra_listeners:
            for listener in list(extra_listeners):
                listener(out)
        return out
