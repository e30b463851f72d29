"""Where a `run` stops: breakpoints on states, transitions, events, extension actions and errors.

Pure Python: the breakpoints of a simulation (``Breakpoints``, validated against the protocol's
``BREAKPOINTS_SCHEMA``) and ``hits``, which finds the breakpoints the trace records of one step
reached. A breakpoint is named ``kind:value`` (``entered:MainWorkflow.playMain``); it may carry a
condition (an ECMAScript expression: the run stops only when it holds, checked by the caller on a
copy of the variables) and be disabled without being deleted. ``errors`` (on by default) stops on
any ``error.*`` event.

An ``actions`` hit carries the ``request`` (module, action, file, line) that matched: a run stops
*before* such a request is sent (``SimulationRuntime`` undoes the macrostep that sent it and turns
the hit into a ``before_request`` hit).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from simulator.protocol import BREAKPOINT_KINDS, check_breakpoints
from simulator.scxml.model import event_matches

#: condition expression -> (holds, error message or None)
Condition = Callable[[str], tuple[bool, str | None]]


def _action_matches(spec: str, module: str, action: str) -> bool:
    """`queue:submit`, `queue:*`, `submit` (any module) or `queue` (any action of it)."""
    if ":" in spec:
        m, a = spec.split(":", 1)
        return m in (module, "*") and a in (action, "*")
    return spec in (action, module)


@dataclass(frozen=True)
class Breakpoints:
    """Where a `run` stops (see the module docstring). Immutable: a change is a new object, so
    its JSON is made once (every frame carries it)."""

    entered: frozenset[str] = frozenset()
    exited: frozenset[str] = frozenset()
    transitions: frozenset[str] = frozenset()
    events: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()
    #: `kind:value` -> condition expression
    conditions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: `kind:value` of breakpoints kept but switched off
    disabled: frozenset[str] = frozenset()
    #: stop on any `error.*` event
    errors: bool = True

    KINDS = BREAKPOINT_KINDS

    @classmethod
    def from_json(cls, data: Any) -> Breakpoints:
        """Validated breakpoints; `OpError` for anything the schema refuses."""
        data = check_breakpoints(data)
        return cls(
            **{kind: frozenset(data.get(kind, [])) for kind in cls.KINDS},
            conditions=MappingProxyType({k: v for k, v in (data.get("conditions") or {}).items() if v.strip()}),
            disabled=frozenset(data.get("disabled") or []),
            errors=bool(data.get("errors", True)),
        )

    def to_json(self) -> dict[str, Any]:
        """The breakpoints as JSON: the same dict at every call (callers do not change it)."""
        return self._json

    @cached_property
    def _json(self) -> dict[str, Any]:
        out: dict[str, Any] = {kind: sorted(getattr(self, kind)) for kind in self.KINDS}
        if self.conditions:
            out["conditions"] = dict(sorted(self.conditions.items()))
        if self.disabled:
            out["disabled"] = sorted(self.disabled)
        if not self.errors:
            out["errors"] = False
        return out

    def hits(self, records: list[dict], condition: Condition | None = None) -> list[dict]:
        """The breakpoints the `records` of one step hit ([] when none); `condition` checks the
        conditions of those that have one (without it, conditional breakpoints never stop)."""
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
                if self.errors:
                    found += [{"kind": "errors", "value": n, "seq": r["seq"]} for n in names if n.startswith("error.")]
            elif r["type"] == "action" and self.actions:
                req = r.get("request") or {}
                request = {k: req.get(k) for k in ("module", "action", "file", "line")}
                found += [
                    {"kind": "actions", "value": a, "seq": r["seq"], "request": request}
                    for a in self.actions
                    if _action_matches(a, str(req.get("module")), str(req.get("action")))
                ]
        return [hit for hit in found if self._stops(hit, condition)]

    def _stops(self, hit: dict, condition: Condition | None) -> bool:
        key = f"{hit['kind']}:{hit['value']}"
        if key in self.disabled:
            return False
        expression = self.conditions.get(key)
        if expression is None:
            return True
        if condition is None:
            return False
        holds, error = condition(expression)
        hit["condition"] = expression
        if error is not None:
            hit["condition_error"] = error
        return holds


def before_request(hit: dict, seq: int) -> dict:
    """An ``actions`` hit as a stop before its request is sent: the run paused at record `seq`
    (the last one before the macrostep that would send it), with a message naming the request."""
    req = hit["request"]
    where = f" at {req['file']}:{req['line']}" if req.get("file") else ""
    return {**hit, "seq": seq, "before": True, "message": f"before {req['module']}:{req['action']}{where}"}
