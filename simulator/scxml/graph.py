"""The statechart graph of a project's entry document: what the designer diagram draws.

`build_graph(files, entry, profile)` resolves the entry document with the engine's loader
(includes resolved, every element keeping its source file and line) and describes it as plain
JSON data: states nested with their kind, initial children and history type; transitions with
event, cond, type and targets; and every custom action element (an extension call such as an
ORS `queue:submit`) on the state (onentry/onexit/invoke) or transition that makes it, with its
raw attributes and source position (the Graph schema of /api/schema/ documents the shape);
each action additionally carries `children`: its nested elements (`queue:targets`, `param`, ...)
as `{"element", "attributes", "line", "children"}`, for hover text.

Nothing here knows Genesys: the caller maps extension namespaces to short module names with
`modules` (the ORS wiring in `simulator/ors/analysis.py` passes them). Bad input never raises:
malformed XML or an unresolvable include yields a graph with `errors` (and whatever could still
be drawn).

Work is bounded: the walk is linear in the document, a document of more than
MAX_ANALYSIS_ELEMENTS elements is refused before it starts, and a `Budget` of ANALYSIS_SECONDS
stops it; both give one error "too large to analyse fully: ..." instead of pinning a core.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from lxml import etree

from simulator.scxml.errors import DefinitionError
from simulator.scxml.loader import LoadedDocument, load_document
from simulator.scxml.profile import W3C, Profile

SCXML_NS = "http://www.w3.org/2005/07/scxml"
XINCLUDE_NS = "http://www.w3.org/2001/XInclude"
XINCLUDE_NS_OLD = "http://www.w3.org/2003/XInclude"

#: attributes in this namespace are added by the loader (source file markers), not written
INTERNAL_ATTRIBUTE_PREFIX = "{urn:orchweb:"
#: SCXML elements that are states in the graph (`initial` is drawn as a pseudo-state)
STATE_TAGS = ("scxml", "state", "parallel", "final", "history", "initial")
#: SCXML elements whose content is data or another document, never this state's actions
OPAQUE_TAGS = {"content", "scxml", "datamodel", "data", "donedata"}
#: SCXML elements holding executable content, mapped to the action phase they give
CONTENT_PHASES = {"onentry": "onentry", "onexit": "onexit", "invoke": "invoke"}

#: documents with more elements are not analysed (the largest real strategies have a few thousand)
MAX_ANALYSIS_ELEMENTS = 50_000
#: wall-clock seconds one analysis (a graph, or a lint with its graph) may run
ANALYSIS_SECONDS = 10.0
TOO_LARGE = "too large to analyse fully"


class TooLargeToAnalyse(Exception):
    """An analysis went past its limits; the message starts with "too large to analyse fully"."""


class Budget:
    """A wall-clock deadline for one analysis (the host clock: analysis is not a simulation)."""

    def __init__(self, seconds: float | None = None):
        self.seconds = ANALYSIS_SECONDS if seconds is None else seconds
        self.deadline = time.monotonic() + self.seconds

    def check(self) -> None:
        """Raise TooLargeToAnalyse once the deadline has passed."""
        if time.monotonic() > self.deadline:
            raise TooLargeToAnalyse(f"{TOO_LARGE}: stopped after {self.seconds:g} s")

    @staticmethod
    def check_size(root: etree._Element) -> None:
        """Raise TooLargeToAnalyse for a document of more than MAX_ANALYSIS_ELEMENTS elements."""
        limit = MAX_ANALYSIS_ELEMENTS
        for count, _ in enumerate(root.iter(), start=1):
            if count > limit:
                raise TooLargeToAnalyse(f"{TOO_LARGE}: more than {limit} elements")


def resolve_document(files: Mapping[str, bytes], entry: str, profile: Profile | None = None) -> LoadedDocument:
    """Resolve the entry document with the engine's loader (includes resolved); never raises.

    Graph and lint both read this one resolved document, so they see exactly what a simulation
    session would run.
    """
    try:
        return load_document(files, entry, profile or W3C)
    except Exception as error:  # a loader bug must not take the designer page down
        return LoadedDocument(entry, None, files, [DefinitionError(f"cannot load document: {error}", entry)])


def local_name(element: etree._Element) -> str:
    """Local part of an element's tag ('' for comments and processing instructions)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def namespace_of(element: etree._Element) -> str | None:
    """Namespace URI of an element (None for no namespace, comments, PIs)."""
    tag = element.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        return None
    return tag[1:].split("}", 1)[0]


