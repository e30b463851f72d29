"""How an ORS action element's attributes and children are evaluated, following its declaration.

Attributes are written as expressions, literals or locations (:class:`~.extensions.base.Attr`);
the values are checked against their declared type and valid values, and every problem is
reported as a sentence (the platform answers them with the module's ``invalidattribute`` error).
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from simulator.scxml.datamodel import UNDEFINED, JSError

from .engine import Engine
from .extensions import module_for_namespace
from .extensions.base import NO_DEFAULT, SCXML_NS, Attr, Child, Module, split_tag

_BARE_TOKEN = re.compile(r"^[A-Za-z_][\w-]*$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _convert_literal(attr: Attr | None, raw: str) -> Any:
    """A literal attribute value in its declared type (``"true"`` -> True, ``"10"`` -> 10)."""
    text = raw.strip()
    kind = attr.type if attr else "any"
    if kind in ("boolean", "any") and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if kind in ("integer", "number", "duration", "any") and _NUMBER.match(text):
        return int(text) if "." not in text else float(text)
    return raw


def _type_ok(attr: Attr, value: Any) -> bool:
    if value is None or value is UNDEFINED:
        return True
    t = attr.type
    if t in ("any", "resource"):
        return t == "any" or isinstance(value, (str, dict))
    if t == "string":
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    if t in ("integer", "number", "duration"):
        if isinstance(value, bool):
            return False
        if isinstance(value, (int, float)):
            return True
        return isinstance(value, str) and (_NUMBER.match(value.strip()) is not None or t == "duration")
    if t == "boolean":
        return isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false"))
    if t == "object":
        return isinstance(value, (dict, list))
    if t == "array":
        return isinstance(value, list)
    return True


def _normalise(attr: Attr, value: Any) -> Any:
    if value is UNDEFINED:
        return None
    if attr.type == "boolean" and isinstance(value, str):
        return value.lower() == "true"
    return value


class Shape(NamedTuple):
    """What evaluation reads of an action element: its attributes (``attrib.items()``, in document
    order), its child elements ``(namespace, local name, shape)`` and its text, stripped. Read from
    lxml once per element of a document (``shape_of``; reading attributes and children through lxml
    again on every run was ~2% of an ORS interaction): the model's tree does not change."""

    attrib: tuple[tuple[str, str], ...]
    children: tuple[tuple[str | None, str, Shape], ...]
    text: str


def shape_of(element: Any) -> Shape:
    """The `Shape` of an lxml element (comments and processing instructions left out)."""
    children = []
    for sub in element:
        if isinstance(sub.tag, str):
            ns, local = split_tag(sub.tag)
            children.append((ns, local, shape_of(sub)))
    return Shape(tuple(element.attrib.items()), tuple(children), (element.text or "").strip())


#: per declaration tuple (static, module-level): its attributes by name
_DECLARED: dict[int, tuple[tuple[Attr, ...], dict[str, Attr]]] = {}
#: per declared attribute with `values` (static): the allowed values in lower case
_ALLOWED: dict[int, tuple[Attr, set[str]]] = {}


def _declared(attributes: tuple[Attr, ...]) -> dict[str, Attr]:
    found = _DECLARED.get(id(attributes))
    if found is None or found[0] is not attributes:  # the tuple is kept: its id stays its own
        found = _DECLARED[id(attributes)] = (attributes, {a.name: a for a in attributes})
    return found[1]


def _allowed(attr: Attr) -> set[str]:
    found = _ALLOWED.get(id(attr))
    if found is None or found[0] is not attr:
        found = _ALLOWED[id(attr)] = (attr, {str(v).lower() for v in attr.values or ()})
    return found[1]


def evaluate_attributes(
    ctx: Any, element: Shape, attributes: tuple[Attr, ...], open_: bool
) -> tuple[dict[str, Any], list[str]]:
    """Evaluate an element's attributes by declaration; (values, problems)."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    declared = _declared(attributes)
    for key, raw in element.attrib:
        if key[:1] == "{":
            continue  # xmlns-qualified / loader markers
        name = key
        attr = declared.get(name)
        if attr is None:
            if name.startswith("_") and name != "_expr":
                continue  # ORS "_" extension attributes: accepted, ignored
            if not open_:
                values[name] = raw
                continue
            attr = Attr(name)
        if attr.kind == "location":
            values[name] = raw
            continue
        value = _convert_literal(attr, raw) if attr.kind == "literal" else _evaluate(ctx, raw, attr)
        value = _normalise(attr, value)
        if not _type_ok(attr, value) or (
            attr.values is not None and value is not None and str(value).lower() not in _allowed(attr)
        ):
            problems.append(f"The attribute {name} has an invalid value ({json.dumps(value, default=str)})")
        values[name] = value
    for attr in attributes:
        if attr.name not in values and attr.default is not NO_DEFAULT:
            values[attr.name] = attr.default
    return values, problems


def _evaluate(ctx: Any, raw: str, attr: Attr) -> Any:
    try:
        return Engine.evaluate(ctx, raw)
    except JSError as exc:
        if attr.bare_token_literal and exc.name == "ReferenceError" and _BARE_TOKEN.match(raw.strip()):
            return _convert_literal(attr, raw.strip())
        raise


def evaluate_children(
    ctx: Any, element: Shape, children: tuple[Child, ...], module: Module, open_: bool
) -> tuple[list[dict[str, Any]], list[str]]:
    """Evaluate child elements recursively: [{tag, namespace, attributes, children, text}]."""
    out: list[dict[str, Any]] = []
    problems: list[str] = []
    for ns, local, sub in element.children:
        decl = next((c for c in children if c.tag == local), None)
        child_open = open_ or decl is None or decl.open
        attrs = decl.attributes if decl else ()
        try:
            values, probs = evaluate_attributes(ctx, sub, attrs, child_open)
        except JSError:
            if decl is not None and not decl.open:
                raise
            values, probs = {k: v for k, v in sub.attrib if not k.startswith("{")}, []
        if local == "content" and "_expr" in values and values.get("expr") is None:
            values["expr"] = values.pop("_expr")
        kids, kprobs = evaluate_children(ctx, sub, decl.children if decl else (), module, child_open)
        mod = module_for_namespace(ns)
        entry = {
            "tag": local,
            "namespace": mod.name if mod else ("scxml" if ns == SCXML_NS else ns),
            "attributes": values,
            "children": kids,
        }
        if sub.text and not kids:
            entry["text"] = sub.text
        out.append(entry)
        problems += probs + kprobs
    return out, problems
