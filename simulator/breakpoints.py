"""Where a `run` stops: breakpoints on states, transitions, events and extension actions.

Pure Python: the set of breakpoints of a simulation (``Breakpoints``, validated against the
protocol's ``BREAKPOINTS_SCHEMA``) and ``hits``, which finds the breakpoints the trace records of
one step reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.protocol import BREAKPOINT_KINDS, check_breakpoints
from simulator.scxml.model import event_matches


def _action_matches(spec: str, module: str, action: str) -> bool:
    """`queue:submit`, `queue:*`, `submit` (any module) or `queue` (any action of it)."""
    if ":" in spec:
        m, a = spec.split(":", 1)
        return m in (module, "*") and a in (action, "*")
    return spec in (action, module)


@dataclass
class Breakpoints:
    """Where a `run` stops: states entered/exited, transitions, event names, extension actions."""

    entered: set[str] = field(default_factory=set)
    exited: set[str] = field(default_factory=set)
    transitions: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    actions: set[str] = field(default_factory=set)

    KINDS = BREAKPOINT_KINDS

    @classmethod
    def from_json(cls, data: Any) -> Breakpoints:
        """Validated breakpoints; `OpError` for anything but lists of strings per kind."""
        data = check_breakpoints(data)
        out = cls()
        for kind in cls.KINDS:
            setattr(out, kind, set(data.get(kind, [])))
        return out

    def to_json(self) -> dict[str, list[str]]:
        return {kind: sorted(getattr(self, kind)) for kind in self.KINDS}

    def hits(self, records: list[dict]) -> list[dict]:
        """The breakpoints the `records` of one step hit ([] when none)."""
        found: list[dict] = []
        for r in records:
            if r["type"] == "macrostep":
                found += [{"kind": "entered", "value": s, "seq": r["seq"]} for s in r["entered"] if s in self.entered]
                found += [{"kind": "exited", "value": s, "seq": r["seq"]} for s in r["exited"] if s in self.exited]
                found += [
                    {"kind": "transitions", "value": t["id"], "seq": r["seq"]}
                    for t in r["transitions"]
                    if t["id"] in self.transitions
                ]
                names = ([r["event"]["name"]] if r.get("event") else []) + list(r.get("internal_events", []))
                found += [
                    {"kind": "events", "value": d, "seq": r["seq"]}
                    for n in names
                    for d in self.events
                    if event_matches(d, n)
                ]
            elif r["type"] == "action" and self.actions:
                req = r.get("request") or {}
                found += [
                    {"kind": "actions", "value": a, "seq": r["seq"]}
                    for a in self.actions
                    if _action_matches(a, str(req.get("module")), str(req.get("action")))
                ]
        return found
