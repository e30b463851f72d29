"""Headless runs of SCXML documents on the virtual clock (the logic behind `manage.py simulate`).

Pure Python, no Django. Public API:

``PROFILES``
    Profile registry ``{name: "module:attribute"}``; the attribute is a ``Profile`` instance or a
    class (instantiated with no arguments). Dialects register by adding one entry; imports are
    lazy, so ``w3c`` runs never import the ORS package.
``resolve_profile(name_or_profile) -> Profile``
``Injection`` / ``parse_inject("NAME[:JSON][@SECONDS]") -> Injection``
``run_document(path, profile="w3c", injections=(), max_time=None, seed=0, emit=None,
project_root=None, setup=None, max_macrosteps=...) -> dict``
    Loads ``path`` with the files of ``project_root`` (default: the document's folder) as the
    project, runs it until it terminates, goes idle with no timers left, or ``max_time`` virtual
    seconds pass, calling ``emit(record)`` for each trace record. Returns the summary record
    ``{"type": "done", "status": "final"|"idle"|"error"|"limit", "final_state", "configuration",
    "events", "virtual_time", "errors"}``; definition errors give ``status "error"`` with
    ``definition_errors`` (the CLI prints them and exits with status 2). ``setup(group, session)``
    runs before the session starts (dialects use it to install fakes).
``run_paths(paths, out, fmt="jsonl", **options) -> int``
    The CLI: one summary line per path; exit status 2 if any document had definition errors.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from simulator.scxml.errors import DefinitionError
from simulator.scxml.interpreter import SessionGroup
from simulator.scxml.loader import DirectoryProject
from simulator.scxml.model import get_model
from simulator.scxml.profile import Profile
from simulator.scxml.trace import dumps, jsonable

PROFILES: dict[str, str] = {
    "w3c": "simulator.scxml.profile:W3C",
    "ors": "simulator.ors.dialect:ORSProfile",
}

#: safety net for charts that keep themselves busy forever on the virtual clock
DEFAULT_MAX_MACROSTEPS = 100_000


def resolve_profile(profile: str | Profile) -> Profile:
    """A Profile instance from a registry name (or the instance itself)."""
    if isinstance(profile, Profile):
        return profile
    try:
        target = PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown profile {profile!r} (known: {', '.join(sorted(PROFILES))})") from None
    module, _, attribute = target.partition(":")
    value = getattr(importlib.import_module(module), attribute)
    return value() if isinstance(value, type) else value


@dataclass(frozen=True)
class Injection:
    """An external event to inject at virtual time `at` (seconds)."""

    name: str
    data: Any = None
    at: float = 0.0


_AT = re.compile(r"@\s*(\d+(?:\.\d*)?|\.\d+)\s*$")


def parse_inject(text: str) -> Injection:
    """Parse `NAME[:JSON][@SECONDS]`, e.g. `ping`, `call:{"n": 1}`, `hangup@30`."""
    at = 0.0
    match = _AT.search(text)
    if match:
        at = float(match.group(1))
        text = text[: match.start()]
    name, sep, payload = text.partition(":")
    name = name.strip()
    if not name or not re.fullmatch(r"[^\s:@]+", name):
        raise ValueError(f"invalid event name in --inject {text!r}")
    data = None
    if sep:
        try:
            data = json.loads(payload)
        except ValueError as exc:
            raise ValueError(f"invalid JSON in --inject {text!r}: {exc}") from None
    return Injection(name, data, at)


def _summary(status: str, session: Any, group: SessionGroup | None, errors: list[dict]) -> dict:
    return {
        "type": "done",
        "status": status,
        "final_state": session.final_state if session is not None else None,
        "configuration": (session.configuration_ids if session.running else session.final_configuration)
        if session is not None
        else [],
        "events": sum(s.events_processed for s in group.sessions.values()) if group is not None else 0,
        "virtual_time": group.clock.now if group is not None else 0.0,
        "errors": errors,
    }


def run_document(
    path: str | Path,
    profile: str | Profile = "w3c",
    injections: Iterable[Injection] = (),
    max_time: float | None = None,
    seed: int = 0,
    emit: Callable[[dict], None] | None = None,
    project_root: str | Path | None = None,
    setup: Callable[[SessionGroup, Any], None] | None = None,
    max_macrosteps: int = DEFAULT_MAX_MACROSTEPS,
) -> dict:
    """Run one document headless (see module docstring); returns the summary record."""
    path = Path(path).resolve()
    root = Path(project_root).resolve() if project_root is not None else path.parent
    prof = resolve_profile(profile)
    project = DirectoryProject(root)
    try:
        entry = path.relative_to(root).as_posix()
    except ValueError:
        entry = None
    if entry is None or not path.is_file():
        error = DefinitionError(f"{path} is not a file inside the project folder {root}", str(path))
        summary = _summary("error", None, None, [error.as_record()])
        summary["definition_errors"] = [error.as_record()]
        return summary
    model = get_model(project, entry, prof)
    if model.errors:
        records = [e.as_record() for e in model.errors]
        summary = _summary("error", None, None, records)
        summary["definition_errors"] = records
        return summary
    group = SessionGroup(seed=seed, profile=prof, project=project)
    if emit is not None:
        # The headless summary replaces the root session's own "done" record.
        group.listeners.append(emit)
    session = group.create_session(model)
    if setup is not None:
        setup(group, session)
    for injection in injections:
        session.inject(injection.name, injection.data, delay=injection.at)
    session.start()
    outcome = group.run_until_idle(max_time=max_time, max_macrosteps=max_macrosteps)
    errors = [
        {k: jsonable(v) for k, v in e.items()}
        for s in [session, *[x for x in group.sessions.values() if x is not session]]
        for e in s.errors
    ]
    if session.status == "final":
        status = "final"
    elif session.status == "error":
        status = "error"
    elif outcome == "limit":
        status = "limit"
    else:
        status = "idle"
    summary = _summary(status, session, group, errors)
    for s in list(group.sessions.values()):
        s.close()
    return summary


def format_text(record: dict) -> str:
    """One human-readable line per record (`--format text`)."""
    kind = record.get("type")
    head = f"[{record.get('seq', '-'):>4}] t={record.get('time', 0.0):<8g} {kind:<10}"
    if kind == "macrostep":
        event = record.get("event") or {}
        return (
            f"{head} event={event.get('name', '-')} exited={record.get('exited')} "
            f"entered={record.get('entered')} -> {record.get('configuration')}"
        )
    if kind == "done" and "virtual_time" in record:
        return (
            f"done: status={record['status']} final_state={record['final_state']} events={record['events']} "
            f"virtual_time={record['virtual_time']:g}s errors={len(record['errors'])} "
            f"configuration={record['configuration']}"
        )
    if kind == "error" and record.get("kind") == "definition":
        return f"error: {record.get('file')}:{record.get('line')}:{record.get('column')}: {record.get('message')}"
    if kind == "log":
        return f"{head} {record.get('label') or ''}: {json.dumps(record.get('value'))}"
    if kind == "error":
        return (
            f"{head} {record.get('event') or record.get('kind')}: {record.get('message')} (line {record.get('line')})"
        )
    skip = {"type", "seq", "time", "session"}
    rest = " ".join(f"{k}={json.dumps(v)}" for k, v in record.items() if k not in skip)
    return f"{head} {rest}"


def record_writer(out: TextIO, fmt: str, text: Callable[[dict], str] = format_text) -> Callable[[dict], None]:
    """A function printing one record per line to `out`: JSON (``jsonl``) or `text(record)` (``text``)."""
    if fmt == "jsonl":
        return lambda record: out.write(dumps(record) + "\n")
    if fmt == "text":
        return lambda record: out.write(text(record) + "\n")
    raise ValueError(f"unknown format {fmt!r}")


def run_paths(paths: Iterable[str | Path], out: TextIO, fmt: str = "jsonl", **options: Any) -> int:
    """Run each path in turn, printing records and one summary line per path; returns exit status."""
    write = record_writer(out, fmt)
    exit_status = 0
    for path in paths:
        root_session: list[str] = []

        def emit(record: dict, root_session: list[str] = root_session) -> None:
            if not root_session and record.get("type") == "start":
                root_session.append(record["session"])
            if record.get("type") == "done" and root_session and record.get("session") == root_session[0]:
                return  # the summary line below stands for it
            write(record)

        summary = run_document(path, emit=emit, **options)
        definition_errors = summary.pop("definition_errors", None)
        if definition_errors:
            for error in definition_errors:
                write(error)
            exit_status = 2
        elif summary["status"] == "error" and exit_status == 0:
            exit_status = 1
        write(summary)
        out.flush()
    return exit_status
