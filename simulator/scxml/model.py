"""Immutable SCXML document model, built once per (project content, profile) and shared by sessions.

Public API
----------
``get_model(project, entry, profile=W3C) -> Model``
    Load (see ``loader.load_document``) and build, memoised: a second call with the same file
    contents and profile name returns the *same* ``Model`` object, so a thousand sessions of one
    version share one model. Never raises for bad documents: check ``model.errors``.
``build_model(loaded, profile=W3C, element=None) -> Model``
    Build from a ``LoadedDocument`` (``element`` = an inline ``<scxml>`` for ``<invoke><content>``).
``model_from_string(text, name="document.scxml", profile=W3C, project=None) -> Model``
    Convenience for tests and ``<invoke srcexpr/content expr>`` documents.

``Model``: ``root`` (the ``<scxml>`` node as a ``State`` of kind ``"scxml"``), ``states`` (every
state-like node in document order, ``state.order`` is its index), ``states_by_id``,
``transitions`` (document order, ``transition.order``), ``name``, ``datamodel`` ("ecmascript" or
"null"), ``binding`` ("early"/"late"), ``scripts`` (top-level ``<script>``), ``errors`` (list of
``errors.DefinitionError``), ``loaded`` (the ``LoadedDocument``: lxml tree, file of each element).

``State``: ``id``, ``kind`` ("scxml" | "state" | "parallel" | "final" | "history"), ``parent``,
``children`` (child states: state/parallel/final, document order), ``history`` (history
children), ``initial`` (a ``Transition`` for compound states/scxml: the ``initial`` attribute,
``<initial>`` element, or first child), ``history_type``, ``transitions``, ``onentry``/``onexit``
(tuples of blocks), ``invokes``, ``data``, ``donedata``, ``ancestors`` (parent .. root),
``order``, ``depth``, ``is_atomic``, ``is_compound``, ``file``, ``line``, ``element``.

``Transition``: ``id`` ("t<n>"), ``source``, ``events`` (descriptor tuple, ``()`` = eventless),
``cond``, ``targets`` (tuple of ``State``), ``type`` ("external"/"internal"), ``content``
(a block), ``order``, ``file``, ``line``, ``element``; ``matches(event_name)``.

Executable content: a *block* is a tuple of action nodes (``Raise``, ``Send``, ``Cancel``,
``Log``, ``Assign``, ``Script``, ``If``, ``Foreach``, ``Custom``), each with ``file``/``line`` and
its attributes. Attributes the profile declares as expressions (``Profile.attribute_is_expression``)
are stored in the ``*_expr`` field, so the interpreter never asks the profile at run time.

Treat everything here as read-only: nodes are shared between sessions and threads. What the
interpreter memoises about a document (event-name candidates, transition domains, entry/exit sets
per configuration) lives in ``model.plan`` (see plan.py), not in the nodes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from lxml import etree
from mypy_extensions import mypyc_attr

from .errors import DefinitionError
from .loader import SCXML_NS, LoadedDocument, Project, load_document, resolve_href, source_file, text_origins
from .plan import Plan
from .profile import W3C, Profile

_NS = "{" + SCXML_NS + "}"
STATE_TAGS = {"state", "parallel", "final"}
EXECUTABLE_TAGS = {"raise", "send", "cancel", "log", "assign", "script", "if", "elseif", "else", "foreach"}
SCXML_EVENT_PROCESSOR = "http://www.w3.org/TR/scxml/#SCXMLEventProcessor"

# -- content models (W3C SCXML sections 3-6) ---------------------------------------------------
#: The SCXML children each element may have: child -> (min, max) occurrences (max None: any
#: number). Elements of other namespaces are left to the profile (custom actions) or ignored.
#: Executable content (transition, onentry, onexit, if, foreach, finalize) is checked by
#: `ModelBuilder.action`. Elements not listed here take no SCXML children (raise, log, cancel,
#: param, script); data, assign and content hold arbitrary inline content.
_ANY = (0, None)
CONTENT_MODEL: dict[str, dict[str, tuple[int, int | None]]] = {
    "scxml": {"state": _ANY, "parallel": _ANY, "final": _ANY, "datamodel": (0, 1), "script": (0, 1)},
    "state": {
        "onentry": _ANY,
        "onexit": _ANY,
        "transition": _ANY,
        "initial": (0, 1),
        "state": _ANY,
        "parallel": _ANY,
        "final": _ANY,
        "history": _ANY,
        "datamodel": (0, 1),
        "invoke": _ANY,
    },
    "parallel": {
        "onentry": _ANY,
        "onexit": _ANY,
        "transition": _ANY,
        "state": _ANY,
        "parallel": _ANY,
        "history": _ANY,
        "datamodel": (0, 1),
        "invoke": _ANY,
    },
    "final": {"onentry": _ANY, "onexit": _ANY, "donedata": (0, 1)},
    "history": {"transition": (1, 1)},
    "initial": {"transition": (1, 1)},
    "datamodel": {"data": _ANY},
    "send": {"param": _ANY, "content": (0, 1)},
    "invoke": {"param": _ANY, "finalize": (0, 1), "content": (0, 1)},
    "donedata": {"param": _ANY, "content": (0, 1)},
    "raise": {},
    "log": {},
    "cancel": {},
    "param": {},
    "script": {},
}
SCXML_INVOKE_TYPE = "http://www.w3.org/TR/scxml/"


def _local(element: etree._Element) -> str | None:
    """Local name of an SCXML-namespace element, else None (comments, PIs, other namespaces)."""
    tag = element.tag
    if isinstance(tag, str) and tag.startswith(_NS):
        return tag[len(_NS) :]
    return None


#: a block of executable content: action nodes in document order
Block = tuple["Node", ...]


class Node:
    """Common location fields of every model node."""

    __slots__ = ("element", "file", "line")

    def __init__(self, element: etree._Element | None, file: str | None, line: int | None):
        self.element = element
        self.file = file
        self.line = line


# -- executable content ---------------------------------------------------------------------------


class Raise(Node):
    event: str | None
    event_expr: str | None
    params: tuple[Param, ...]

    __slots__ = ("event", "event_expr", "params")


class Param(Node):
    """<param name expr|location> of send, invoke and donedata."""

    expr: str | None
    location: str | None
    name: str | None

    __slots__ = ("expr", "location", "name")


class Content(Node):
    """<content expr> or inline content; `value` is the parsed literal (JSON if it parses)."""

    expr: str | None
    value: Any

    __slots__ = ("expr", "value")


class Send(Node):
    content: Content | None
    delay: str | None
    delay_expr: str | None
    event: str | None
    event_expr: str | None
    id: str | None
    idlocation: str | None
    namelist: tuple[str, ...]
    params: tuple[Param, ...]
    target: str | None
    target_expr: str | None
    type: str | None
    type_expr: str | None

    __slots__ = (
        "content",
        "delay",
        "delay_expr",
        "event",
        "event_expr",
        "id",
        "idlocation",
        "namelist",
        "params",
        "target",
        "target_expr",
        "type",
        "type_expr",
    )


class Cancel(Node):
    sendid: str | None
    sendid_expr: str | None

    __slots__ = ("sendid", "sendid_expr")


class Log(Node):
    expr: str | None
    label: str | None

    __slots__ = ("expr", "label")


class Assign(Node):
    content: Content | None
    expr: str | None
    location: str

    __slots__ = ("content", "expr", "location")


class Script(Node):
    """`name`: the JS filename its text runs under (stable per document, so sessions share
    bytecode); `origins`: `(text_line, file, line)` segments of text that is not the element's own
    (xi:include parse="text", `src`), in order."""

    source: str
    src: str | None
    name: str
    origins: tuple[tuple[int, str, int], ...]

    __slots__ = ("name", "origins", "source", "src")

    def locate(self, js_line: int) -> tuple[str | None, int | None]:
        """(file, line) of line `js_line` of the script's text."""
        file, line = self.file, (None if self.line is None else self.line + js_line - 1)
        for start, origin, first in self.origins:
            if js_line < start:
                break
            file, line = origin, first + js_line - start
        return file, line


