"""Graph and lint of a Composer project with the ORS dialect wired in (what the designer calls).

`build_graph(files, entry)` and `lint_project(files, entry)` are the engine's generic
`simulator.scxml.graph.build_graph` / `simulator.scxml.lint.lint_project` with:
  * the ORS profile (include prefixing with `resolveid` / `$$_MY_PREFIX_$$`, ORS expression
    attributes such as `<send event>`, script preprocessing);
  * the short module names of the extension namespaces for the diagram badges
    (queue, ixn, dialog, session, ws, statistic, classification, resource, elasticconnector);
  * the ORS lint rules of `simulator/ors/lint.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from simulator.ors import lint as ors_lint
from simulator.ors.dialect import ORS
from simulator.ors.extensions import MODULES
from simulator.scxml import graph as scxml_graph
from simulator.scxml import lint as scxml_lint
from simulator.scxml.profile import Profile

#: diagram badge names that differ from the module's declared name
BADGE_NAMES = {"interaction": "ixn"}


@cache
def module_names() -> dict[str, str]:
    """Every spelling of every extension namespace -> the short module name drawn on badges."""
    return {ns: BADGE_NAMES.get(m.name, m.name) for m in MODULES for ns in m.namespaces}


def ors_profile() -> Profile:
    """The ORS dialect profile with default fakes (graph and lint run no session)."""
    return ORS


def build_graph(files: Mapping[str, bytes], entry: str, profile: Profile | None = None) -> dict[str, Any]:
    """Graph JSON of a Composer project's entry document (IPD) with includes resolved."""
    return scxml_graph.build_graph(files, entry, profile or ors_profile(), module_names())


def lint_project(files: Mapping[str, bytes], entry: str, profile: Profile | None = None) -> list[dict[str, Any]]:
    """Generic + ORS lint findings of a Composer project's entry document; never raises."""
    findings = scxml_lint.lint_project(
        files, entry, profile or ors_profile(), rules=(ors_lint.ors_rules,), modules=module_names()
    )
    return ors_lint.explain_composer_fragment(findings, entry)
