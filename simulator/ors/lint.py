"""ORS lint rules: extension calls checked against the module declarations, and waited events.

Rules (id: severity — what):
  unknown-action: error — an element of a Genesys module namespace that the module does not
      declare (or a `http://www.genesyslab.com/modules/<x>` namespace no module declares)
  missing-attribute: error — a required attribute of an action (or of one of its children) is
      absent
  unknown-attribute: warning — an attribute the declaration does not know (ORS ignores it, so it
      is most likely a typo); `_`-prefixed ORS attributes are accepted
  bad-value: error — a literal (or an expression that is a plain JS literal) outside the
      declared valid values, or of the wrong type
  bad-child: error — a child element the action does not accept, or too few/many of one
  js-syntax: error — an expression/location attribute of an action that does not compile
  composer-fragment: warning — the entry is a Composer workflow/subroutine (ids with the
      `$$_MY_PREFIX_$$` placeholder); replaces the unknown-target/unreachable cascade that causes
  unproducible-event: warning — a transition waits for an event that nothing can produce: no
      `<raise>`/`<send>`/`__Raise('name')` of the strategy, no `done.state.*` of its states, no error event, no
      event of an ORS module or of the ORS core. A strategy that answers web requests
      (`<ws:response>`) receives events of any name through the Web API (`POST
      /scxml/session/<id>/request/<name>`): there only names in an ORS module's own event family
      (`queue.*`, `interaction.*`, `error.*`...) are checked

The declarations are the data in `simulator/ors/extensions/` (see `base.py`); the structural
checks reuse `validate_element()` from there, so lint and the runtime agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from lxml import etree

from simulator.ors.extensions import MODULES, module_for_namespace
from simulator.ors.extensions.base import (
    GENESYS_NS_BASE,
    Action,
    Attr,
    Child,
    Module,
    declared_child,
    validate_element,
)
from simulator.scxml.graph import is_custom_action, is_scxml, local_name, namespace_of
from simulator.scxml.lint import Finding, finding, js_syntax_error
from simulator.scxml.loader import LoadedDocument
from simulator.scxml.profile import Profile

#: events the ORS core itself sends (spec ors-core.md 1.12); names ending in "." are prefixes
CORE_EVENTS = ("error.", "done.invoke.", "done.scxml.", "cancel.successful")

#: validate_element() message fragments -> rule id (base.py formats these messages)
VALIDATION_RULES = (
    ("unknown action element", "unknown-action"),
    ("missing required attribute", "missing-attribute"),
    ("invalid value", "bad-value"),
    ("unexpected child element", "bad-child"),
    ("child element(s)", "bad-child"),
)


def is_genesys_namespace(namespace: str | None) -> bool:
    """Whether `namespace` is (any spelling of) a Genesys module namespace."""
    if not namespace:
        return False
    bare = GENESYS_NS_BASE.removeprefix("http://")
    return namespace.removeprefix("http://").removeprefix("https://").startswith(bare)


def action_elements(root: etree._Element) -> Iterator[etree._Element]:
    """Extension calls: Genesys-namespace elements directly inside SCXML content."""
    for element in root.iter():
        parent = element.getparent()
        if (
            is_custom_action(element)
            and parent is not None
            and is_scxml(parent)
            and is_genesys_namespace(namespace_of(element))
        ):
            yield element


# --- JS literal values -----------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")


class _Unknown:
    """The value of an expression that is not a plain literal (known only at run time)."""


UNKNOWN = _Unknown()


def static_value(attr: Attr, raw: str) -> Any:
    """The value an attribute certainly has, or UNKNOWN when it depends on the run.

    Literal attributes are their text; an expression is known when it is a JS string, number or
    boolean literal. A bare identifier stays UNKNOWN: it is a variable or (ORS `bare_token_literal`)
    the token itself, which only the run decides.
    """
    text = raw.strip()
    if attr.kind == "literal":
        return text
    if attr.kind == "location":
        return UNKNOWN
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" and text[0] not in text[1:-1]:
        return text[1:-1]
    if _NUMBER.fullmatch(text):
        return float(text)
    if text in ("true", "false"):
        return text == "true"
    return UNKNOWN


def type_problem(attr: Attr, value: Any) -> str | None:
    """Why a statically known `value` does not fit `attr` (type and valid values), or None."""
    if value is UNKNOWN:
        return None
    if attr.values is not None and attr.kind != "literal":
        allowed = {str(v).lower() for v in attr.values}
        if str(value).lower() not in allowed:
            return f"has value {value!r}, expected one of: {', '.join(str(v) for v in attr.values)}"
    expected = attr.type
    if attr.kind == "literal":
        text = str(value).lower()
        if expected == "boolean" and text not in ("true", "false"):
            return f"has value {value!r}, expected true or false"
        if expected in ("integer", "number") and not _NUMBER.fullmatch(text):
            return f"has value {value!r}, expected a number"
        return None
    if expected == "boolean" and not isinstance(value, bool) and str(value).lower() not in ("true", "false"):
        return f"has value {value!r}, expected a boolean"
    if expected in ("integer", "number") and (isinstance(value, bool) or not _is_number(value)):
        return f"has value {value!r}, expected a number"
    return None


def _is_number(value: Any) -> bool:
    if isinstance(value, int | float):
        return True
    return bool(_NUMBER.fullmatch(str(value).strip()))


# --- Action checks ---------------------------------------------------------------------------


def _attribute_findings(
    doc: LoadedDocument,
    element: etree._Element,
    attributes: tuple[Attr, ...],
    where: str,
    file: str | None,
    profile: Profile,
) -> Iterator[Finding]:
    """unknown-attribute, bad-value (expressions that are literals) and js-syntax findings."""
    declared = {a.name: a for a in attributes}
    line = element.sourceline
    column = doc.column(element)
    for name, raw in element.attrib.items():
        if name.startswith("{"):
            continue  # namespaced (xml:*, loader markers): not the action's own attributes
        attr = declared.get(name)
        if attr is None:
            if not name.startswith("_"):
                message = f"{where}: unknown attribute '{name}'"
                yield finding("unknown-attribute", "warning", file, line, message, column)
            continue
        if attr.kind in ("expression", "location") and raw.strip():
            error = js_syntax_error(profile.preprocess_script(raw), "expression")
            if error:
                yield finding("js-syntax", "error", file, line, f"{where} {name}: {error[0]}", column)
                continue
        if attr.kind != "literal":  # literal values are checked by validate_element()
            problem = type_problem(attr, static_value(attr, raw))
            if problem:
                yield finding("bad-value", "error", file, line, f"{where}: attribute '{name}' {problem}", column)
        elif attr.type in ("boolean", "integer", "number") and attr.values is None:
            problem = type_problem(attr, raw.strip())
            if problem:
                yield finding("bad-value", "error", file, line, f"{where}: attribute '{name}' {problem}", column)


def _walk_children(
    doc: LoadedDocument,
    element: etree._Element,
    children: tuple[Child, ...],
    module: Module,
    where: str,
    file: str | None,
    profile: Profile,
) -> Iterator[Finding]:
    for sub in element:
        if not isinstance(sub.tag, str):
            continue
        decl = declared_child(children, namespace_of(sub), local_name(sub), module.namespaces)
        if decl is None:
            continue  # validate_element() reports undeclared children
        sub_where = f"{where}/{local_name(sub)}"
        if decl.namespace is not None and not is_genesys_namespace(decl.namespace):
            continue  # core <param>/<content>: the generic lint checks their expressions
        if not decl.open:
            yield from _attribute_findings(doc, sub, decl.attributes, sub_where, file, profile)
        yield from _walk_children(doc, sub, decl.children, module, sub_where, file, profile)


def check_action(doc: LoadedDocument, element: etree._Element, profile: Profile) -> list[Finding]:
    """Every finding for one extension call."""
    file, line = doc.location(element)
    namespace = namespace_of(element)
    module = module_for_namespace(namespace)
    if module is None:
        message = f"<{local_name(element)}>: no ORS module has the namespace {namespace!r}"
        return [finding("unknown-action", "error", file, line, message, doc.column(element))]
    findings: list[Finding] = []
    for problem_line, message in validate_element(module, element):
        rule = next((r for fragment, r in VALIDATION_RULES if fragment in message), "bad-child")
        column = doc.column(element) if problem_line in (None, 0, line) else None
        findings.append(finding(rule, "error", file, problem_line or line, message, column))
    action: Action | None = module.actions.get(local_name(element))
    if action is None:
        return findings
    where = f"<{module.name}:{action.name}>"
    findings += _attribute_findings(doc, element, action.attributes, where, file, profile)
    findings += _walk_children(doc, element, action.children, module, where, file, profile)
    return findings


# --- Events ----------------------------------------------------------------------------------


def _send_event_names(doc: LoadedDocument, profile: Profile) -> tuple[set[str], bool]:
    """Event names the document raises or sends, and whether some send's name is dynamic."""
    names: set[str] = set()
    dynamic = False
    assert doc.root is not None
    for element in doc.root.iter():
        if not is_scxml(element, "raise", "send"):
            continue
        tag = local_name(element)
        for attribute in ("event", "eventexpr"):
            raw = element.get(attribute)
            if raw is None:
                continue
            if attribute == "event" and not profile.attribute_is_expression(tag, "event"):
                names.add(raw.strip())
                continue
            value = static_value(Attr(attribute), raw)
            if isinstance(value, str):
                names.add(value)
            else:
                dynamic = True
    return names, dynamic