class If(Node):
    """`branches`: tuple of (cond or None for <else>, block)."""

    branches: tuple[tuple[str | None, Block], ...]

    __slots__ = ("branches",)


class Foreach(Node):
    array: str
    block: Block
    index: str | None
    item: str

    __slots__ = ("array", "block", "index", "item")


class Custom(Node):
    """An element of a namespace claimed by a profile action handler."""

    attributes: dict[str, str]
    handler: Any
    localname: str
    namespace: str
    #: what the handler derives from the element once for every run of the document (None until then)
    prepared: Any

    __slots__ = ("attributes", "handler", "localname", "namespace", "prepared")


class Data(Node):
    content: Content | None
    expr: str | None
    id: str | None
    src_value: Any

    __slots__ = ("content", "expr", "id", "src_value")


class DoneData(Node):
    content: Content | None
    params: tuple[Param, ...]

    __slots__ = ("content", "params")


class Invoke(Node):
    autoforward: bool
    content: Content | None
    finalize: Block
    id: str | None
    idlocation: str | None
    model: Model | None
    namelist: tuple[str, ...]
    params: tuple[Param, ...]
    src: str | None
    src_expr: str | None
    state: State
    type: str | None
    type_expr: str | None

    __slots__ = (
        "autoforward",
        "content",
        "finalize",
        "id",
        "idlocation",
        "model",
        "namelist",
        "params",
        "src",
        "src_expr",
        "state",
        "type",
        "type_expr",
    )


# -- states and transitions -----------------------------------------------------------------------


def descriptor_tokens(descriptor: str | None) -> tuple[tuple[str, ...], bool]:
    """The event names of a W3C 3.12.1 event descriptor list, without their `.*`/`.` suffixes,
    and whether it holds the `*` wildcard (which matches every event)."""
    tokens = []
    wildcard = False
    for token in (descriptor or "").split():
        if token in {"*", ".*"}:
            wildcard = True
            continue
        if token.endswith(".*"):
            token = token[:-2]
        elif token.endswith("."):
            token = token[:-1]
        tokens.append(token)
    return tuple(tokens), wildcard