def is_scxml(element: etree._Element, *names: str) -> bool:
    """Whether `element` is in the SCXML namespace (and, if names are given, one of them)."""
    return namespace_of(element) == SCXML_NS and (not names or local_name(element) in names)


def is_custom_action(element: etree._Element) -> bool:
    """An element of executable content outside SCXML and XInclude: an extension call."""
    ns = namespace_of(element)
    return ns is not None and ns not in (SCXML_NS, XINCLUDE_NS, XINCLUDE_NS_OLD)


def attribute_name(name: str) -> str:
    """Readable attribute name: the local part of a namespaced attribute."""
    return name.rsplit("}", 1)[-1] if name.startswith("{") else name


def raw_attributes(element: etree._Element) -> dict[str, str]:
    """An element's attributes as written (the loader's own bookkeeping attributes left out)."""
    return {attribute_name(k): v for k, v in element.attrib.items() if not k.startswith(INTERNAL_ATTRIBUTE_PREFIX)}


def nested_elements(element: etree._Element) -> list[dict[str, Any]]:
    """The child elements of an extension call (e.g. `queue:targets/queue:target`, `param`):
    local name, raw attributes, source line and their own children; text content is left out."""
    return [
        {
            "element": local_name(child),
            "attributes": raw_attributes(child),
            "line": child.sourceline,
            "children": nested_elements(child),
        }
        for child in element
        if isinstance(child.tag, str)
    ]


def custom_actions(container: etree._Element) -> Iterator[etree._Element]:
    """Extension calls inside a block of executable content, in document order.

    Descends through SCXML control flow (`if`, `foreach`, ...) but not into an extension call:
    `queue:targets` inside `queue:submit` is part of that call, not another one.
    """
    for child in container:
        if not isinstance(child.tag, str):
            continue
        if is_custom_action(child):
            yield child
        elif is_scxml(child) and local_name(child) not in OPAQUE_TAGS:
            yield from custom_actions(child)


def initial_of(element: etree._Element, kind: str, children: list[tuple[str, str]]) -> list[str]:
    """Default entry of a compound state: `initial` attribute, else `<initial>`, else the first
    child state in document order (W3C 3.3); empty for atomic, parallel, final and history."""
    if kind not in ("scxml", "state"):
        return []
    if element.get("initial"):
        return element.get("initial", "").split()
    pseudo = [cid for cid, ckind in children if ckind == "initial"]
    if pseudo:
        return pseudo[:1]
    proper = [cid for cid, ckind in children if ckind not in ("history", "initial")]
    return proper[:1]


