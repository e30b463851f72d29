"""Composer projects as file maps, and headless ORS simulation runs (CLI, tests, benchmarks).

``load_project(path)`` reads a project directory or ``.zip`` into ``{relative/path: bytes}``
(nothing outside it is read later: the loader resolves includes only inside this map).
``find_entry(files)`` picks the IPD (``src-gen/IPD_*.scxml``).  ``OrsRun`` runs one strategy with
a fakes profile on the virtual clock and produces the summary (outcome + extension requests).
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from simulator.scxml.errors import DocumentError
from simulator.scxml.interpreter import SessionGroup
from simulator.scxml.model import get_model

from .dialect import ORSProfile
from .fakes import FakesProfile, load_fakes
from .platform import OrsPlatform, platform_of

#: refuse archives/dirs larger than this (bytes of project files kept)
MAX_PROJECT_BYTES = 64 * 1024 * 1024
_KEEP = {".scxml", ".js", ".xml", ".json", ".vxml", ".workflow", ".callflow", ".ixnprocess", ".grxml"}


class ProjectError(ValueError):
    """A project that cannot be loaded (missing, not a zip, too big, no IPD...)."""


def _strip_common_root(files: dict[str, bytes]) -> dict[str, bytes]:
    """Zips often wrap the project in one top folder: drop it when every path shares it."""
    roots = {p.split("/", 1)[0] for p in files}
    if len(roots) == 1 and all("/" in p for p in files):
        root = next(iter(roots)) + "/"
        if not any(p.startswith("src-gen/") for p in files):
            return {p[len(root) :]: b for p, b in files.items()}
    return files


def load_project(path: str | Path) -> dict[str, bytes]:
    """Project files (``.scxml``, ``.js``, ...) of a directory or zip, keyed by POSIX relative path."""
    path = Path(path)
    files: dict[str, bytes] = {}
    total = 0
    if path.is_dir():
        for f in sorted(path.rglob("*")):
            if f.is_file() and f.suffix.lower() in _KEEP and not f.is_symlink():
                rel = f.relative_to(path).as_posix()
                data = f.read_bytes()
                total += len(data)
                if total > MAX_PROJECT_BYTES:
                    raise ProjectError(f"{path}: project larger than {MAX_PROJECT_BYTES} bytes")
                files[rel] = data
    elif path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = PurePosixPath(info.filename)
                if info.is_dir() or name.is_absolute() or ".." in name.parts:
                    continue
                if name.suffix.lower() not in _KEEP:
                    continue
                total += info.file_size
                if total > MAX_PROJECT_BYTES:
                    raise ProjectError(f"{path}: project larger than {MAX_PROJECT_BYTES} bytes")
                files[name.as_posix()] = zf.read(info)
        files = _strip_common_root(files)
    elif path.is_file() and path.suffix.lower() == ".scxml":
        files[path.name] = path.read_bytes()
    else:
        raise ProjectError(f"{path}: not a project directory, a .zip or an .scxml file")
    if not files:
        raise ProjectError(f"{path}: no SCXML/JS files found")
    return files


def find_entry(files: Mapping[str, bytes]) -> str:
    """The entry document: the (first) ``src-gen/IPD_*.scxml``, else the only ``.scxml``."""
    ipds = sorted(p for p in files if PurePosixPath(p).name.startswith("IPD_") and p.endswith(".scxml"))
    if ipds:
        return ipds[0]
    scxml = sorted(p for p in files if p.endswith(".scxml"))
    if len(scxml) == 1:
        return scxml[0]
    raise ProjectError(
        "cannot tell the entry document: no src-gen/IPD_*.scxml; pass --entry (candidates: "
        + ", ".join(scxml[:10])
        + ")"
    )


class OrsRun:
    """One headless ORS simulation: a session of `entry` with `fakes`, on the virtual clock."""

    def __init__(
        self,
        files: Mapping[str, bytes],
        entry: str | None = None,
        fakes: FakesProfile | dict | str | None = None,
        seed: int = 0,
        trace: bool = False,
    ) -> None:
        self.files = files
        self.entry = entry or find_entry(files)
        self.fakes = fakes if isinstance(fakes, FakesProfile) else load_fakes(fakes)
        self.profile = ORSProfile(self.fakes)
        self.model = get_model(files, self.entry, self.profile)
        if self.model.errors:
            raise DocumentError(self.model.errors)
        self.group = SessionGroup(seed=seed, profile=self.profile, project=files)
        self.records: list[dict[str, Any]] = []
        if trace:
            self.group.listeners.append(self.records.append)
        self.session = self.group.create_session(self.model)

    @property
    def platform(self) -> OrsPlatform:
        """The fake platform of the session (exists once the session started)."""
        platform = platform_of(self.session)
        if platform is None:
            raise RuntimeError("the session has not started")
        return platform

    def pending_requests(self) -> list[dict[str, Any]]:
        """The extension requests waiting for an answer (JSON view)."""
        return [r.to_json() for r in self.platform.pending_requests()]

    def respond(self, request_id: str, events: list[dict[str, Any]]) -> None:
        """Answer a pending (e.g. manual) request with events ``[{name, data?, delay?}]``."""
        self.platform.respond(request_id, events)

    def inject(self, name: str, data: dict[str, Any] | None = None, delay: float = 0.0) -> None:
        """Queue an unsolicited platform event (``hangup``/``abandon`` shortcuts included)."""
        self.platform.inject(name, data or {}, delay)

    def start(self) -> OrsRun:
        """Start the session (initial configuration; the start events are queued)."""
        self.session.start()
        return self

    def run(self, max_time: float | None = 3600.0, max_macrosteps: int | None = 100_000) -> str:
        """Run until idle, the virtual-time limit, or the step limit; returns the group's verdict."""
        if self.session.status == "created":
            self.start()
        return self.group.run_until_idle(max_time=max_time, max_macrosteps=max_macrosteps)

    def summary(self) -> dict[str, Any]:
        """Status, final state, outcome and every extension request with its result."""
        s = self.session
        platform = platform_of(s)
        finished = s.status in ("final", "cancelled")
        error = None
        if s.status == "error":
            error = next((e.get("message") for e in reversed(s.errors)), "session error")
        outcome = platform.final_outcome(finished, error) if platform else {"status": "error", "error": "not started"}
        return {
            "status": s.status,
            "final_state": s.final_state,
            "configuration": s.configuration_ids,
            "time": self.group.clock.now,
            "events": s.events_processed,
            "errors": [
                {"event": e.get("event"), "message": e.get("message"), "file": e.get("file"), "line": e.get("line")}
                for e in s.errors
            ],
            "outcome": outcome,
            "requests": platform.requests_json(finished) if platform else [],
        }