def event_matches(descriptor: str | None, name: str) -> bool:
    """W3C 3.12.1: does the descriptor list match event `name` (a token equals it or is a prefix
    of whole dot-separated tokens of it)? What `<transition event>` does, for breakpoints and tools."""
    tokens, wildcard = descriptor_tokens(descriptor)
    return wildcard or any(name == token or name.startswith(token + ".") for token in tokens)


class Transition(Node):
    """A <transition> (or the implicit initial transition of a compound state)."""

    cond: str | None
    content: Block
    event_prefixes: tuple[tuple[str, str], ...]
    events: tuple[str, ...]
    id: str
    order: int
    source: State
    target_ids: tuple[str, ...]
    targets: tuple[State, ...]
    type: str
    wildcard: bool

    __slots__ = (
        "cond",
        "content",
        "event_prefixes",
        "events",
        "id",
        "order",
        "source",
        "target_ids",
        "targets",
        "type",
        "wildcard",
    )

    def matches(self, name: str) -> bool:
        """W3C 3.12.1 event descriptor match: token prefix match, `*` matches everything."""
        return self.wildcard or any(name == d or name.startswith(p) for d, p in self.event_prefixes)


class State(Node):
    ancestors: tuple[State, ...]
    children: tuple[State, ...]
    data: tuple[Data, ...]
    depth: int
    donedata: DoneData | None
    history: tuple[State, ...]
    history_type: str | None
    id: str
    #: the initial transition of a compound state or <scxml> (None for other kinds)
    initial: Transition | None
    invokes: tuple[Invoke, ...]
    is_atomic: bool
    is_compound: bool
    kind: str
    onentry: tuple[Block, ...]
    onexit: tuple[Block, ...]
    order: int
    #: None only for the <scxml> root, which is never part of a configuration
    parent: State | None
    transitions: tuple[Transition, ...]

    __slots__ = (
        "ancestors",
        "children",
        "data",
        "depth",
        "donedata",
        "history",
        "history_type",
        "id",
        "initial",
        "invokes",
        "is_atomic",
        "is_compound",
        "kind",
        "onentry",
        "onexit",
        "order",
        "parent",
        "transitions",
    )

    def __repr__(self) -> str:
        return f"<State {self.id} {self.kind}>"


@mypyc_attr(native_class=False)  # weakly referenced: the documents' shared code and programs
class Model:
    """One built document (see module docstring)."""

    def __init__(self, loaded: LoadedDocument):
        self.loaded = loaded
        self.root: State | None = None
        self.states: list[State] = []
        self.states_by_id: dict[str, State] = {}
        self.transitions: list[Transition] = []
        self.errors: list[DefinitionError] = list(loaded.errors)
        self.name: str | None = None
        self.datamodel = "ecmascript"
        self.binding = "early"
        self.scripts: tuple = ()
        #: every <script> by its `name` (a JS stack frame names the script that defined a function)
        self.scripts_by_name: dict[str, Script] = {}
        self.all_data: tuple[Data, ...] = ()
        self.plan = Plan()

    @property
    def entry(self) -> str:
        return self.loaded.entry


# -- builder --------------------------------------------------------------------------------------


def _origins(element: etree._Element) -> tuple[tuple[int, str, int], ...]:
    """The loader's TEXT_ORIGINS_ATTR of a <script>, checked (the attribute is in the document)."""
    out = []
    for entry in text_origins(element):
        if (
            isinstance(entry, list)
            and len(entry) == 3
            and type(entry[0]) is int
            and isinstance(entry[1], str)
            and type(entry[2]) is int
        ):
            out.append((entry[0], entry[1], entry[2]))
    return tuple(out)


def _expr(text: str | None) -> str | None:
    """An expression attribute without trailing semicolons: authors write `expr="new X();"`, and
    the datamodel wraps expressions in parentheses where a `;` is a syntax error (test452)."""
    if text is None:
        return None
    stripped = text.rstrip()
    while stripped.endswith(";"):
        stripped = stripped[:-1].rstrip()
    return stripped


def _xml_value(source: Any) -> Any:
    """An XML value for the ECMAScript datamodel (a DOM in JS, W3C B.2), or None if not XML."""
    from .datamodel import XMLValue  # lazy: graph/lint users of the model need no JS engine

    try:
        return XMLValue(source)
    except Exception:
        return None


def _parse_literal(text: str) -> Any:
    """Inline <content>/<data> text or a `src` file: JSON if it parses (W3C B.2.2), XML (as a DOM
    value) if it is XML, else the normalised string."""
    stripped = text.strip()
    if not stripped:
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    if stripped.startswith("<"):
        xml = _xml_value(stripped)
        if xml is not None:
            return xml
    return " ".join(stripped.split()) if "\n" in stripped else stripped


