"""The designer's door to the engine's analysis: statechart graph and lint of a set of files,
with the ORS dialect wired in (`simulator.ors.analysis`: extension namespaces -> module names,
ORS include prefixing and ORS lint rules), cached by content for the API and the pages."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Literal

from django.core.cache import cache

from simulator.ors.analysis import build_graph, lint_project

ANALYSIS_CACHE_SECONDS = 3600


def project_graph(files: Mapping[str, bytes], entry: str) -> dict[str, Any]:
    """Graph JSON (serializers.GraphSerializer) of the entry document with includes resolved."""
    return build_graph(files, entry)


def project_lint(files: Mapping[str, bytes], entry: str) -> list[dict[str, Any]]:
    """Lint findings (generic + ORS rules) for the project's entry document."""
    return list(lint_project(files, entry))


def content_digest(file_set: Any, entry: str) -> str:
    """What the analysis of document `entry` of a version or draft depends on, as a sha256: equal
    digests, equal graph and lint (whichever file set they were read from)."""
    return hashlib.sha256(repr((entry, sorted(file_set.file_map().items()))).encode()).hexdigest()


def analysed(kind: Literal["graph", "lint"], file_set: Any, entry: str) -> dict[str, Any]:
    """Graph JSON, or {"findings": [...]}, of `entry` (a document of the version or draft
    `file_set`), cached by the file set's content: the files are read only on a miss."""
    key = f"designer-{kind}:{content_digest(file_set, entry)}"
    result = cache.get(key)
    if result is None:
        files = file_set.read_files()
        result = project_graph(files, entry) if kind == "graph" else {"findings": project_lint(files, entry)}
        cache.set(key, result, ANALYSIS_CACHE_SECONDS)
    return result
