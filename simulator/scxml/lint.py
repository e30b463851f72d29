"""Generic (W3C SCXML) lint rules over a project's resolved entry document.

`lint_project(files, entry, profile)` returns findings as
`{"rule", "severity", "file", "line", "column", "message"}` (the Finding schema of /api/schema/).
It reads the same resolved document and graph as the diagram (`simulator.scxml.graph`), so a
finding's file:line is where the designer's editor shows it. Dialects add their own rules on top
(ORS: `simulator/ors/lint.py`).

Rules (id: severity — what):
  xml-syntax: error — a project XML file does not parse (line and column of the parser error)
  unresolved-include: error — an `xi:include` whose file or fragment is missing
  include-case: warning — an `xi:include` href that names a project file only when letter case
      is ignored (it resolves, as on Composer's Windows; a case-sensitive web server would not)
  definition: error — any other definition error reported by the loader (e.g. a DOCTYPE)
  duplicate-id: error — two states share an id
  unknown-target: error — a transition targets an id that is not a state
  invalid-initial: error — `initial` names an unknown state or one that is not a descendant, or
      is set on an atomic state
  unreachable-state: warning — no path from the initial configuration enters the state
  no-way-out: warning — an atomic, non-final state that nothing can ever exit
  js-syntax: error — a `<script>`, an expression attribute or a project .js file does not compile,
      or it (or a `<data id>`, `<foreach item/index>`) uses a name starting with `__orchweb_`,
      which the simulator reserves
  unknown-action: error — an element of a namespace the profile has no action handler for
  definition: error — any other definition error of the engine's model (e.g. `<send>` without
      an event, an invalid delay), reported only where no rule above already points
  too-large: warning — the document is too large to analyse fully (element limit, time budget)

Nothing here raises on bad input: every problem becomes a finding. Work is bounded like the
graph's (`simulator.scxml.graph.Budget`): past the element limit or the time budget, lint stops
and reports what it found so far plus one `too-large` warning "too large to analyse fully: ...".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from lxml import etree

from simulator.scxml.datamodel import check_syntax, private_message, private_name
from simulator.scxml.graph import (
    SCXML_NS,
    XINCLUDE_NS,
    XINCLUDE_NS_OLD,
    Budget,
    TooLargeToAnalyse,
    graph_of,
    is_scxml,
    local_name,
    resolve_document,
)
from simulator.scxml.loader import LoadedDocument, column_of, parse_xml, resolve_href
from simulator.scxml.model import build_model
from simulator.scxml.profile import Profile

Finding = dict[str, Any]

XML_SUFFIXES = (".scxml", ".xml")
#: core attributes that hold a location (a left-hand side; syntactically an expression too)
LOCATION_ATTRIBUTES = {"location", "idlocation"}
#: core attributes that name a variable the datamodel declares or assigns: (element, attribute)
VARIABLE_ATTRIBUTES = {("data", "id"), ("foreach", "item"), ("foreach", "index")}


def finding(
    rule: str, severity: str, file: str | None, line: int | None, message: str, column: int | None = None
) -> Finding:
    """One lint finding in the Lint JSON shape."""
    return {"rule": rule, "severity": severity, "file": file, "line": line, "column": column, "message": message}


# --- JavaScript syntax -----------------------------------------------------------------------


def js_syntax_error(source: str, kind: str = "expression") -> tuple[str, int | None, int | None] | None:
    """(message, line, column) of the first syntax error in `source`, or None if it compiles.

    `kind` is "expression" (a cond/expr value) or "script" (a `<script>` body). Lines and
    columns are relative to `source` (1-based). Compiles only, never runs: the datamodel's
    `check_syntax` does it in its private sandboxed context.
    """
    errors = check_syntax(source, kind)
    if not errors:
        return None
    line, column, message = errors[0]
    if not message.startswith("SyntaxError"):
        message = f"SyntaxError: {message}"
    return message, line, column


def script_text(element: etree._Element) -> str:
    """Text of a `<script>` with XML comments blanked out line for line (so lines still match)."""
    parts = [element.text or ""]
    for child in element:
        if isinstance(child, etree._Comment):
            parts.append("\n" * (child.text or "").count("\n"))
        elif isinstance(child.tag, str):
            parts.append("".join(child.itertext()))
        parts.append(child.tail or "")
    return "".join(parts)


def expression_attributes(root: etree._Element, profile: Profile) -> Iterator[tuple[etree._Element, str, str]]:
    """(element, attribute, value) of every expression-valued attribute of core SCXML elements."""
    for element in root.iter():
        if not is_scxml(element):
            continue
        tag = local_name(element)
        for name, value in element.attrib.items():
            if name.startswith("{"):
                continue
            if profile.attribute_is_expression(tag, name) or name in LOCATION_ATTRIBUTES:
                yield element, name, value


def text_included_scripts(doc: LoadedDocument) -> dict[tuple[str, int | None], str]:
    """(file, line) of each `<script>` whose whole body is an `xi:include parse="text"` -> that
    included project file, so a syntax error is reported in the .js file where it can be fixed.

    The resolved tree no longer shows which text came from an include, so the source files of
    the document are read again (raw, unresolved) to find those scripts.
    """
    found: dict[tuple[str, int | None], str] = {}
    if doc.root is None:
        return found
    sources = {doc.location(element)[0] for element in doc.root.iter(f"{{{SCXML_NS}}}script")}
    for file in sources:
        data = doc.project.get(file)
        raw, _errors = parse_xml(data, file) if data is not None else (None, [])
        if raw is None:
            continue
        for script in raw.iter(f"{{{SCXML_NS}}}script"):
            children = [c for c in script if isinstance(c.tag, str)]
            if (
                len(children) == 1
                and children[0].tag in (f"{{{XINCLUDE_NS}}}include", f"{{{XINCLUDE_NS_OLD}}}include")
                and children[0].get("parse") == "text"
                and not (script.text or "").strip()
                and not (children[0].tail or "").strip()
            ):
                path = resolve_href(file, children[0].get("href", ""))
                if path is not None:
                    found[(file, script.sourceline)] = path
    return found


def check_js(doc: LoadedDocument, profile: Profile) -> list[Finding]:
    """js-syntax findings for scripts and expression attributes of the resolved document."""
    findings: list[Finding] = []
    if doc.root is None:
        return findings
    for element, name, value in expression_attributes(doc.root, profile):
        if not value.strip():
            continue
        error = js_syntax_error(profile.preprocess_script(value), "expression")
        if error:
            file, line = doc.location(element)
            message = f"<{local_name(element)} {name}>: {error[0]}"
            findings.append(finding("js-syntax", "error", file, line, message, doc.column(element)))
    for element in doc.root.iter():
        if not is_scxml(element):
            continue
        tag = local_name(element)
        for name, value in element.attrib.items():
            private = private_name(value) if (tag, name) in VARIABLE_ATTRIBUTES else None
            if private is not None:  # the session refuses it as an expression's would be
                file, line = doc.location(element)
                message = f"<{tag} {name}>: {private_message(private)}"
                findings.append(finding("js-syntax", "error", file, line, message, doc.column(element)))
    included = text_included_scripts(doc)
    for element in doc.root.iter(f"{{{SCXML_NS}}}script"):
        file, line = doc.location(element)
        if included.get((file, line), "").lower().endswith(".js"):
            continue  # the whole body is a project .js file: check_js_files() reports in that file
        source = script_text(element)
        if not source.strip():
            continue
        error = js_syntax_error(profile.preprocess_script(source), "script")
        if error:
            if line is not None and error[1] is not None:
                line += error[1] - 1
            findings.append(finding("js-syntax", "error", file, line, f"<script>: {error[0]}", error[2]))
    return findings


def check_js_files(files: Mapping[str, bytes], profile: Profile) -> list[Finding]:
    """js-syntax findings for every .js file of the project (script libraries), in that file."""
    findings: list[Finding] = []
    for path in sorted(files):
        if not path.lower().endswith(".js"):
            continue
        try:
            source = files[path].decode("utf-8")
        except UnicodeDecodeError as error:
            findings.append(finding("js-syntax", "error", path, None, f"not UTF-8 text: {error}"))
            continue
        problem = js_syntax_error(profile.preprocess_script(source), "script")
        if problem:
            findings.append(finding("js-syntax", "error", path, problem[1], problem[0], problem[2]))
    return findings


# --- XML and includes ------------------------------------------------------------------------


def check_xml_files(files: Mapping[str, bytes]) -> list[Finding]:
    """xml-syntax findings for every XML file of the project (not only the included ones)."""
    findings: list[Finding] = []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    for path in sorted(files):
        if not path.lower().endswith(XML_SUFFIXES):
            continue
        try:
            etree.fromstring(files[path], parser)
        except etree.XMLSyntaxError as error:
            line, column = error.position if error.position else (None, None)
            findings.append(finding("xml-syntax", "error", path, line, f"XML syntax error: {error.msg}", column))
        except Exception as error:  # e.g. an encoding lxml cannot read
            findings.append(finding("xml-syntax", "error", path, None, f"cannot parse: {error}"))
    return findings


def classify_definition_error(message: str) -> str:
    """Lint rule id for a loader definition error."""
    lowered = message.lower()
    if "include" in lowered:
        return "unresolved-include"
    if "syntax" in lowered or "not well-formed" in lowered:
        return "xml-syntax"
    return "definition"


def check_definition_errors(doc: LoadedDocument) -> list[Finding]:
    """Loader errors as findings, plus includes left unresolved in the document."""
    findings = [
        finding(classify_definition_error(e.message), "error", e.file, e.line, e.message, e.column) for e in doc.errors
    ]
    findings += [finding("include-case", "warning", w.file, w.line, w.message, w.column) for w in doc.warnings]
    if doc.root is not None:
        for element in doc.root.iter(f"{{{XINCLUDE_NS}}}include", f"{{{XINCLUDE_NS_OLD}}}include"):
            file, line = doc.location(element)
            href = element.get("href", "")
            message = f"xi:include of {href!r} is not resolved"
            findings.append(finding("unresolved-include", "error", file, line, message))
    return findings


# --- Structure -------------------------------------------------------------------------------


def check_structure(graph: dict[str, Any]) -> list[Finding]:
    """duplicate-id, unknown-target and invalid-initial findings from the graph."""
    findings: list[Finding] = []
    states: dict[str, dict[str, Any]] = {}
    for state in graph["states"]:
        if state["id"] in states and state["kind"] != "initial":
            first = states[state["id"]]
            message = f"duplicate state id {state['id']!r} (first defined at {first['file']}:{first['line']})"
            findings.append(finding("duplicate-id", "error", state["file"], state["line"], message))
        else:
            states.setdefault(state["id"], state)
    for transition in graph["transitions"]:
        for target in transition["targets"]:
            if target not in states:
                message = f"transition from {transition['source']!r} targets unknown state {target!r}"
                findings.append(finding("unknown-target", "error", transition["file"], transition["line"], message))
    for state in graph["states"]:
        findings.extend(_check_initial(state, states))
    for transition in graph["transitions"]:  # the transition of an <initial> element
        source = states.get(transition["source"])
        if source is None or source["kind"] != "initial":
            continue
        for target in transition["targets"]:
            if target in states and not _is_descendant(target, source["parent"], states):
                message = f"initial state {target!r} is not a descendant of {source['parent']!r}"
                findings.append(finding("invalid-initial", "error", transition["file"], transition["line"], message))
    return findings


def _is_descendant(candidate: str, ancestor: str, states: Mapping[str, dict[str, Any]]) -> bool:
    parent = states[candidate]["parent"] if candidate in states else None
    while parent is not None:
        if parent == ancestor:
            return True
        parent = states[parent]["parent"]
    return False


def _check_initial(state: dict[str, Any], states: Mapping[str, dict[str, Any]]) -> Iterable[Finding]:
    if state["kind"] not in ("scxml", "state") or not state["initial"]:
        return
    if state["kind"] == "state" and not state["children"]:
        message = f"atomic state {state['id']!r} has an initial {state['initial']} but no child states"
        yield finding("invalid-initial", "error", state["file"], state["line"], message)
        return
    for initial in state["initial"]:
        if initial not in states:
            message = f"initial state {initial!r} of {state['id']!r} does not exist"
            yield finding("invalid-initial", "error", state["file"], state["line"], message)
        elif not _is_descendant(initial, state["id"], states):
            message = f"initial state {initial!r} is not a descendant of {state['id']!r}"
            yield finding("invalid-initial", "error", state["file"], state["line"], message)


# --- Reachability ----------------------------------------------------------------------------


def reachable_states(graph: dict[str, Any]) -> set[str]:
    """States some run can enter: the initial configuration, then every transition's targets.

    Over-approximates runs (every event may arrive, every cond may be true) but computes the
    W3C entry set of each target exactly: ancestors, default initial descendants, and the other
    regions of every parallel ancestor. History states stand for their default transition.
    """
    states = {s["id"]: s for s in graph["states"]}
    outgoing: dict[str, list[list[str]]] = {}
    for transition in graph["transitions"]:
        outgoing.setdefault(transition["source"], []).append(transition["targets"])
    reached: set[str] = set()
    queue: list[str] = []

    def enter_default(sid: str) -> None:
        """Enter `sid` with its default descendants (initial children, all parallel regions)."""
        if sid not in states or sid in reached:
            return
        reached.add(sid)
        queue.append(sid)
        state = states[sid]
        if state["kind"] == "parallel":
            for child in state["children"]:
                enter_default(child)
        elif state["kind"] == "history":
            for targets in outgoing.get(sid, []):
                for target in targets:
                    enter(target)
        else:
            for initial in state["initial"]:
                enter(initial)

    def enter(sid: str) -> None:
        """Enter `sid` as a transition target: its ancestors too, and their sibling regions."""
        if sid not in states:
            return
        path = [sid]
        while states[path[-1]]["parent"] is not None:
            path.append(states[path[-1]]["parent"])
        on_path = set(path)
        ancestors = list(reversed(path[1:]))
        # Mark the whole path first: the default entry of a sibling region below must not
        # re-enter the regions this path goes through with their defaults.
        for ancestor in ancestors:
            if ancestor not in reached:
                reached.add(ancestor)
                queue.append(ancestor)
        for ancestor in ancestors:
            if states[ancestor]["kind"] == "parallel":
                for region in states[ancestor]["children"]:
                    if region not in on_path:
                        enter_default(region)
        enter_default(sid)

    if graph["root"] is not None:
        enter_default(graph["root"])
    index = 0
    while index < len(queue):
        sid = queue[index]
        index += 1
        if states[sid]["kind"] == "history":
            continue  # its default transition was taken as part of entering it
        for targets in outgoing.get(sid, []):
            for target in targets:
                enter(target)
    return reached


def check_reachability(graph: dict[str, Any]) -> list[Finding]:
    """unreachable-state findings (pseudo-states `<initial>` and history are not reported)."""
    if graph["root"] is None:
        return []
    reached = reachable_states(graph)
    return [
        finding("unreachable-state", "warning", s["file"], s["line"], f"state {s['id']!r} can never be entered")
        for s in graph["states"]
        if s["id"] not in reached and s["kind"] not in ("initial", "history")
    ]


def check_way_out(graph: dict[str, Any]) -> list[Finding]:
    """no-way-out findings: atomic non-final states that no transition can ever exit.

    A state can be exited by a targeted transition of itself or an ancestor, or by one in an
    orthogonal region (a descendant of a parallel ancestor) whose target lies outside that
    parallel state.
    """
    states = {s["id"]: s for s in graph["states"]}
    targeted: dict[str, list[dict[str, Any]]] = {}
    for transition in graph["transitions"]:
        if transition["targets"]:
            targeted.setdefault(transition["source"], []).append(transition)

    def ancestors(sid: str) -> list[str]:
        chain = []
        parent = states[sid]["parent"]
        while parent is not None and parent in states:
            chain.append(parent)
            parent = states[parent]["parent"]
        return chain

    def subtree(sid: str) -> Iterator[str]:
        yield sid
        for child in states[sid]["children"]:
            yield from subtree(child)

    findings: list[Finding] = []
    for state in graph["states"]:
        if state["kind"] != "state" or state["children"]:
            continue
        chain = [state["id"], *ancestors(state["id"])]
        if any(sid in targeted for sid in chain if states[sid]["kind"] != "scxml"):
            continue
        if _orthogonal_exit(chain, states, targeted, subtree):
            continue
        findings.append(
            finding("no-way-out", "warning", state["file"], state["line"], f"state {state['id']!r} can never be left")
        )
    return findings


def _orthogonal_exit(chain, states, targeted, subtree) -> bool:  # type: ignore[no-untyped-def]
    """Whether a transition in a region orthogonal to `chain[0]` can leave a parallel ancestor."""
    for parallel in chain[1:]:
        if states[parallel]["kind"] != "parallel":
            continue
        inside = set(subtree(parallel))
        for sid in inside:
            for transition in targeted.get(sid, []):
                if any(target not in inside for target in transition["targets"]):
                    return True
    return False


# --- Entry point -----------------------------------------------------------------------------


def check_model(doc: LoadedDocument, profile: Profile) -> list[Finding]:
    """The engine model's definition errors (what a simulation would refuse to start with).

    `unknown action` (a namespace the profile has no handler for) becomes `unknown-action`;
    everything else is `definition`. Loader errors are reported by check_definition_errors().
    """
    model = build_model(doc, profile)
    findings = []
    for error in model.errors:
        if error in doc.errors:
            continue
        rule = "unknown-action" if error.message.startswith("unknown action") else "definition"
        findings.append(finding(rule, "error", error.file, error.line, error.message, error.column))
    return findings


def lint_document(doc: LoadedDocument, graph: dict[str, Any], profile: Profile) -> list[Finding]:
    """Every generic rule on an already resolved document and its graph."""
    findings = check_definition_errors(doc)
    if doc.root is not None and graph["root"] is None:  # parsed, but not an SCXML document
        file, line = doc.location(doc.root)
        findings.append(finding("definition", "error", file, line, graph["errors"][-1]["message"]))
    if doc.root is None or graph["root"] is None:
        return findings
    findings += check_structure(graph)
    findings += check_reachability(graph)
    findings += check_way_out(graph)
    findings += check_js(doc, profile)
    return findings


_STATE_TAGS = ("state", "parallel", "final", "history", "initial", "scxml")
#: the element a finding of each rule points at (to find its column when it has none)
RULE_TAGS = {
    "unknown-target": ("transition",),
    "unproducible-event": ("transition",),
    "duplicate-id": _STATE_TAGS,
    "invalid-initial": _STATE_TAGS,
    "unreachable-state": _STATE_TAGS,
    "no-way-out": _STATE_TAGS,
    "unresolved-include": ("include",),
}


def fill_columns(findings: Iterable[Finding], files: Mapping[str, bytes]) -> None:
    """Give findings without a column the column of their element's start tag on their line.

    Each file is split into lines once, so the cost is linear in the files plus the findings
    (looking each finding's line up in the whole file was quadratic on large documents).
    """
    lines_of: dict[str, list[bytes]] = {}
    for item in findings:
        tags = RULE_TAGS.get(item["rule"])
        if item["column"] is not None or not tags or not item["line"] or item["file"] not in files:
            continue
        lines = lines_of.get(item["file"])
        if lines is None:
            lines = lines_of[item["file"]] = files[item["file"]].split(b"\n")
        if item["line"] > len(lines):
            continue
        line = lines[item["line"] - 1]
        columns = [c for tag in tags if (c := column_of(line, 1, tag)) is not None]
        item["column"] = min(columns) if columns else None


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in file, line order, without exact duplicates."""
    unique: dict[tuple, Finding] = {}
    for item in findings:
        key = (item["rule"], item["file"], item["line"], item["column"], item["message"])
        unique.setdefault(key, item)
    return sorted(unique.values(), key=lambda f: (f["file"] or "", f["line"] or 0, f["column"] or 0, f["rule"]))


#: a dialect's extra rules: (resolved document, its graph, profile) -> findings
Rule = Callable[[LoadedDocument, dict[str, Any], Profile], list[Finding]]


def lint_project(
    files: Mapping[str, bytes],
    entry: str,
    profile: Profile | None = None,
    rules: Iterable[Rule] = (),
    modules: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Lint findings for the project's entry document; never raises.

    The generic rules always run; a dialect adds its own `rules` (ORS: simulator/ors/lint.py),
    which read the same resolved document and graph (built with `modules`, see build_graph).
    """
    profile = profile or Profile()
    budget = Budget()
    findings: list[Finding] = []
    try:
        doc = resolve_document(files, entry, profile)
        graph = graph_of(doc, modules, budget)
        syntax = check_xml_files(files)
        broken = {f["file"] for f in syntax}
        syntax += check_js_files(files, profile)
        findings = syntax + [
            f
            for f in lint_document(doc, graph, profile)
            if not (f["rule"] == "xml-syntax" and f["file"] in broken)  # already reported per file
        ]
        budget.check()
        if doc.root is not None and graph["root"] is not None:
            for rule in rules:
                findings += rule(doc, graph, profile)
                budget.check()
            # The model's checks last, only where no more specific finding already points.
            covered = {(f["file"], f["line"]) for f in findings}
            findings += [f for f in check_model(doc, profile) if (f["file"], f["line"]) not in covered]
        fill_columns(findings, files)
    except TooLargeToAnalyse as error:
        fill_columns(findings, files)
        findings.append(finding("too-large", "warning", entry, None, str(error)))
    except Exception as error:  # a lint bug must never hide the document from the designer
        findings = [finding("internal", "error", entry, None, f"lint failed: {error!r}")]
    return sort_findings(findings)