class _ContentBuilder:
    """Shared helpers and the executable content of a document (W3C 4); `_Builder` adds states."""

    def __init__(self, loaded: LoadedDocument, profile: Profile):
        self.loaded = loaded
        self.profile = profile
        self.model = Model(loaded)
        self.model.errors = []  # filled by build(); loader errors copied in get_model
        self.pending_targets: list[tuple[Transition, str]] = []
        self.generated = 0

    # helpers
    def error(self, element: etree._Element, message: str) -> None:
        self.model.errors.append(self.loaded.error_at(element, message))

    def children_allowed(self, element: etree._Element, tag: str) -> set[int]:
        """Report SCXML children that `tag`'s content model forbids (or has too many or too few of);
        returns the ids of the children to skip. The profile may allow more (ORS: <raise><param>,
        several top-level <script>s)."""
        model = CONTENT_MODEL.get(tag)
        if model is None:
            return set()
        extra = self.profile.extra_children.get(tag, {})
        seen: dict[str, int] = {}
        skip: set[int] = set()
        for child in element:
            name = _local(child)
            if name is None:
                continue
            bounds = extra.get(name) or model.get(name)
            if bounds is None:
                self.error(child, f"<{name}> is not allowed in <{tag}>")
                skip.add(id(child))
                continue
            seen[name] = seen.get(name, 0) + 1
            if bounds[1] is not None and seen[name] > bounds[1]:
                self.error(child, f"<{tag}> may have at most {bounds[1]} <{name}>")
                skip.add(id(child))
        for name, (low, _high) in {**model, **extra}.items():
            if seen.get(name, 0) < low:
                self.error(element, f"<{tag}> needs a <{name}>")
        return skip

    def where(self, element: etree._Element) -> tuple[str, int | None]:
        return source_file(element, self.loaded.entry), element.sourceline

    def expr_attr(self, element: etree._Element, tag: str, name: str) -> tuple[str | None, str | None]:
        """(literal, expression) of attribute `name` / `nameexpr`, honouring the profile policy."""
        literal = element.get(name)
        expr = element.get(name + "expr")
        if literal is not None and expr is not None:
            self.error(element, f"<{tag}> may not have both '{name}' and '{name}expr'")
        if literal is not None and self.profile.attribute_is_expression(tag, name):
            return None, literal
        return literal, expr

    # executable content
    def block(self, element: etree._Element, context: str) -> tuple:
        actions = []
        for child in element:
            if not isinstance(child.tag, str):
                continue
            action = self.action(child, context)
            if action is not None:
                actions.append(action)
        return tuple(actions)

    def action(self, element: etree._Element, context: str) -> Node | None:
        tag = _local(element)
        file, line = self.where(element)
        if tag is not None:
            self.children_allowed(element, tag)
            if context == "finalize" and tag in {"send", "raise"}:  # W3C 6.5: finalize raises no events
                self.error(element, f"<{tag}> may not occur in <finalize>")
        if tag is None:
            qname = etree.QName(element)
            handler = self.profile.action_handlers.get(qname.namespace or "")
            if handler is None:
                self.error(element, f"unknown action <{qname.localname}> in namespace {qname.namespace!r}")
                return None
            for pline, message in handler.validate(element) or ():
                self.model.errors.append(DefinitionError(message, file, pline, self.loaded.column(element)))
            custom = Custom(element, file, line)
            custom.namespace = qname.namespace
            custom.localname = qname.localname
            custom.handler = handler
            custom.attributes = dict(element.attrib)
            custom.prepared = None
            return custom
        if tag == "raise":
            raise_ = Raise(element, file, line)
            raise_.event, raise_.event_expr = self.expr_attr(element, tag, "event")
            if raise_.event is None and raise_.event_expr is None:
                self.error(element, "<raise> needs an 'event'")
            raise_.params = self.params(element) if self.profile.raise_params else ()
            return raise_
        if tag == "send":
            return self.send(element, file, line)
        if tag == "cancel":
            cancel = Cancel(element, file, line)
            cancel.sendid, cancel.sendid_expr = self.expr_attr(element, tag, "sendid")
            if cancel.sendid is None and cancel.sendid_expr is None:
                self.error(element, "<cancel> needs 'sendid' or 'sendidexpr'")
            return cancel
        if tag == "log":
            log = Log(element, file, line)
            log.label = element.get("label")
            log.expr = _expr(element.get("expr"))
            return log
        if tag == "assign":
            assign = Assign(element, file, line)
            assign.location = element.get("location") or ""
            assign.expr = _expr(element.get("expr"))
            assign.content = None
            if not assign.location:
                self.error(element, "<assign> needs a 'location'")
            if assign.expr is None:
                assign.content = self.inline_content(element)
            elif len(element) or (element.text or "").strip():
                self.error(element, "<assign> may not have both 'expr' and children")
            return assign
        if tag == "script":
            script = Script(element, file, line)
            script.src = element.get("src")
            script.source = "".join(element.itertext())  # XML comments inside <script> are dropped, not truncating
            script.origins = _origins(element)
            if script.src:
                if script.source.strip():
                    self.error(element, "<script> may not have both 'src' and content")
                script.source = self.read_src(element, script.src) or ""
                path = resolve_href(source_file(element, self.loaded.entry), script.src)
                script.origins = ((1, path, 1),) if path is not None else ()
            names = self.model.scripts_by_name
            name = f"<script {file}:{line}>"
            while name in names:
                name = f"<script {file}:{line}#{len(names)}>"
            script.name = name
            names[name] = script
            script.source = self.profile.preprocess_script(script.source)
            return script
        if tag == "if":
            return self.if_(element, file, line, context)
        if tag == "foreach":
            foreach = Foreach(element, file, line)
            foreach.array = element.get("array") or ""
            foreach.item = element.get("item") or ""
            foreach.index = element.get("index")
            if not foreach.array or not foreach.item:
                self.error(element, "<foreach> needs 'array' and 'item'")
            foreach.block = self.block(element, context)
            return foreach
        self.error(element, f"<{tag}> is not executable content")
        return None

    def if_(self, element: etree._Element, file: str, line: int | None, context: str) -> If:
        node = If(element, file, line)
        branches: list[tuple[str | None, tuple]] = []
        cond: str | None = _expr(element.get("cond"))
        if cond is None:
            self.error(element, "<if> needs a 'cond'")
            cond = "false"
        current: list = []
        seen_else = False
        for child in element:
            if not isinstance(child.tag, str):
                continue
            tag = _local(child)
            if tag in {"elseif", "else"}:
                if seen_else:
                    self.error(child, f"<{tag}> after <else>")
                branches.append((cond, tuple(current)))
                current = []
                cond = _expr(child.get("cond", "false")) if tag == "elseif" else None
                seen_else = seen_else or tag == "else"
                continue
            action = self.action(child, context)
            if action is not None:
                current.append(action)
        branches.append((cond, tuple(current)))
        node.branches = tuple(branches)
        return node

    def read_src(self, element: etree._Element, src: str) -> str | None:
        file = source_file(element, self.loaded.entry)
        path = resolve_href(file, src)
        data = None
        if path is not None:
            try:
                data = self.loaded.project.get(path)
            except (OSError, ValueError):
                data = None
        if data is None:
            self.error(element, f"src {src!r} is not a file of this project")
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.error(element, f"src {src!r} is not UTF-8 text")
            return None

    def inline_content(self, element: etree._Element) -> Content | None:
        """Children/text of <assign>/<data> (no expr): JSON, text, or serialised XML."""
        file, line = self.where(element)
        node = Content(element, file, line)
        node.expr = None
        children = [c for c in element if isinstance(c.tag, str)]
        if children:
            xml = _xml_value(children)
            node.value = (
                xml
                if xml is not None
                else "".join(etree.tostring(c, encoding="unicode", with_tail=False) for c in children)
            )
        elif (element.text or "").strip():
            node.value = _parse_literal(element.text)
        else:
            return None
        return node

    def content(self, element: etree._Element) -> Content:
        file, line = self.where(element)
        node = Content(element, file, line)
        node.expr = _expr(element.get("expr"))
        node.value = None
        if node.expr is not None and (len(element) or (element.text or "").strip()):
            self.error(element, "<content> may not have both 'expr' and children")
        inner = self.inline_content(element)
        if inner is not None:
            node.value = inner.value
        return node

    def params(self, element: etree._Element) -> tuple[Param, ...]:
        params = []
        for child in element:
            if _local(child) != "param":
                continue
            self.children_allowed(child, "param")
            file, line = self.where(child)
            p = Param(child, file, line)
            p.name = child.get("name")
            p.expr = _expr(child.get("expr"))
            p.location = child.get("location")
            if not p.name:
                self.error(child, "<param> needs a 'name'")
            if (p.expr is None) == (p.location is None):
                self.error(child, "<param> needs exactly one of 'expr' and 'location'")
            params.append(p)
        return tuple(params)

    def send(self, element: etree._Element, file: str, line: int | None) -> Send:
        node = Send(element, file, line)
        node.event, node.event_expr = self.expr_attr(element, "send", "event")
        node.target, node.target_expr = self.expr_attr(element, "send", "target")
        node.type, node.type_expr = self.expr_attr(element, "send", "type")
        node.delay, node.delay_expr = self.expr_attr(element, "send", "delay")
        node.id = element.get("id")
        node.idlocation = element.get("idlocation")
        if node.id is not None and node.idlocation is not None:
            self.error(element, "<send> may not have both 'id' and 'idlocation'")
        node.namelist = tuple((element.get("namelist") or "").split())
        node.params = self.params(element)
        contents = [c for c in element if _local(c) == "content"]
        node.content = self.content(contents[0]) if contents else None
        if node.content is not None and (node.params or node.namelist):
            self.error(element, "<send> may not have <content> together with <param> or 'namelist'")
        typed = node.type not in (None, SCXML_EVENT_PROCESSOR, "scxml") or node.type_expr is not None
        if node.content is None and node.event is None and node.event_expr is None and not typed:
            self.error(element, "<send> needs 'event', 'eventexpr' or <content>")
        if node.delay is not None and not _valid_delay(node.delay):
            self.error(element, f"invalid delay {node.delay!r}")
        if (node.delay is not None or node.delay_expr is not None) and node.target == "#_internal":
            self.error(element, "<send> to '#_internal' may not be delayed")
        return node

    def data(self, element: etree._Element) -> Data:
        file, line = self.where(element)
        node = Data(element, file, line)
        node.id = element.get("id")
        node.expr = _expr(element.get("expr"))
        node.src_value = None
        node.content = None
        if not node.id:
            self.error(element, "<data> needs an 'id'")
        src = element.get("src")
        if sum(x is not None for x in (node.expr, src)) + bool(len(element) or (element.text or "").strip()) > 1:
            self.error(element, "<data> may have only one of 'expr', 'src' and content")
        if src is not None:
            text = self.read_src(element, src)
            node.src_value = _parse_literal(text) if text is not None else None
        elif node.expr is None:
            node.content = self.inline_content(element)
        return node

    def donedata(self, element: etree._Element) -> DoneData:
        file, line = self.where(element)
        node = DoneData(element, file, line)
        self.children_allowed(element, "donedata")
        contents = [c for c in element if _local(c) == "content"]
        node.content = self.content(contents[0]) if contents else None
        node.params = self.params(element)
        if node.content is not None and node.params:
            self.error(element, "<donedata> may not have both <content> and <param>")
        return node