_RAISE_CALL = re.compile(r"""\b__Raise\s*\(\s*(['"])([^'"\\]+)\1""")


def _script_raised_names(root: etree._Element) -> set[str]:
    """Event names raised from JS with ORS's `__Raise('name', data)` and a literal name.

    A computed name (Composer's `__Raise(App_X['error.rethrow'].name, ...)`) re-raises an event
    the strategy received, so it adds nothing new and does not count as dynamic.
    """
    names: set[str] = set()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        texts = [element.text or ""] if is_scxml(element, "script") else []
        texts += [value for value in element.attrib.values() if "__Raise" in value]
        for text in texts:
            if "__Raise" in text:
                names |= {match.group(2) for match in _RAISE_CALL.finditer(text)}
    return names


def platform_events(modules: Iterable[Module], used: set[tuple[str, str]]) -> set[str]:
    """Events the ORS platform can send to this strategy.

    Unsolicited module events and events not tied to an action are always possible; the answers
    of an action (`queue.submit.done`, `error.queue.submit`) only when the strategy calls it.
    """
    names: set[str] = set()
    for module in modules:
        answers: set[str] = set()
        for action in module.actions.values():
            events = {*action.events, module.done_event(action), module.error_event(action)}
            answers |= events
            if (module.name, action.name) in used:
                names |= events
        names |= {e.name for e in module.events if e.unsolicited or e.name not in answers}
    return names