class _GraphBuilder:
    """Walks a resolved document once and emits the graph JSON."""

    def __init__(self, doc: LoadedDocument, modules: Mapping[str, str], budget: Budget):
        self.doc = doc
        self.modules = modules
        self.budget = budget
        self.states: list[dict[str, Any]] = []
        self.transitions: list[dict[str, Any]] = []
        self.anonymous = 0
        self.root_id = "scxml"

    def state_id(self, element: etree._Element, kind: str, parent: str | None) -> str:
        """The element's id, or a stable generated one (W3C lets ids be omitted)."""
        if kind == "scxml":
            return self.root_id
        explicit = element.get("id")
        if explicit:
            return explicit
        self.anonymous += 1
        return f"{parent}#{kind}{self.anonymous}"  # '#' never appears in an XML id

    def action(self, element: etree._Element, phase: str) -> dict[str, Any]:
        """One extension call as an ACTION record."""
        file, line = self.doc.location(element)
        ns = namespace_of(element)
        return {
            "namespace": ns,
            "module": self.modules.get(ns or ""),
            "action": local_name(element),
            "phase": phase,
            "attributes": raw_attributes(element),
            "file": file,
            "line": line,
            "children": nested_elements(element),
        }

    def build(self, root: etree._Element) -> None:
        # The root is named after <scxml name>, unless a state already uses that id.
        taken = {el.get("id") for el in root.iter() if isinstance(el.tag, str)}
        for candidate in (root.get("name"), "scxml", "#scxml"):
            if candidate and candidate not in taken:
                self.root_id = candidate
                break
        self.visit_state(root, "scxml", None)

    def visit_state(self, element: etree._Element, kind: str, parent: str | None) -> str:
        self.budget.check()
        sid = self.state_id(element, kind, parent)
        file, line = self.doc.location(element)
        record: dict[str, Any] = {
            "id": sid,
            "kind": kind,
            "parent": parent,
            "children": [],
            "initial": [],
            "history": (element.get("type") or "shallow") if kind == "history" else None,
            "file": file,
            "line": line,
            "actions": [],
        }
        self.states.append(record)
        child_states: list[tuple[str, str]] = []  # (id, kind)
        for child in element:
            if not is_scxml(child):
                continue
            name = local_name(child)
            if name in STATE_TAGS and name != "scxml":
                child_states.append((self.visit_state(child, name, sid), name))
            elif name == "transition":
                self.visit_transition(child, sid)
            elif name in CONTENT_PHASES:
                record["actions"].extend(self.action(a, CONTENT_PHASES[name]) for a in custom_actions(child))
        record["children"] = [cid for cid, _ in child_states]
        record["initial"] = initial_of(element, kind, child_states)
        return sid

    def visit_transition(self, element: etree._Element, source: str) -> None:
        file, line = self.doc.location(element)
        event = element.get("event")
        targets = (element.get("target") or "").split()
        self.transitions.append(
            {
                "id": f"t{len(self.transitions) + 1}",
                "source": source,
                "targets": targets,
                "event": event,
                "cond": element.get("cond"),
                "type": element.get("type") or "external",
                "eventless": event is None or not event.strip(),
                "targetless": not targets,
                "file": file,
                "line": line,
                "actions": [self.action(a, "transition") for a in custom_actions(element)],
            }
        )


def graph_of(
    doc: LoadedDocument, modules: Mapping[str, str] | None = None, budget: Budget | None = None
) -> dict[str, Any]:
    """The graph JSON of an already resolved document (lint reuses it).

    Raises TooLargeToAnalyse past the element limit or the `budget` (a fresh one by default).
    """
    budget = budget or Budget()
    builder = _GraphBuilder(doc, modules or {}, budget)
    root_id: str | None = None
    errors = [{"file": e.file, "line": e.line, "message": e.message} for e in doc.errors]
    if doc.root is not None:
        if is_scxml(doc.root, "scxml"):
            budget.check_size(doc.root)
            builder.build(doc.root)
            root_id = builder.states[0]["id"]
        else:
            file, line = doc.location(doc.root)
            message = f"root element is <{doc.root.tag}>, not SCXML <scxml>"
            errors.append({"file": file, "line": line, "message": message})
    return {
        "entry": doc.entry,
        "root": root_id,
        "states": builder.states,
        "transitions": builder.transitions,
        "errors": errors,
    }


def build_graph(
    files: Mapping[str, bytes],
    entry: str,
    profile: Profile | None = None,
    modules: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Graph JSON of `entry` in the project `files` (relative path -> bytes); never raises.

    `profile` is handed to the loader (e.g. ORS include prefixing); `modules` maps extension
    namespace URIs to the short module names shown on the diagram badges.
    """
    budget = Budget()
    doc = resolve_document(files, entry, profile)
    try:
        return graph_of(doc, modules, budget)
    except TooLargeToAnalyse as error:
        failure = {"file": entry, "line": None, "message": str(error)}
        return {"entry": entry, "root": None, "states": [], "transitions": [], "errors": [failure]}
    except Exception as error:  # a graph bug must not take the designer page down
        failure = {"file": entry, "line": None, "message": f"cannot draw the document: {error!r}"}
        return {"entry": entry, "root": None, "states": [], "transitions": [], "errors": [failure]}