class _Builder(_ContentBuilder):
    """States, transitions and invocations (W3C 3, 6.4) of a document."""

    # states
    def build(self, element: etree._Element) -> Model:
        model = self.model
        if _local(element) != "scxml":
            self.error(element, f"root element must be <scxml> in namespace {SCXML_NS}")
            return model
        model.name = element.get("name")
        model.datamodel = element.get("datamodel", "ecmascript")
        if model.datamodel not in {"ecmascript", "null"}:
            self.error(element, f"unsupported datamodel {model.datamodel!r}")
        model.binding = element.get("binding", "early")
        if model.binding not in {"early", "late"}:
            self.error(element, f"binding must be 'early' or 'late', not {model.binding!r}")
        root = self.state(element, None, "scxml")
        model.root = root
        model.scripts = tuple(
            node for child in element if _local(child) == "script" and (node := self.action(child, "scxml")) is not None
        )
        # Resolve targets once every id is known.
        for transition, ids in self.pending_targets:
            targets = []
            for tid in ids.split():
                state = model.states_by_id.get(tid)
                if state is None:
                    self.error(
                        transition.element if transition.element is not None else element,
                        f"unknown target state {tid!r}",
                    )
                else:
                    targets.append(state)
            transition.targets = tuple(targets)
        self.finish_initials(root)
        model.transitions.sort(key=lambda t: t.order)
        for index, transition in enumerate(model.transitions):
            transition.id = f"t{index + 1}"
        model.all_data = tuple(d for s in model.states for d in s.data)
        return model

    def new_state(self, element: etree._Element, parent: State | None, kind: str) -> State:
        file, line = self.where(element)
        state = State(element, file, line)
        sid = element.get("id")
        if not sid:
            self.generated += 1
            sid = f"__state{self.generated}" if kind != "scxml" else "__scxml"
        elif sid in self.model.states_by_id:
            self.error(element, f"duplicate state id {sid!r}")
        state.id = sid
        state.kind = kind
        state.parent = parent
        state.order = len(self.model.states)
        state.ancestors = (parent, *parent.ancestors) if parent is not None else ()
        state.depth = len(state.ancestors)
        state.children = ()
        state.history = ()
        state.initial = None
        state.history_type = None
        state.transitions = ()
        state.onentry = ()
        state.onexit = ()
        state.invokes = ()
        state.data = ()
        state.donedata = None
        self.model.states.append(state)
        self.model.states_by_id.setdefault(sid, state)
        return state

    def state(self, element: etree._Element, parent: State | None, kind: str) -> State:
        state = self.new_state(element, parent, kind)
        children: list[State] = []
        history: list[State] = []
        transitions: list[Transition] = []
        onentry: list[tuple] = []
        onexit: list[tuple] = []
        invokes: list[Invoke] = []
        data: list[Data] = []
        initial_element = None
        initial_transition: Transition | None = None
        skip = self.children_allowed(element, kind)
        for child in element:
            tag = _local(child)
            if tag is None or id(child) in skip:
                continue
            if tag in STATE_TAGS:
                children.append(self.state(child, state, tag))
            elif tag == "history":
                if tag in self.profile.unsupported_elements:  # profile hook (ORS: no <history>)
                    self.error(child, f"<{tag}> is not supported by the {self.profile.name} profile")
                history.append(self.history(child, state))
            elif tag == "initial":
                self.children_allowed(child, "initial")
                initial_element = child
                # Registered here, at its place in document order, so transition ids ("t<n>")
                # are the ones the graph JSON gives (the diagram and coverage share them).
                inner = [c for c in child if _local(c) == "transition"]
                initial_transition = self.transition(inner[0], state, register=True) if inner else None
            elif tag == "transition":
                transitions.append(self.transition(child, state))
            elif tag == "onentry":
                onentry.append(self.block(child, tag))
            elif tag == "onexit":
                onexit.append(self.block(child, tag))
            elif tag == "invoke":
                invokes.append(self.invoke(child, state))
            elif tag == "datamodel":
                self.children_allowed(child, "datamodel")
                data.extend(self.data(d) for d in child if _local(d) == "data")
            elif tag == "donedata":
                state.donedata = self.donedata(child)
            elif tag == "script":
                continue  # top-level scripts: collected by build()
        state.children = tuple(children)
        state.history = tuple(history)
        state.transitions = tuple(transitions)
        state.onentry = tuple(onentry)
        state.onexit = tuple(onexit)
        state.invokes = tuple(invokes)
        state.data = tuple(data)
        state.is_atomic = kind == "final" or (kind == "state" and not children)
        state.is_compound = kind in {"state", "scxml"} and bool(children)
        # initial: attribute, <initial>, or first child in document order (W3C 3.3.2)
        if (initial_element is not None or element.get("initial")) and (kind not in {"state", "scxml"} or not children):
            self.error(element, "'initial' only applies to compound states")
        if initial_element is not None:
            if element.get("initial"):
                self.error(element, "a state may not have both an 'initial' attribute and <initial>")
            inner = [c for c in initial_element if _local(c) == "transition"]
            if len(inner) == 1 and (inner[0].get("event") or inner[0].get("cond") or not inner[0].get("target")):
                self.error(initial_element, "<initial> needs exactly one unconditional eventless <transition target>")
            if initial_transition is not None:
                state.initial = initial_transition
        elif element.get("initial") and children:
            state.initial = self.synthetic_transition(element, state, element.get("initial"))
        elif children and kind in {"state", "scxml"}:
            state.initial = self.synthetic_transition(element, state, None)
            state.initial.targets = (children[0],)
        return state

    def finish_initials(self, root: State) -> None:
        for state in self.model.states:
            t = state.initial
            if t is None:
                continue
            for target in t.targets:
                if state not in target.ancestors:
                    self.error(state.element, f"initial state {target.id!r} is not a descendant of {state.id!r}")

    def history(self, element: etree._Element, parent: State) -> State:
        state = self.new_state(element, parent, "history")
        state.history_type = element.get("type", "shallow")
        if state.history_type not in {"shallow", "deep"}:
            self.error(element, f"history type must be 'shallow' or 'deep', not {state.history_type!r}")
        skip = self.children_allowed(element, "history")
        transitions = [self.transition(c, state) for c in element if _local(c) == "transition" and id(c) not in skip]
        for t in transitions:
            element_t = t.element
            if element_t is not None and (element_t.get("event") is not None or element_t.get("cond") is not None):
                self.error(element_t, "the default transition of <history> may not have 'event' or 'cond'")
        state.transitions = tuple(transitions[:1])
        state.is_atomic = True
        state.is_compound = False
        return state

    def synthetic_transition(self, element: etree._Element, source: State, targets: str | None) -> Transition:
        file, line = self.where(element)
        t = Transition(element, file, line)
        self.init_transition(t, source, None, None, "external", ())
        if targets:
            self.pending_targets.append((t, targets))
        return t

    def init_transition(
        self, t: Transition, source: State, event: str | None, cond: str | None, kind: str, content: tuple
    ) -> None:
        t.source = source
        t.cond = cond
        t.type = kind
        t.content = content
        t.targets = ()
        t.target_ids = ()
        t.id = ""
        t.order = 10**9 + len(self.pending_targets)  # synthetic: after real transitions
        tokens, wildcard = descriptor_tokens(event)
        t.events = tuple(event.split()) if event else ()
        t.event_prefixes = tuple((tok, tok + ".") for tok in tokens)
        t.wildcard = wildcard

    def transition(self, element: etree._Element, source: State, register: bool = True) -> Transition:
        file, line = self.where(element)
        t = Transition(element, file, line)
        kind = element.get("type", "external")
        if kind not in {"external", "internal"}:
            self.error(element, f"transition type must be 'external' or 'internal', not {kind!r}")
        event = element.get("event")
        if event is not None and not event.strip():
            self.error(element, "empty event attribute")
        self.init_transition(t, source, event, _expr(element.get("cond")), kind, self.block(element, "transition"))
        target = element.get("target")
        if target:
            t.target_ids = tuple(target.split())
            self.pending_targets.append((t, target))
        elif source.kind == "history":
            self.error(element, "the default transition of <history> needs a target")
        if register:
            # The builder visits elements depth-first in document order, so append order *is*
            # document order.
            t.order = len(self.model.transitions)
            self.model.transitions.append(t)
        return t

    def invoke(self, element: etree._Element, state: State) -> Invoke:
        file, line = self.where(element)
        node = Invoke(element, file, line)
        node.state = state
        node.type, node.type_expr = self.expr_attr(element, "invoke", "type")
        node.src, node.src_expr = self.expr_attr(element, "invoke", "src")
        node.id = element.get("id")
        node.idlocation = element.get("idlocation")
        node.namelist = tuple((element.get("namelist") or "").split())
        node.autoforward = element.get("autoforward", "false") == "true"
        node.params = self.params(element)
        node.finalize = ()
        node.model = None
        node.content = None
        skip = self.children_allowed(element, "invoke")
        for child in element:
            tag = _local(child)
            if id(child) in skip:
                continue
            if tag == "finalize":
                node.finalize = self.block(child, "finalize")
            elif tag == "content":
                node.content = self.content(child)
                inline = [c for c in child if _local(c) == "scxml"]
                if inline:
                    node.model = build_model(self.loaded, self.profile, inline[0])
                    self.model.errors.extend(node.model.errors)
        if node.content is not None and (node.src is not None or node.src_expr is not None):
            self.error(element, "<invoke> may not have both <content> and 'src'/'srcexpr'")
        if node.src is not None and node.model is None and node.type in (None, "scxml", SCXML_INVOKE_TYPE):
            path = resolve_href(file, node.src)
            if path is None or path not in self.loaded.project:
                self.error(element, f"invoke src {node.src!r} is not a file of this project")
            else:
                node.model = get_model(self.loaded.project, path, self.profile)
                self.model.errors.extend(node.model.errors)
        return node


