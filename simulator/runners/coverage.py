"""State and transition coverage of a strategy from trace records, measured on the graph JSON.

Which states of the entry document were entered and which transitions fired, over one run or the
union of many (scenarios, a batch): totals, percentages and the uncovered states and transitions
with their ``file:line``.  Pure Python, no Django.

What counts: every ``state``, ``parallel`` and ``final`` of the graph (not the ``<scxml>`` root,
``<initial>`` pseudo-states or ``<history>``), and every transition except those of ``<initial>``
elements (the engine takes them as part of entering their parent, never as a fired transition).
A trace transition is matched to the graph by its source state, file and line, so the
correspondence does not depend on how either side numbers transitions.  Only the root session's
records count (an invoked child runs another document).

Public API
----------
``Coverage()``
    Accumulator: ``add(records)`` (any iterable of trace records, e.g. a live session's),
    ``update(other)`` (union), ``states`` / ``transitions`` (covered keys), ``report(graph)``,
    ``heat(graph)`` (how many runs visited each state and transition: the diagram's heat).
``compute_coverage(graph, records) -> dict``
    One-shot report (see :meth:`Coverage.report` for its fields).
``format_coverage(report) -> str``
    Human-readable summary with one ``file:line`` line per uncovered item (and its hint).
Hints on uncovered transitions (ORS events: hang-up, failing request...) come from
``simulator.ors.analysis.coverage_hint``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, KeysView, Mapping
from typing import Any

from simulator.ors.analysis import coverage_hint

#: graph state kinds that count for coverage
COUNTED_KINDS = ("state", "parallel", "final")

TransitionKey = tuple[str, str | None, int | None]


def transition_key(transition: Mapping[str, Any]) -> TransitionKey:
    """(source, file, line): identifies a transition in both the graph and the trace."""
    return (str(transition.get("source")), transition.get("file"), transition.get("line"))


class Coverage:
    """Covered states and transitions, with how many runs visited each, over any number of traces."""

    def __init__(self) -> None:
        self.state_runs: Counter[str] = Counter()
        self.transition_runs: Counter[TransitionKey] = Counter()
        self.runs = 0

    @property
    def states(self) -> KeysView[str]:
        """The covered states."""
        return self.state_runs.keys()

    @property
    def transitions(self) -> KeysView[TransitionKey]:
        """The covered transitions (see transition_key)."""
        return self.transition_runs.keys()

    def add(self, records: Iterable[Mapping[str, Any]]) -> Coverage:
        """Count the states entered and transitions fired by the root session of one trace."""
        root: str | None = None
        states: set[str] = set()
        transitions: set[TransitionKey] = set()
        for record in records:
            kind = record.get("type")
            if root is None and kind == "start":
                root = record.get("session")
            if kind != "macrostep" or record.get("session") != root or "invokeid" in record:
                continue
            states.update(record.get("entered") or ())
            transitions.update(transition_key(t) for t in record.get("transitions") or ())
        self.state_runs.update(states)
        self.transition_runs.update(transitions)
        self.runs += 1
        return self

    def update(self, other: Coverage) -> Coverage:
        """Union with another accumulator (e.g. a batch worker's): visit counts add up."""
        self.state_runs.update(other.state_runs)
        self.transition_runs.update(other.transition_runs)
        self.runs += other.runs
        return self

    def to_json(self) -> dict[str, Any]:
        """Picklable/JSON form (sorted), for process pools and storage."""
        return {
            "states": dict(sorted(self.state_runs.items())),
            "transitions": sorted(
                ([*k, n] for k, n in self.transition_runs.items()), key=lambda k: (k[0], str(k[1]), k[2] or 0)
            ),
            "runs": self.runs,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Coverage:
        """Inverse of :meth:`to_json`."""
        cov = cls()
        cov.state_runs = Counter({str(k): int(n) for k, n in data.get("states", {}).items()})
        cov.transition_runs = Counter({(k[0], k[1], k[2]): int(k[3]) for k in data.get("transitions", ())})
        cov.runs = int(data.get("runs", 0))
        return cov

    def heat(self, graph: Mapping[str, Any]) -> dict[str, Any]:
        """How many runs visited each counted state and transition of `graph` (graph ids)::

            {"runs", "states": {id: n}, "transitions": {tid: n}}

        zero = never visited. The diagram's heat (Tests tab, batch page) draws this.
        """
        kinds = {s["id"]: s["kind"] for s in graph.get("states", [])}
        states = {
            s["id"]: self.state_runs.get(s["id"], 0) for s in graph.get("states", []) if s["kind"] in COUNTED_KINDS
        }
        transitions = {
            t["id"]: self.transition_runs.get(transition_key(t), 0)
            for t in graph.get("transitions", [])
            if kinds.get(t["source"]) != "initial"
        }
        return {"runs": self.runs, "states": states, "transitions": transitions}

    def report(self, graph: Mapping[str, Any]) -> dict[str, Any]:
        """Coverage of `graph` (graph JSON of the entry document)::

            {"entry", "runs",
             "states": {"total", "covered", "percent", "uncovered": [{"id", "kind", "file", "line"}]},
             "transitions": {"total", "covered", "percent",
                             "uncovered": [{"id", "source", "targets", "event", "cond", "file", "line",
                                            "hint"}]}}

        ``percent`` is rounded to one decimal (100.0 for an empty set); ``hint`` says how a
        scenario could take the transition when its event tells (a hang-up, a failing request...),
        else null.
        """
        kinds = {s["id"]: s["kind"] for s in graph.get("states", [])}
        states = [s for s in graph.get("states", []) if s["kind"] in COUNTED_KINDS]
        transitions = [t for t in graph.get("transitions", []) if kinds.get(t["source"]) != "initial"]
        missed_states = [s for s in states if s["id"] not in self.states]
        missed_transitions = [t for t in transitions if transition_key(t) not in self.transitions]
        return {
            "entry": graph.get("entry"),
            "runs": self.runs,
            "states": _section(
                len(states),
                [{k: s.get(k) for k in ("id", "kind", "file", "line")} for s in missed_states],
            ),
            "transitions": _section(
                len(transitions),
                [
                    {
                        **{k: t.get(k) for k in ("id", "source", "targets", "event", "cond", "file", "line")},
                        "hint": coverage_hint(t),
                    }
                    for t in missed_transitions
                ],
            ),
        }


def _section(total: int, uncovered: list[dict[str, Any]]) -> dict[str, Any]:
    covered = total - len(uncovered)
    percent = round(100.0 * covered / total, 1) if total else 100.0
    return {"total": total, "covered": covered, "percent": percent, "uncovered": uncovered}


def compute_coverage(graph: Mapping[str, Any], records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Coverage report of one trace against `graph` (see :meth:`Coverage.report`)."""
    return Coverage().add(records).report(graph)


def format_coverage(report: Mapping[str, Any]) -> str:
    """Text summary: percentages, then ``file:line: state X`` / ``transition ...`` per uncovered item."""
    states, transitions = report["states"], report["transitions"]
    lines = [
        f"coverage of {report.get('entry')} over {report.get('runs', 0)} run(s): "
        f"states {states['covered']}/{states['total']} ({states['percent']:g}%), "
        f"transitions {transitions['covered']}/{transitions['total']} ({transitions['percent']:g}%)"
    ]
    for s in states["uncovered"]:
        lines.append(f"  {s['file']}:{s['line']}: state {s['id']} never entered")
    for t in transitions["uncovered"]:
        event = f" on {t['event']}" if t.get("event") else ""
        target = " -> " + " ".join(t["targets"]) if t.get("targets") else " (targetless)"
        lines.append(f"  {t['file']}:{t['line']}: transition {t['source']}{target}{event} never taken")
        if t.get("hint"):
            lines.append(f"      hint: {t['hint']}")
    return "\n".join(lines)
