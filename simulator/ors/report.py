"""What an ORS run reports: the strategy's outcome, its extension requests, the CLI summary text.

``run_report(session) -> {"outcome", "requests", "assumptions"}`` is the ORS part of every run summary (the
runners' ``OrsRun.summary``, the simulator page's snapshot, scenarios, batches);
``format_summary(record)`` is the text form of such a summary (``simulate --format text``).
"""

from __future__ import annotations

import json
from typing import Any

from simulator.scxml.trace import jsonable

from .assumptions import summary_lines
from .platform import platform_of


def run_report(session: Any, requests: bool = True) -> dict[str, Any]:
    """The outcome (routed / terminated / abandoned / waiting / error) and, with `requests`,
    every request with its result (those still pending when the session ended: ``closed``) and
    what the fakes had to assume (``assumption`` records without their trace fields)."""
    platform = platform_of(session)
    if platform is None:
        report: dict[str, Any] = {"outcome": {"status": "error", "error": "not started"}}
        return {**report, "requests": [], "assumptions": []} if requests else report
    finished = session.status in ("final", "cancelled")
    error = None
    if session.status == "error":
        error = next((e.get("message") for e in reversed(session.errors)), "session error")
    report = {"outcome": jsonable(platform.final_outcome(finished, error))}
    if requests:
        report["requests"] = jsonable(platform.requests_json(finished))
        report["assumptions"] = jsonable(platform.assumptions)
    return report


def format_summary(record: dict[str, Any]) -> str:
    """The summary line with the ORS outcome, one line per extension request, then what was assumed."""
    lines = [
        f"done: status={record['status']} final_state={record['final_state']} "
        f"outcome={json.dumps(record['outcome'])} virtual_time={record['virtual_time']:g}s "
        f"errors={len(record['errors'])}"
    ]
    for q in record["requests"]:
        last = q["responses"][-1]["name"] if q["responses"] else "-"
        lines.append(f"  request {q['id']} {q['module']}:{q['action']} line {q['line']}: {q['status']} {last}")
    lines += summary_lines(record.get("assumptions", ()))
    return "\n".join(lines)