def _valid_delay(text: str) -> bool:
    from .clock import parse_duration

    return parse_duration(text) is not None


def build_model(loaded: LoadedDocument, profile: Profile = W3C, element: etree._Element | None = None) -> Model:
    """Build a Model from a loaded tree (or from `element`, an inline <scxml> inside it)."""
    builder = _Builder(loaded, profile)
    target = element if element is not None else loaded.root
    if target is None:
        model = builder.model
        model.errors = list(loaded.errors)
        return model
    model = builder.build(target)
    if element is None:
        model.errors = list(loaded.errors) + model.errors
    return model


# -- cache ----------------------------------------------------------------------------------------


class _RecordingProject(Mapping[str, bytes]):
    """Wraps a project and remembers the digest of every file read (the model's dependencies)."""

    def __init__(self, project: Project):
        self.project = project
        self.reads: dict[str, str | None] = {}

    def __getitem__(self, key: str) -> bytes:
        try:
            data = self.project[key]
        except KeyError:
            self.reads[key] = None
            raise
        self.reads[key] = _sha256(data)
        return data

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.project)

    def __len__(self) -> int:
        return len(self.project)


_cache: dict[tuple[str, str], list[tuple[dict[str, str | None], Model]]] = {}
_cache_lock = threading.Lock()
_CACHE_LIMIT = 256

