"""The designer's door to the engine's analysis: statechart graph and lint of a set of files.

The engine packages are imported lazily so the designer keeps working (with a clear 503) while
they are missing or broken. The ORS wiring (`simulator.ors.analysis`, extension namespaces ->
module names, ORS include prefixing and ORS lint rules) is preferred; the generic
`simulator.scxml` functions are the fallback.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


class AnalysisUnavailable(Exception):
    """The engine's graph/lint code cannot be imported; the message says which part."""


def _first_available(candidates: list[tuple[str, str]]) -> Callable[..., Any]:
    """The first importable `module.function` among candidates, or AnalysisUnavailable."""
    problems = []
    for module_name, function_name in candidates:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            problems.append(f"{module_name}: {exc}")
            continue
        function = getattr(module, function_name, None)
        if callable(function):
            return function
        problems.append(f"{module_name} has no {function_name}()")
    raise AnalysisUnavailable("The statechart analysis is not available yet (" + "; ".join(problems) + ").")


def project_graph(files: Mapping[str, bytes], entry: str) -> dict[str, Any]:
    """Graph JSON (serializers.GraphSerializer) of the entry document with includes resolved."""
    build = _first_available([("simulator.ors.analysis", "build_graph"), ("simulator.scxml.graph", "build_graph")])
    return build(files, entry)


def project_lint(files: Mapping[str, bytes], entry: str) -> list[dict[str, Any]]:
    """Lint findings (generic + ORS rules when available) for the project's entry document."""
    lint = _first_available([("simulator.ors.analysis", "lint_project"), ("simulator.scxml.lint", "lint_project")])
    return list(lint(files, entry))
