"""Graph and lint of a Composer project with the ORS dialect wired in (what the designer calls).

`build_graph(files, entry)` and `lint_project(files, entry)` are the engine's generic
`simulator.scxml.graph.build_graph` / `simulator.scxml.lint.lint_project` with:
  * the ORS profile (include prefixing with `resolveid` / `$$_MY_PREFIX_$$`, ORS expression
    attributes such as `<send event>`, script preprocessing);
  * the short module names of the extension namespaces for the diagram badges
    (queue, ixn, dialog, session, ws, statistic, classification, resource, elasticconnector);
  * the ORS lint rules of `simulator/ors/lint.py`.
`coverage_hint(transition)` tells how a scenario could take an uncovered transition (ORS platform
events and error answers).
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
from simulator.scxml.model import descriptor_tokens
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


#: platform events a scenario produces directly (see docs/scenarios.md and docs/fakes.md)
_EVENT_HINTS = {
    "interaction.deleted": 'the caller hangs up: step {"inject": "hangup"}',
    "interaction.abandoned": 'the caller abandons: step {"inject": "abandon"}',
    "interaction.partystatechanged": 'the call moves: fakes "interaction.start_events" or an injected event',
    "interaction.udata.changed": 'attached data changes: step {"inject": "interaction.udata.changed"}',
}


@cache
def _error_answers() -> dict[str, tuple[str, str]]:
    """``error.<prefix>.<action>`` -> (module, action) of every ORS extension action."""
    return {m.error_event(a): (m.name, a.name) for m in MODULES for a in m.actions.values()}


def coverage_hint(transition: Mapping[str, Any]) -> str | None:
    """How a scenario could take an uncovered transition (graph JSON), when its event says so."""
    names, _ = descriptor_tokens(transition.get("event"))
    errors = _error_answers()
    for name in names:
        if name in _EVENT_HINTS:
            return _EVENT_HINTS[name]
        if name in errors:
            module, action = errors[name]
            extra = (
                ' or fakes {"queue": {"available": false}} (the submit times out)'
                if name == "error.queue.submit"
                else ""
            )
            rule = f'{{"module": "{module}", "action": "{action}", "error": {{"error": "..."}}}}'
            return f"the request fails: a fakes rule {rule}{extra}"
    if not transition.get("event") and transition.get("cond"):
        return f"its condition never held when it was checked: {transition['cond']}"
    return None