# Digests of the bytes objects hashed lately, by identity: a caller that runs the same files again
# (a bench, scenarios of one project) passes the same objects, and hashing ~200 KiB of project
# files on every get_model() was ~4% of a short Composer interaction. The entry keeps its bytes
# alive, so `id` cannot be reused while it is there; bounded by count and by bytes held.
_digests: dict[int, tuple[bytes, str]] = {}
_digests_held = 0
_DIGESTS_LIMIT = 512
_DIGESTS_BYTES = 32 * 1024 * 1024


def _sha256(data: bytes) -> str:
    global _digests_held
    known = _digests.get(id(data))
    if known is not None and known[0] is data:
        return known[1]
    digest = hashlib.sha256(data).hexdigest()
    if type(data) is bytes:  # immutable: the digest stays true while the entry holds it
        with _cache_lock:
            if len(_digests) >= _DIGESTS_LIMIT or _digests_held + len(data) > _DIGESTS_BYTES:
                _digests.clear()
                _digests_held = 0
            _digests[id(data)] = (data, digest)
            _digests_held += len(data)
    return digest


def _digest(project: Project, path: str) -> str | None:
    try:
        data = project.get(path)
    except (OSError, ValueError):
        return None
    return _sha256(data) if data is not None else None


def get_model(project: Project, entry: str, profile: Profile = W3C) -> Model:
    """The shared Model of `entry` in `project` for `profile` (memoised by file contents)."""
    key = (profile.name, entry)
    with _cache_lock:
        candidates = list(_cache.get(key, ()))
    for deps, model in candidates:
        if all(_digest(project, path) == digest for path, digest in deps.items()):
            return model
    recorder = _RecordingProject(project)
    loaded = load_document(recorder, entry, profile)
    model = build_model(loaded, profile)
    loaded.project = project
    with _cache_lock:
        if sum(len(v) for v in _cache.values()) >= _CACHE_LIMIT:
            _cache.clear()
        _cache.setdefault(key, []).append((dict(recorder.reads), model))
    return model


def model_from_string(
    text: str | bytes, name: str = "document.scxml", profile: Profile = W3C, project: Project | None = None
) -> Model:
    """Build (memoised) a Model from one document's text, optionally with sibling project files."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    files = dict(project or {})
    files[name] = data
    return get_model(files, name, profile)
