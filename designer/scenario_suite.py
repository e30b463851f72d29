"""Scenarios in the browser: run a project's ``scenarios/*.json`` for a version or a draft.

The runs go through the CLI's engine (:mod:`simulator.runners.scenarios`); this module adds what
the web needs around it:

* bounds: at most ``MAX_SCENARIOS`` scenarios per suite, a wall-clock budget per suite
  (``SUITE_SECONDS``: scenarios not started in time are reported as not run) and one suite at a
  time per user (``user_slot``, a cache lock shared by every process using the cache);
* the stored verdicts of a version (:class:`designer.models.ScenarioSuiteRun`, keyed by version
  and content hash: a version is immutable, so its results are too);
* what the pages draw: the summary line, the failing record of a failed scenario, the per-state
  and per-transition visit counts (how many scenarios visited each) and the verdict changes
  between two versions.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any

from django.core.cache import cache

from designer.models import ScenarioSuiteRun, Version
from simulator.ors.analysis import build_graph
from simulator.ors.project import find_entry
from simulator.runners.coverage import Coverage
from simulator.runners.scenarios import (
    ScenarioResult,
    project_scenarios,
    run_scenario,
    suite_report,
)
from simulator.scxml.errors import DocumentError

#: scenarios one suite runs at most (the rest are reported as not run)
MAX_SCENARIOS = 50
#: wall-clock seconds a suite may spend; a scenario is not started once they are spent
SUITE_SECONDS = 60.0
#: how long the per-user lock lives if its holder died without releasing it
LOCK_SECONDS = int(SUITE_SECONDS * 3)


class Busy(Exception):
    """The user already runs a suite (one at a time per user)."""


@contextlib.contextmanager
def user_slot(user_id: int) -> Iterator[None]:
    """Hold the user's one suite slot for the duration of a run (``Busy`` when it is taken)."""
    key = f"designer:scenario-suite:{user_id}"
    if not cache.add(key, 1, LOCK_SECONDS):
        raise Busy("You already run scenarios; wait for that run to finish.")
    try:
        yield
    finally:
        cache.delete(key)


def files_hash(files: Mapping[str, bytes], entry: str) -> str:
    """sha256 over the entry and every (path, content): what a suite's verdicts depend on."""
    digest = hashlib.sha256(entry.encode())
    for path in sorted(files):
        digest.update(b"\0" + path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return digest.hexdigest()


_AT = re.compile(r"^t=([0-9.eE+-]+):")


def failing_record(result: ScenarioResult) -> int | None:
    """The trace record to open for a failed scenario: for a failed step (or mid-run expect) the
    last record at its virtual time, else the last record of the run (where the assertions were
    checked); None when it passed or never ran."""
    if result.passed or not result.trace:
        return None
    first = result.failures[0] if result.failures else None
    match = _AT.match(first.message) if first else None
    records = [r for r in result.trace if "seq" in r]
    if not records:
        return None
    if match:
        at = float(match.group(1))
        before = [r for r in records if float(r.get("time") or 0.0) <= at]
        if before:
            return int(before[-1]["seq"])
    return int(records[-1]["seq"])


def visit_counts(graph: Mapping[str, Any], results: list[ScenarioResult]) -> dict[str, Any]:
    """How many scenarios visited each counted state and transition of `graph` (graph ids):
    ``{"runs", "states": {id: n}, "transitions": {tid: n}}``; zero = never visited."""
    union = Coverage()
    for result in results:
        if result.trace:
            union.add(result.trace)
    return union.heat(graph)


def run_suite(
    files: Mapping[str, bytes], entry: str, paths: list[str] | None = None, budget: float = SUITE_SECONDS
) -> dict[str, Any]:
    """Run the project's scenarios (or `paths`), bounded in count and time, and return the report::

    {"passed", "failed", "not_run": [paths], "seconds", "summary" (one line),
     "results": [result JSON (no trace) + "record" (failing record or null)],
     "coverage": CLI coverage report (with hints), "heat": visit_counts}
    """
    available = project_scenarios(files)
    wanted = available if paths is None else [p for p in paths if p in available]
    chosen, not_run = wanted[:MAX_SCENARIOS], wanted[MAX_SCENARIOS:]
    started = time.perf_counter()
    results: list[ScenarioResult] = []
    for path in chosen:
        if results and time.perf_counter() - started > budget:  # the first one always runs
            not_run.append(path)
            continue
        results.append(run_scenario(files, files[path], entry=entry or None, source=path))
    try:
        entry = entry or find_entry(files)
        graph: dict[str, Any] | None = build_graph(files, entry)
        report = suite_report(files, results, entry=entry)
    except (DocumentError, ValueError):  # no entry, or a draft that does not load: verdicts without coverage
        graph = None
        report = suite_report(files, results, entry=entry, coverage=False)
    for result, data in zip(results, report["results"], strict=True):
        data["record"] = failing_record(result)
    report["not_run"] = not_run
    report["seconds"] = round(time.perf_counter() - started, 3)
    report["heat"] = visit_counts(graph, results) if graph is not None else None
    report["summary"] = summary_line(report)
    return report


def summary_line(report: Mapping[str, Any]) -> str:
    """ "12/12 scenarios pass, 87% of transitions covered"."""
    total = report["passed"] + report["failed"]
    line = f"{report['passed']}/{total} scenarios pass"
    coverage = report.get("coverage")
    if coverage and total:
        line += f", {coverage['transitions']['percent']:g}% of transitions covered"
    if report.get("not_run"):
        line += f" ({len(report['not_run'])} not run)"
    return line


def stored_run(version: Version) -> ScenarioSuiteRun | None:
    """The stored verdicts of a version, or None if never run (a version's content never changes,
    so its one row is found without hashing the files)."""
    return ScenarioSuiteRun.objects.filter(version=version).first()


def run_version(version: Version, user: Any) -> ScenarioSuiteRun:
    """The version's stored verdicts, running its whole suite first when there are none."""
    files = version.read_files()
    digest = files_hash(files, version.entry)
    found = ScenarioSuiteRun.objects.filter(version=version, files_hash=digest).first()
    if found is not None:
        return found
    report = run_suite(files, version.entry)
    run, _ = ScenarioSuiteRun.objects.get_or_create(
        version=version,
        files_hash=digest,
        defaults={
            "report": report,
            "passed": report["passed"],
            "failed": report["failed"],
            "transitions_percent": (report.get("coverage") or {}).get("transitions", {}).get("percent"),
            "ran_by": user if getattr(user, "is_authenticated", False) else None,
        },
    )
    return run


def verdict_changes(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Scenarios whose verdict differs between two reports: ``[{"source", "name", "a", "b"}]`` with
    a/b one of "pass", "fail" or None (absent from that version)."""
    if a is None or b is None:
        return []

    def verdicts(report: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
        return {
            str(r["source"]): (str(r["name"]), "pass" if r["passed"] else "fail") for r in report.get("results", [])
        }

    va, vb = verdicts(a), verdicts(b)
    changes = []
    for source in sorted(va.keys() | vb.keys()):
        left, right = va.get(source), vb.get(source)
        if (left and left[1]) != (right and right[1]):
            name = (right or left or (source, ""))[0]
            changes.append({"source": source, "name": name, "a": left and left[1], "b": right and right[1]})
    return changes