def descriptor_matches(descriptor: str, producible: str) -> bool:
    """Whether an event named `producible` (or, ending in ".", any event with that prefix)
    matches the transition event `descriptor` (ORS token-prefix matching, spec 1.9)."""
    if producible.endswith("."):
        family = producible[:-1]
        return descriptor == family or descriptor.startswith(producible) or family.startswith(descriptor + ".")
    return producible == descriptor or producible.startswith(descriptor + ".")


def web_reserved_prefixes(modules: Iterable[Module]) -> set[str]:
    """First tokens of the event families the platform owns (``queue``, ``interaction``,
    ``error``, ``done``...): a web request's event never comes from them."""
    reserved = {"error", "done", "cancel"}
    for module in modules:
        reserved |= set(module.event_prefixes)
    return reserved


def check_events(
    doc: LoadedDocument, graph: Mapping[str, Any], profile: Profile, modules: Iterable[Module] = MODULES
) -> list[Finding]:
    """unproducible-event findings for transitions waiting for events nothing can produce.

    When some `<send>` computes its event name at run time, any name might be produced and no
    finding is reported.
    """
    if doc.root is None:
        return []
    sent, dynamic = _send_event_names(doc, profile)
    if dynamic:
        return []
    used = set()
    for element in action_elements(doc.root):
        module = module_for_namespace(namespace_of(element))
        if module is not None:
            used.add((module.name, local_name(element)))
    producible = sent | _script_raised_names(doc.root) | platform_events(modules, used) | set(CORE_EVENTS)
    producible |= {f"done.state.{s['id']}" for s in graph["states"] if s["kind"] in ("state", "parallel")}
    families = [event for event in producible if event.endswith(".")]
    # Every token prefix of an exact name: a descriptor matches the name iff it is one of them.
    prefixes = {
        event.rsplit(".", cut)[0]
        for event in producible
        if not event.endswith(".")
        for cut in range(event.count(".") + 1)
    }
    # A web-request server gets events named by its HTTP clients: only the platform's own event
    # families (which no client can use for its request names) stay checkable.
    reserved = web_reserved_prefixes(modules) if ("ws", "response") in used else None
    findings: list[Finding] = []
    for transition in graph["transitions"]:
        for descriptor in (transition["event"] or "").split():
            name = descriptor.removesuffix(".*").removesuffix(".")
            if name == "*" or not name or name in prefixes:
                continue
            if reserved is not None and name.split(".", 1)[0] not in reserved:
                continue  # may be the name of a web request (POST .../request/<name>)
            if not any(descriptor_matches(name, family) for family in families):
                message = f"transition from {transition['source']!r} waits for {descriptor!r}, which nothing produces"
                findings.append(
                    finding("unproducible-event", "warning", transition["file"], transition["line"], message)
                )
    return findings


