"""Trace records: the one output format of the engine (documented field by field in docs/trace.md).

Every record is a plain JSON-serialisable ``dict`` with ``"type"`` (one of ``RECORD_TYPES``),
``"seq"`` (1-based, numbered per session group, i.e. a root session and the sessions it invokes),
``"session"`` (the ``_sessionid`` that produced it, ``None`` for group records such as ``clock``)
and ``"time"`` (virtual seconds). Records are only built when someone listens, so an untraced
benchmark session pays nothing for them.

Public API: ``Tracer`` (numbering + fan-out to listeners), ``RECORD_TYPES``, ``jsonable(value)``
(UNDEFINED/NaN/sets -> JSON-safe) and ``dumps(record)`` (compact, key order kept).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from typing import Any

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
)

Listener = Callable[[dict], None]


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of a datamodel value (the datamodel's UNDEFINED becomes None)."""
    if value is None or isinstance(value, (bool, int, str)):
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


def _xml_text(node: list) -> str:
    """XML text of one node of the datamodel's XMLValue tree (["e"|"t"|"c", ...])."""
    kind = node[0]
    if kind == "t":
        return html.escape(node[1], quote=False)
    if kind == "c":
        return f"<!--{node[1]}-->"
    _, qname, _, _, attrs, children = node
    attributes = "".join(f' {k}="{html.escape(v)}"' for k, v in attrs)
    if not children:
        return f"<{qname}{attributes}/>"
    return f"<{qname}{attributes}>{''.join(_xml_text(c) for c in children)}</{qname}>"


def dumps(record: dict) -> str:
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

    def emit(self, type_: str, session: str | None, fields: dict) -> dict:
        """Build, number and deliver one record."""
        self.seq += 1
        record = {"type": type_, "seq": self.seq, "session": session, "time": self.clock.now}
        record.update(fields)
        for listener in list(self.listeners):
            listener(record)
        return record
