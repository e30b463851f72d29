"""Composer projects as file maps (CLI, tests, benchmarks).

``load_project(path)`` reads a project directory or ``.zip`` into ``{relative/path: bytes}``
(nothing outside it is read later: the loader resolves includes only inside this map).
``find_entry(files)`` picks the entry (the IPD; see ``projectfiles.choose_entry``). Runs of a
project are ``simulator.runners.driver.OrsRun``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .projectfiles import PROJECT_SUFFIXES, Limits, ProjectError, choose_entry, read_project

__all__ = ["MAX_PROJECT_BYTES", "ProjectError", "find_entry", "load_project"]

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
