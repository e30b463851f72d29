"""``manage.py simulate --profile ors``: headless runs of Composer projects (logic; no Django).

``run_ors_paths(paths, out, fmt, entry, fakes, injections, max_time, seed) -> exit status``:
each path is a project directory, a ``.zip`` or an ``.scxml`` file; the entry is ``--entry`` or
the project's IPD.  Prints the trace records (jsonl or text) and one summary line per project with
the ORS ``outcome`` and every extension request with its result.  Exit status: 2 for definition
or input errors, 1 when a session ended in error, else 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from simulator.headless import format_text, record_writer
from simulator.scxml.errors import DocumentError
from simulator.scxml.trace import jsonable

from .fakes import FakesError, load_fakes
from .project import OrsRun, ProjectError, find_entry, load_project


def read_fakes(path: str | Path | None) -> Any:
    """The fakes profile JSON of `path` (None: the defaults); FakesError explains problems."""
    if path is None:
        return load_fakes(None)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise FakesError([f"cannot read {path}: {exc.strerror}"]) from exc
    return load_fakes(text)


def _format_text(record: dict) -> str:
    """`format_text`, with the ORS summary: outcome and one line per extension request."""
    if record.get("type") != "done" or "outcome" not in record:
        return format_text(record)
    lines = [
        f"done: status={record['status']} final_state={record['final_state']} "
        f"outcome={json.dumps(record['outcome'])} virtual_time={record['virtual_time']:g}s "
        f"errors={len(record['errors'])}"
    ]
    for q in record["requests"]:
        last = q["responses"][-1]["name"] if q["responses"] else "-"
        lines.append(f"  request {q['id']} {q['module']}:{q['action']} line {q['line']}: {q['status']} {last}")
    return "\n".join(lines)


def run_project(
    path: str | Path,
    emit: Callable[[dict], None] | None = None,
    entry: str | None = None,
    fakes: Any = None,
    injections: Iterable[Any] = (),
    max_time: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Run one project; returns the summary record (``type: done``) with outcome and requests."""
    files = load_project(path)
    entry = entry or find_entry(files)
    if entry not in files:
        raise ProjectError(f"{path}: no file {entry!r} in the project")
    run = OrsRun(files, entry=entry, fakes=fakes, seed=seed)
    if emit is not None:
        run.group.listeners.append(emit)
    run.start()
    for injection in injections:  # through the platform: hangup/abandon shortcuts, object model, outcome
        run.platform.inject(injection.name, injection.data or {}, injection.at, source="cli")
    verdict = run.run(max_time=max_time if max_time is not None else 24 * 3600.0)
    summary = run.summary()
    status = summary["status"]
    if status == "running":
        status = "limit" if verdict == "limit" else "idle"
    record = {
        "type": "done",
        "project": str(path),
        "entry": entry,
        "status": status,
        "final_state": summary["final_state"],
        "configuration": summary["configuration"],
        "events": summary["events"],
        "virtual_time": summary["time"],
        "errors": jsonable(summary["errors"]),
        "outcome": summary["outcome"],
        "requests": jsonable(summary["requests"]),
    }
    run.session.close()
    return record


def run_ors_paths(
    paths: Iterable[str | Path],
    out: TextIO,
    fmt: str = "jsonl",
    entry: str | None = None,
    fakes: str | Path | None = None,
    injections: Iterable[Any] = (),
    max_time: float | None = None,
    seed: int = 0,
) -> int:
    """The CLI loop (see module docstring); returns the exit status."""
    write = record_writer(out, fmt, _format_text)
    try:
        profile = read_fakes(fakes)
    except FakesError as exc:
        write({"type": "error", "kind": "fakes", "message": str(exc), "problems": exc.problems})
        return 2
    status = 0
    for path in paths:
        try:
            summary = run_project(path, write, entry, profile, injections, max_time, seed)
        except (ProjectError, OSError) as exc:
            write({"type": "error", "kind": "project", "file": str(path), "message": str(exc)})
            status = 2
            continue
        except DocumentError as exc:
            for err in exc.errors:
                write(err.as_record())
            status = 2
            continue
        if summary["status"] == "error" and status == 0:
            status = 1
        write(summary)
        out.flush()
    return status
