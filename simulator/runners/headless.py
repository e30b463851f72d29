"""Headless runs on the virtual clock: the logic behind ``manage.py simulate``. No Django.

``PROFILES``
    The dialect profiles by name (``w3c``, ``ors``); ``resolve_profile(name_or_profile)``.
``Injection`` / ``parse_inject("NAME[:JSON][@SECONDS]") -> Injection``
``run_document(path, profile="w3c", injections=(), max_time=None, seed=0, emit=None,
project_root=None, setup=None, max_macrosteps=None, limits=DEFAULT_LIMITS) -> dict``
    Loads ``path`` with the files of ``project_root`` (default: the document's folder) as the
    project, runs it until it terminates, goes idle with no timers left, or ``max_time`` virtual
    seconds pass, calling ``emit(record)`` for each trace record. Returns the driver's summary
    record (``status`` ``final`` | ``idle`` | ``limit`` | ``error`` | ``cancelled``); definition
    errors give ``status "error"`` with ``definition_errors`` (the CLI prints them and exits with
    status 2). ``setup(group, session)`` runs before the session starts.
``run_project(path, ...)`` / ``run_ors_paths(paths, out, fmt, entry, fakes, ...)``
    The same for Composer projects (folder, ``.zip`` or ``.scxml``) with a fakes profile: the
    summary adds the ORS ``outcome`` and every extension request with its result.
``run_paths(paths, out, fmt="jsonl", **options) -> int``
    The CLI: one summary line per path; exit status 2 if any document had definition errors.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from simulator.ors.dialect import ORSProfile
from simulator.ors.fakes import FakesError, FakesProfile, load_fakes
from simulator.ors.project import ProjectError, find_entry, load_project
from simulator.ors.report import format_summary
from simulator.scxml.errors import DefinitionError, DocumentError
from simulator.scxml.interpreter import SessionGroup
from simulator.scxml.loader import DirectoryProject
from simulator.scxml.model import get_model
from simulator.scxml.profile import W3C, Profile
from simulator.scxml.trace import dumps

from .driver import Driver, OrsRun, definition_error_summary
from .limits import DEFAULT_LIMITS, Limits

#: dialect profiles by name: an instance, or a class instantiated per run (it carries run state)
PROFILES: dict[str, Profile | type[Profile]] = {"w3c": W3C, "ors": ORSProfile}


def resolve_profile(profile: str | Profile) -> Profile:
    """A Profile instance from a registry name (or the instance itself)."""
    if isinstance(profile, Profile):
        return profile
    try:
        value = PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown profile {profile!r} (known: {', '.join(sorted(PROFILES))})") from None
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


def run_document(
    path: str | Path,
    profile: str | Profile = "w3c",
    injections: Iterable[Injection] = (),
    max_time: float | None = None,
    seed: int = 0,
    emit: Callable[[dict], None] | None = None,
    project_root: str | Path | None = None,
    setup: Callable[[SessionGroup, Any], None] | None = None,
    max_macrosteps: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
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
        return definition_error_summary([error.as_record()])
    model = get_model(project, entry, prof)
    if model.errors:
        return definition_error_summary([e.as_record() for e in model.errors])
    driver = Driver(model, project, prof, seed=seed, limits=limits)
    if emit is not None:
        # The headless summary replaces the root session's own "done" record.
        driver.group.listeners.append(emit)
    if setup is not None:
        setup(driver.group, driver.session)
    for injection in injections:
        driver.session.inject(injection.name, injection.data, delay=injection.at)
    driver.run_until_idle(max_time=max_time, max_macrosteps=max_macrosteps)
    summary = driver.summary()
    driver.close()
    return summary


def read_fakes(path: str | Path | None) -> FakesProfile:
    """The fakes profile of the JSON file `path` (None: the defaults); FakesError explains problems."""
    if path is None:
        return load_fakes(None)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise FakesError([f"cannot read {path}: {exc.strerror}"]) from exc
    return load_fakes(text)


def run_project(
    path: str | Path,
    emit: Callable[[dict], None] | None = None,
    entry: str | None = None,
    fakes: Any = None,
    injections: Iterable[Injection] = (),
    max_time: float | None = None,
    seed: int = 0,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Run one Composer project; returns the summary record with ``project``, ``entry``,
    ``outcome`` and ``requests``. `fakes` is loaded once here (a loaded profile serves one run)."""
    files = load_project(path)
    entry = entry or find_entry(files)
    if entry not in files:
        raise ProjectError(f"{path}: no file {entry!r} in the project")
    run = OrsRun(files, entry=entry, fakes=fakes, seed=seed, limits=limits)
    if emit is not None:
        run.group.listeners.append(emit)
    run.start()
    for injection in injections:  # through the platform: hangup/abandon shortcuts, object model, outcome
        run.inject(injection.name, injection.data or {}, injection.at, source="cli")
    run.run(max_time=max_time if max_time is not None else 24 * 3600.0)
    record = {"type": "done", "project": str(path), "entry": entry, **run.summary()}
    run.close()
    return record


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
    if kind == "done" and "outcome" in record:
        return format_summary(record)
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
        where = f" (line {record['line']})" if record.get("line") else ""
        return f"{head} {record.get('event') or record.get('kind')}: {record.get('message')}{where}"
    skip = {"type", "seq", "time", "session"}
    rest = " ".join(f"{k}={json.dumps(v)}" for k, v in record.items() if k not in skip)
    return f"{head} {rest}"


def record_writer(out: TextIO, fmt: str, text: Callable[[dict], str] = format_text) -> Callable[[dict], None]:
    """A function printing one record per line to `out`: JSON (``jsonl``) or `text(record)` (``text``)."""
    if fmt not in ("jsonl", "text"):
        raise ValueError(f"unknown format {fmt!r}")

    def write(record: dict) -> None:
        out.write((dumps(record) if fmt == "jsonl" else text(record)) + "\n")

    return write


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


def run_ors_paths(
    paths: Iterable[str | Path],
    out: TextIO,
    fmt: str = "jsonl",
    entry: str | None = None,
    fakes: str | Path | None = None,
    injections: Iterable[Injection] = (),
    max_time: float | None = None,
    seed: int = 0,
    limits: Limits = DEFAULT_LIMITS,
) -> int:
    """``simulate --profile ors``: each path is a project folder, ``.zip`` or ``.scxml``; prints
    the trace records and one summary line per project. Exit status: 2 for definition or input
    errors, 1 when a session ended in error, else 0."""
    write = record_writer(out, fmt)
    try:
        profile = read_fakes(fakes)
    except FakesError as exc:
        write({"type": "error", "kind": "fakes", "message": str(exc), "problems": exc.problems})
        return 2
    status = 0
    for path in paths:
        try:
            # a copy per project: rules count their uses
            summary = run_project(path, write, entry, copy.deepcopy(profile), injections, max_time, seed, limits)
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
