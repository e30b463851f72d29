"""The designer's door to the engine's analysis: statechart graph and lint of a set of files,
with the ORS dialect wired in (`simulator.ors.analysis`: extension namespaces -> module names,
ORS include prefixing and ORS lint rules)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.ors.analysis import build_graph, lint_project


def project_graph(files: Mapping[str, bytes], entry: str) -> dict[str, Any]:
    """Graph JSON (serializers.GraphSerializer) of the entry document with includes resolved."""
    return build_graph(files, entry)


def project_lint(files: Mapping[str, bytes], entry: str) -> list[dict[str, Any]]:
    """Lint findings (generic + ORS rules) for the project's entry document."""
    return list(lint_project(files, entry))
