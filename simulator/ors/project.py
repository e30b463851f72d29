"""Composer projects as file maps, and headless ORS simulation runs (CLI, tests, benchmarks).

``load_project(path)`` reads a project directory or ``.zip`` into ``{relative/path: bytes}``
(nothing outside it is read later: the loader resolves includes only inside this map).
``find_entry(files)`` picks the entry (the IPD; see ``projectfiles.choose_entry``).  ``OrsRun`` runs one strategy with
a fakes profile on the virtual clock and produces the summary (outcome + extension requests).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simulator.scxml.errors import DocumentError
from simulator.scxml.interpreter import SessionGroup
from simulator.scxml.model import get_model

from .dialect import ORSProfile
from .fakes import FakesProfile, load_fakes
from .platform import OrsPlatform, platform_of
from .projectfiles import PROJECT_SUFFIXES, Limits, ProjectError, choose_entry, read_project

__all__ = ["MAX_PROJECT_BYTES", "OrsRun", "ProjectError", "find_entry", "load_project"]

#: refuse archives/dirs larger than this (bytes of project files kept)
MAX_PROJECT_BYTES = 64 * 1024 * 1024
LIMITS = Limits(max_file_bytes=MAX_PROJECT_BYTES, max_total_bytes=MAX_PROJECT_BYTES)


def load_project(path: str | Path) -> dict[str, bytes]:
    """Project files (``.scxml``, ``.js``, ...) of a directory, zip or ``.scxml``, keyed by POSIX relative path."""
    return read_project(Path(path), LIMITS, PROJECT_SUFFIXES)


def find_entry(files: Mapping[str, bytes]) -> str:
    """The entry document by ``projectfiles.choose_entry``'s rule; ProjectError when there is none."""
    choice = choose_entry(files)
    if choice.path:
        return choice.path
    candidates = ", ".join(choice.candidates[:10]) or "none"
    detail = " ".join([choice.reason, *choice.warnings])
    if choice.workflows:
        detail += " Workflows found: " + ", ".join(choice.workflows[:10]) + "."
    raise ProjectError(f"cannot tell the entry document: {detail} Otherwise pass --entry (candidates: {candidates}).")


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