# --- Composer fragments opened on their own --------------------------------------------------

PREFIX_PLACEHOLDER = "$$_MY_PREFIX_$$"
#: generic findings that are only consequences of an unresolved placeholder
_PLACEHOLDER_CASCADE = ("unknown-target", "invalid-initial", "unreachable-state")


def explain_composer_fragment(findings: list[Finding], entry: str) -> list[Finding]:
    """Replace the cascade of a workflow/subroutine linted as the entry by one clear finding.

    Composer workflows and subroutines write ids as `$$_MY_PREFIX_$$.X`; only the IPD's
    `<xi:include resolveid>` replaces the placeholder. Opened on their own, every such target is
    "unknown" and every state "unreachable": one `composer-fragment` warning says why instead.
    """
    if not any(f["rule"] in _PLACEHOLDER_CASCADE and PREFIX_PLACEHOLDER in f["message"] for f in findings):
        return findings
    kept = [f for f in findings if f["rule"] not in _PLACEHOLDER_CASCADE]
    message = (
        f"{entry} is a Composer workflow or subroutine: its ids use {PREFIX_PLACEHOLDER}, which only the "
        "xi:include resolveid of an IPD replaces; lint the IPD that includes it"
    )
    return [finding("composer-fragment", "warning", entry, 1, message), *kept]


# --- Entry point -----------------------------------------------------------------------------


def ors_rules(doc: LoadedDocument, graph: Mapping[str, Any], profile: Profile) -> list[Finding]:
    """Every ORS rule on a resolved document and its graph (plugged into the generic lint)."""
    if doc.root is None:
        return []
    findings: list[Finding] = []
    for element in action_elements(doc.root):
        findings += check_action(doc, element, profile)
    findings += check_events(doc, graph, profile)
    return findings
