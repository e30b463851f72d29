"""The designer's edit operations on an SCXML file, applied as minimal text edits.

Every operation takes the file's text and answers the new text plus the changes it made
(`Change`: a span of the *original* text and its replacement). Only the bytes an edit must
change are touched: comments, attribute order and quoting, indentation, line endings and every
other element stay byte-identical. New markup takes the indentation of its future siblings and
the line ending used where it goes.

Elements are addressed by a reference (`Ref`):
  "Entry1" or {"id": "Entry1"}                 a state (state/parallel/final/history) by its id
  {"line": 12, "tag": "transition", "nth": 0}  the nth element named `tag` starting on line 12
                                               (either the line of `<` or lxml's sourceline)
  {"root": true}                               the document element
  ... + {"child": "transition", "index": 1}    then its index-th child element named so

Composer files write ids as `$$_MY_PREFIX_$$.X` in `target`/`initial`; references in that form
are recognised and new ones are written in the file's own form.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from designer.authoring import blocks as blocks_module
from designer.authoring.xmltext import Document, Node, XmlTextError, escape_attribute, parse

SCXML_NS = "http://www.w3.org/2005/07/scxml"
PREFIX = "$$_MY_PREFIX_$$."
STATE_KINDS = ("state", "parallel", "final", "history")
#: elements that may hold child states
COMPOUND_KINDS = ("scxml", "state", "parallel")
#: children a new transition goes after when the state has no transition yet
_HEAD_CHILDREN = ("onentry", "onexit", "datamodel", "initial", "invoke")
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_QUOTE = r"(?:'|\"|&apos;|&quot;)"
#: Composer's marker comment before each block's state
_MARKER = re.compile(r"<!--\s*This is the (\S+) State")

Ref = str | dict[str, Any]


class EditError(ValueError):
    """An operation that cannot be applied as asked (bad reference, duplicate id...)."""


class IncomingTransitions(EditError):
    """Deleting a state that transitions still target: the caller chooses delete or retarget."""

    def __init__(self, state: str, incoming: list[dict[str, Any]]) -> None:
        super().__init__(
            f"{len(incoming)} transition(s) target {state!r}: choose to delete them or retarget them to another state"
        )
        self.state = state
        self.incoming = incoming


@dataclass(frozen=True)
class Change:
    """Replace text[start:end] by `text` (offsets in the text before the operation)."""

    start: int
    end: int
    text: str


@dataclass
class EditResult:
    """The text after an operation, the changes that made it, and what the operation reports."""

    text: str
    changes: list[Change]
    info: dict[str, Any] = field(default_factory=dict)


def apply_changes(text: str, changes: Iterable[Change]) -> str:
    """`text` with non-overlapping `changes` applied."""
    ordered = sorted(changes, key=lambda c: (c.start, c.end))
    for before, after in pairwise(ordered):
        if after.start < before.end:
            raise EditError("internal error: overlapping edits")
    out = []
    cursor = 0
    for change in ordered:
        out.append(text[cursor : change.start])
        out.append(change.text)
        cursor = change.end
    out.append(text[cursor:])
    return "".join(out)


def changed_lines(old: str, new: str, changes: Iterable[Change]) -> list[int]:
    """1-based line numbers (in `old`) the changes touch; for reporting and tests."""
    lines: set[int] = set()
    for change in changes:
        first = old.count("\n", 0, change.start) + 1
        last = old.count("\n", 0, max(change.start, change.end - 1)) + 1
        lines.update(range(first, last + 1))
    return sorted(lines)


class Editor:
    """One document being edited: lookups, layout conventions and change builders."""

    def __init__(self, text: str) -> None:
        try:
            self.doc: Document = parse(text)
        except XmlTextError as error:
            raise EditError(f"the file is not well-formed XML, fix it in the text editor first ({error})") from error
        self.text = text
        self.root = self.doc.root
        self.states: dict[str, Node] = {}
        for node in self.doc.elements():
            if self.is_scxml(node) and node.local in STATE_KINDS:
                sid = node.get("id")
                if sid:
                    self.states.setdefault(sid, node)
        self.unit = self._indent_unit()
        self.prefix = PREFIX if PREFIX in text else ""

    # -- lookups --------------------------------------------------------------------------------

    @staticmethod
    def is_scxml(node: Node) -> bool:
        """Whether the element is in the SCXML namespace."""
        return node.namespace == SCXML_NS

    def find(self, ref: Ref | None) -> Node:
        """The element a reference designates; EditError when none does."""
        if ref is None:
            return self.root
        if isinstance(ref, str):
            ref = {"id": ref}
        if not isinstance(ref, dict):
            raise EditError("an element reference is a state id or an object")
        node: Node
        if ref.get("root"):
            node = self.root
        elif "id" in ref:
            node = self.state(str(ref["id"]))
        elif "line" in ref:
            line, tag = ref["line"], ref.get("tag")
            found = [
                n
                for n in self.doc.elements()
                if line in (n.line, n.sourceline) and (tag is None or tag in (n.name, n.local))
            ]
            nth = int(ref.get("nth", 0))
            if not 0 <= nth < len(found):
                raise EditError(f"no <{tag or 'element'}> on line {line}")
            node = found[nth]
        else:
            raise EditError("an element reference needs 'id', 'line' or 'root'")
        if "child" in ref:
            children = [c for c in node.children if ref["child"] in (c.name, c.local)]
            index = int(ref.get("index", 0))
            if not 0 <= index < len(children):
                raise EditError(f"<{node.name}> has no <{ref['child']}> number {index}")
            node = children[index]
        return node

    def state(self, sid: str) -> Node:
        """The state element with id `sid` (the Composer prefix form is accepted)."""
        sid = sid.removeprefix(PREFIX)
        node = self.states.get(sid)
        if node is None:
            raise EditError(f"no state {sid!r} in this file")
        return node

    def ref_of(self, node: Node) -> dict[str, Any]:
        """A reference to `node` that stays valid until the next edit."""
        if self.is_scxml(node) and node.local in STATE_KINDS and node.get("id"):
            return {"id": node.get("id")}
        same = [n for n in self.doc.elements() if n.line == node.line and n.name == node.name]
        return {"line": node.line, "tag": node.name, "nth": same.index(node)}

    def transitions_to(self, ids: set[str], outside: Node | None = None) -> list[tuple[Node, list[str]]]:
        """Transitions (not inside `outside`) whose targets name one of `ids`: (element, tokens)."""
        found = []
        for node in self.doc.elements():
            if not (self.is_scxml(node) and node.local == "transition"):
                continue
            if outside is not None and outside.contains(node):
                continue
            tokens = (node.get("target") or "").split()
            hits = [t for t in tokens if t.removeprefix(PREFIX) in ids]
            if hits:
                found.append((node, hits))
        return found

    def source_state(self, node: Node) -> Node | None:
        """The state a transition leaves (the parent of its `<initial>` for initial transitions)."""
        for ancestor in node.ancestors():
            if self.is_scxml(ancestor) and ancestor.local in (*STATE_KINDS, "scxml"):
                return ancestor
        return None

    def describe_transition(self, node: Node) -> dict[str, Any]:
        """JSON description of a transition for dialogs (delete-state, inspector)."""
        source = self.source_state(node)
        return {
            "ref": self.ref_of(node),
            "line": node.line,
            "source": source.get("id") if source is not None else None,
            "event": node.get("event"),
            "cond": node.get("cond"),
            "target": node.get("target"),
        }

    # -- layout ---------------------------------------------------------------------------------

    def _indent_unit(self) -> str:
        """The file's indentation step (tab, two or four spaces...), from parent/child pairs."""
        steps: Counter[str] = Counter()
        for node in self.doc.elements():
            if node.parent is None:
                continue
            mine, theirs = self.indent_of(node), self.indent_of(node.parent)
            if mine is not None and theirs is not None and mine.startswith(theirs) and len(mine) > len(theirs):
                steps[mine[len(theirs) :]] += 1
        return steps.most_common(1)[0][0] if steps else "\t"

    def indent_of(self, node: Node) -> str | None:
        """The whitespace before `node` on its line, or None if something else precedes it."""
        before = self.text[self.doc.line_start(node.start) : node.start]
        return before if before.strip() == "" else None

    def child_indent(self, parent: Node) -> str:
        """Indentation of `parent`'s children (its first indented child's, else one step more)."""
        for child in parent.children:
            indent = self.indent_of(child)
            if indent is not None:
                return indent
        return (self.indent_of(parent) or "") + self.unit

    def newline_near(self, offset: int) -> str:
        """The line ending used at `offset` (files mix CRLF and LF)."""
        index = self.text.find("\n", offset)
        if index < 0:
            index = self.text.rfind("\n", 0, offset)
        if index < 0:
            return "\n"
        return "\r\n" if index > 0 and self.text[index - 1] == "\r" else "\n"

    def format_markup(self, markup: str, indent: str, newline: str) -> str:
        """Generated markup (tab-indented, LF) in this file's indentation and line endings.

        The first line is returned without `indent` (the caller places it)."""
        lines = markup.strip("\n").split("\n")
        out = []
        for number, line in enumerate(lines):
            body = line.lstrip("\t")
            depth = len(line) - len(body)
            out.append(("" if number == 0 else indent) + self.unit * depth + body if body else "")
        return newline.join(out)

    # -- change builders ------------------------------------------------------------------------

    def insert_child(self, parent: Node, markup: str, after: Node | None = None, before: Node | None = None) -> Change:
        """Insert `markup` as a child of `parent`: after/before a child, or last."""
        indent = self.child_indent(parent)
        newline = self.newline_near(parent.start)
        body = self.format_markup(markup, indent, newline)
        if after is not None:
            return Change(after.end, after.end, newline + indent + body)
        if before is not None:
            if self.indent_of(before) is not None:
                start = self.doc.line_start(before.start)
                return Change(start, start, indent + body + newline)
            return Change(before.start, before.start, body + newline + indent)
        outer = self.indent_of(parent) or ""
        if parent.self_closing:
            slash = self.text.rfind("/", parent.start, parent.tag_end)
            while self.text[slash - 1] in " \t\r\n":
                slash -= 1
            close = f">{newline}{indent}{body}{newline}{outer}</{parent.name}>"
            return Change(slash, parent.tag_end, close)
        assert parent.close_start is not None
        line_start = self.doc.line_start(parent.close_start)
        if line_start > parent.tag_end and self.text[line_start : parent.close_start].strip() == "":
            point = line_start - 1
            if point > 0 and self.text[point - 1] == "\r":
                point -= 1
            return Change(point, point, newline + indent + body)
        return Change(parent.close_start, parent.close_start, newline + indent + body + newline + outer)

    def remove(self, node: Node, with_marker: bool = False) -> Change:
        """Remove an element; whole lines when it has its own lines (and Composer's marker comment)."""
        start, end = node.start, node.end
        line_start = self.doc.line_start(start)
        line_end = self.text.find("\n", end)
        line_end = len(self.text) if line_end < 0 else line_end + 1
        if self.text[line_start:start].strip() == "" and self.text[end:line_end].strip() == "":
            start, end = line_start, line_end
            if with_marker and node.parent is not None:
                for c_start, c_end in node.parent.comments:
                    match = _MARKER.match(self.text, c_start)
                    if (
                        match
                        and match.group(1) == node.get("id")
                        and c_end <= start
                        and self.text[c_end:start].strip() == ""
                    ):
                        marker_line = self.doc.line_start(c_start)
                        if self.text[marker_line:c_start].strip() == "":
                            start = marker_line
        return Change(start, end, "")

    def set_attribute(self, node: Node, name: str, value: str | None) -> Change | None:
        """Set (or with None remove) one attribute; None when nothing changes."""
        span = node.attr(name)
        if value is None:
            return Change(span.start, span.end, "") if span is not None else None
        if span is not None:
            raw = escape_attribute(value, span.quote)
            return None if raw == span.raw else Change(span.value_start, span.value_end, raw)
        last = node.attrs[-1] if node.attrs else None
        quote = last.quote if last is not None else '"'
        written = f"{name}={quote}{escape_attribute(value, quote)}{quote}"
        if last is None:
            point = node.start + 1 + len(node.name)
            return Change(point, point, " " + written)
        if self.doc.line_of(last.name_start) != node.line:
            line_start = self.doc.line_start(last.name_start)
            indent = self.text[line_start : last.name_start]
            if indent.strip() == "":
                return Change(last.end, last.end, self.newline_near(last.end) + indent + written)
        return Change(last.end, last.end, " " + written)

    def ref_value(self, sid: str) -> str:
        """How this file writes a reference to state `sid` in target/initial."""
        return self.prefix + sid

    def check_new_id(self, sid: str) -> None:
        """EditError unless `sid` is a valid, unused state id."""
        if not _ID.match(sid or ""):
            raise EditError(f"{sid!r} is not a valid state id (letters, digits, _ . -; not starting with a digit)")
        if sid in self.states:
            raise EditError(f"a state {sid!r} already exists")

    def container(self, ref: Ref | None) -> Node:
        """The compound state (or the document) that new states go into."""
        node = self.find(ref)
        if not (self.is_scxml(node) and node.local in COMPOUND_KINDS):
            raise EditError(f"<{node.name}> cannot hold states (choose a state, a parallel or the document)")
        return node

    def result(self, changes: list[Change | None], info: dict[str, Any] | None = None) -> EditResult:
        """Apply `changes`; the new text must still be a well-formed document."""
        kept = [c for c in changes if c is not None]
        text = apply_changes(self.text, kept)
        try:
            parse(text)
        except XmlTextError as error:
            raise EditError(f"the edit would break the document ({error})") from error
        return EditResult(text, kept, info or {})


# -- operations -----------------------------------------------------------------------------------


def add_state(text: str, parent: Ref | None, kind: str, id: str, initial: bool = False) -> EditResult:
    """Add an empty state / parallel / final / history as the last child of `parent`."""
    editor = Editor(text)
    if kind not in STATE_KINDS:
        raise EditError(f"kind must be one of {', '.join(STATE_KINDS)}")
    container = editor.container(parent)
    editor.check_new_id(id)
    if kind == "history" and container.local == "scxml":
        raise EditError("a history state belongs inside a compound state")
    markup = f'<{kind} id="{id}" type="shallow"/>' if kind == "history" else f'<{kind} id="{id}"/>'
    changes: list[Change | None] = [editor.insert_child(container, _in_namespace(editor, markup))]
    if initial and kind != "history":
        changes.append(editor.set_attribute(container, "initial", editor.ref_value(id)))
    return editor.result(changes, {"id": id})


def set_kind(text: str, element: Ref, kind: str) -> EditResult:
    """Turn a state into another kind (state / parallel / final / history): only the element's
    name changes, in its start and end tags."""
    editor = Editor(text)
    node = editor.find(element)
    if not (editor.is_scxml(node) and node.local in STATE_KINDS):
        raise EditError("only a state, parallel, final or history changes kind")
    if kind not in STATE_KINDS:
        raise EditError(f"kind must be one of {', '.join(STATE_KINDS)}")
    if kind == node.local:
        return editor.result([])
    child_states = [c for c in node.children if editor.is_scxml(c) and c.local in STATE_KINDS]
    if kind in ("final", "history") and child_states:
        raise EditError(f"a {kind} has no child states; move or delete them first")
    if kind == "history" and (node.parent is None or node.parent.local == "scxml"):
        raise EditError("a history state belongs inside a compound state")
    name = f"{node.prefix}:{kind}" if node.prefix else kind
    start = node.start + 1
    changes: list[Change | None] = [Change(start, start + len(node.name), name)]
    if node.close_start is not None:
        changes.append(Change(node.close_start + 2, node.close_start + 2 + len(node.name), name))
    return editor.result(changes, {"ref": {"id": node.get("id")} if node.get("id") else None})


def set_attribute(text: str, element: Ref, name: str, value: str | None) -> EditResult:
    """Set or remove one attribute of any element (`value` None removes it).

    Setting a state's `id` is a rename: use `rename_state` so references follow."""
    editor = Editor(text)
    node = editor.find(element)
    if not re.match(r"^[A-Za-z_][\w.\-]*(:[A-Za-z_][\w.\-]*)?$", name or ""):
        raise EditError(f"{name!r} is not an attribute name")
    if name == "id" and editor.is_scxml(node) and node.local in STATE_KINDS:
        raise EditError("renaming a state goes through rename_state, so references follow")
    return editor.result([editor.set_attribute(node, name, value)], {"ref": editor.ref_of(node)})


def add_transition(
    text: str,
    source: Ref,
    event: str | None = None,
    cond: str | None = None,
    target: str | None = None,
    type: str | None = None,
) -> EditResult:
    """Add a transition to `source` after its last transition (or its onentry/onexit)."""
    editor = Editor(text)
    node = editor.find(source)
    if not (editor.is_scxml(node) and node.local in ("state", "parallel")):
        raise EditError("transitions leave a state or a parallel")
    targets = (target or "").split()
    for sid in targets:
        editor.state(sid)
    attrs = []
    for name, value in (("event", event), ("cond", cond), ("type", type)):
        if value:
            attrs.append(f'{name}="{escape_attribute(value)}"')
    if targets:
        attrs.append('target="' + " ".join(editor.ref_value(t.removeprefix(PREFIX)) for t in targets) + '"')
    markup = _in_namespace(editor, "<transition" + "".join(" " + a for a in attrs) + "/>")
    transitions = [c for c in node.children if editor.is_scxml(c) and c.local == "transition"]
    head = [c for c in node.children if editor.is_scxml(c) and c.local in _HEAD_CHILDREN]
    if transitions:
        change = editor.insert_child(node, markup, after=transitions[-1])
    elif head:
        change = editor.insert_child(node, markup, after=head[-1])
    elif node.children:
        change = editor.insert_child(node, markup, before=node.children[0])
    else:
        change = editor.insert_child(node, markup)
    line = editor.doc.line_of(change.start) + (0 if change.text.startswith(editor.unit) else 1)
    return editor.result([change], {"line": line})


def retarget_transition(text: str, transition: Ref, target: str | None) -> EditResult:
    """Point a transition at other state(s) (None or "" makes it targetless)."""
    editor = Editor(text)
    node = editor.find(transition)
    if node.local != "transition":
        raise EditError("not a transition")
    targets = (target or "").split()
    for sid in targets:
        editor.state(sid)
    value = " ".join(editor.ref_value(t.removeprefix(PREFIX)) for t in targets) or None
    return editor.result([editor.set_attribute(node, "target", value)], {"ref": editor.ref_of(node)})


def delete_element(text: str, element: Ref) -> EditResult:
    """Delete an element that is not a state (a transition, an action...)."""
    editor = Editor(text)
    node = editor.find(element)
    if node is editor.root:
        raise EditError("the document element cannot be deleted")
    if editor.is_scxml(node) and node.local in STATE_KINDS:
        raise EditError("deleting a state goes through delete_state, so its incoming transitions are handled")
    return editor.result([editor.remove(node)])


def _replace_in_raw(raw: str, old: str, new: str) -> str:
    """`raw` with `In('old')` (any quoting, Composer prefix kept) naming `new` instead."""
    pattern = re.compile(
        r"(\bIn\(\s*" + _QUOTE + r"(?:\$\$_MY_PREFIX_\$\$\.)?)" + re.escape(old) + r"(?=" + _QUOTE + r"\s*\))"
    )
    return pattern.sub(lambda m: m.group(1) + new, raw)


def _rename_tokens(raw: str, old: str, new: str) -> str:
    """A target/initial value with the token naming `old` naming `new` (whitespace kept)."""
    return re.sub(
        r"\S+", lambda m: m.group(0)[: -len(old)] + new if m.group(0).removeprefix(PREFIX) == old else m.group(0), raw
    )


def _named_state(editor: Editor, id: str | None, element: Ref | None) -> tuple[Node, str]:
    """The state given by id or by reference (the diagram knows lines, not local ids), and its id."""
    node = editor.state(id) if id else editor.find(element)
    sid = node.get("id")
    if not (editor.is_scxml(node) and node.local in STATE_KINDS and sid):
        raise EditError("not a state with an id")
    return node, sid


def _block_renames(old: str, new: str) -> list[tuple[re.Pattern[str], str]]:
    """Composer's own spellings of a block's name, for renaming the block with it: its request
    object, its self-sent events, its log lines and its common.js book-keeping calls."""
    o = re.escape(old)
    return [
        (re.compile(r"\bApp_" + o + r"(?=\b|_Detach_Timeout\b)"), f"App_{new}"),
        (
            re.compile(r"(^|\s|" + _QUOTE + r")" + o + r"(?=\.(?:done|script\.done|wait\.timeout|after))"),
            r"\g<1>" + new,
        ),
        (re.compile(r"(store(?:Event|Exception)\(\s*" + _QUOTE + r")" + o + r"(?=" + _QUOTE + r")"), r"\g<1>" + new),
        (re.compile(r"((?:Block|block|Redirect) ?: )" + o + r"(?=\s*(?:" + _QUOTE + r"|,|$))"), r"\g<1>" + new),
        (re.compile(r"(?<![\w$.])_reserved_" + o + r"_(?=\w)"), f"_reserved_{new}_"),
        (re.compile(r"(Workflow ends in )" + o + r"(?=" + _QUOTE + r")"), r"\g<1>" + new),
    ]


def rename_state(
    text: str, id: str | None = None, new_id: str = "", element: Ref | None = None, block: bool = False
) -> EditResult:
    """Rename a state (by `id` or `element` reference); targets, `initial` attributes,
    `In('id')` in conds/exprs/scripts and literal `<send target>`s naming it follow.

    With `block`, a Composer block is renamed whole: its `_reserved_<id>_*` helper states (and
    their references), `App_<id>`, its `<id>.script.done`-style events, log lines and
    storeEvent/storeException calls follow too."""
    editor = Editor(text)
    node, id = _named_state(editor, id, element)
    if new_id == id:
        return EditResult(text, [], {"id": id, "references": 0})
    editor.check_new_id(new_id)
    renames = {id: new_id}
    if block:
        helper = f"_reserved_{id}_"
        for sid in editor.states:
            if sid.startswith(helper):
                renames[sid] = f"_reserved_{new_id}_" + sid[len(helper) :]
                editor.check_new_id(renames[sid])
    patterns = _block_renames(id, new_id) if block else []
    changes: list[Change | None] = [editor.set_attribute(editor.states[old], "id", new) for old, new in renames.items()]
    references = 0
    for element in editor.doc.elements():
        scxml = editor.is_scxml(element)
        if not scxml and not patterns:
            continue
        for span in element.attrs:
            raw = new_raw = span.raw
            if span.name == "id":
                continue
            for old, new in renames.items() if scxml else ():
                if (span.name == "target" and element.local == "transition") or (
                    span.name == "initial" and element.local in COMPOUND_KINDS
                ):
                    new_raw = _rename_tokens(new_raw, old, new)
                elif span.name == "target" and element.local == "send":
                    new_raw = re.sub(
                        r"^(\s*" + _QUOTE + r"?#?)" + re.escape(old) + r"(?=" + _QUOTE + r"?\s*$)",
                        lambda m, new=new: m.group(1) + new,
                        new_raw,
                    )
                elif span.name in ("cond", "expr"):
                    new_raw = _replace_in_raw(new_raw, old, new)
            for pattern, replacement in patterns:
                new_raw = pattern.sub(replacement, new_raw)
            if new_raw != raw:
                references += 1
                changes.append(Change(span.value_start, span.value_end, new_raw))
        if element.local == "script" and element.close_start is not None:
            body = new_body = editor.text[element.tag_end : element.close_start]
            for old, new in renames.items():
                new_body = _replace_in_raw(new_body, old, new)
            for pattern, replacement in patterns:
                new_body = pattern.sub(replacement, new_body)
            if new_body != body:
                references += 1
                changes.append(Change(element.tag_end, element.close_start, new_body))
    for start, _end in node.parent.comments if node.parent is not None else []:
        match = _MARKER.match(editor.text, start)
        if match and match.group(1) == id:
            changes.append(Change(match.start(1), match.end(1), new_id))
    return editor.result(changes, {"id": new_id, "references": references, "renamed": renames})


def incoming_transitions(text: str, id: str) -> list[dict[str, Any]]:
    """Transitions outside state `id` that target it or one of its descendants."""
    editor = Editor(text)
    node = editor.state(id)
    ids = {n.get("id") or "" for n in node.iter() if editor.is_scxml(n) and n.local in STATE_KINDS}
    return [editor.describe_transition(t) for t, _ in editor.transitions_to(ids, outside=node)]


def delete_state(
    text: str,
    id: str | None = None,
    incoming: str | None = None,
    to: str | None = None,
    element: Ref | None = None,
) -> EditResult:
    """Delete a state and what it contains.

    Transitions elsewhere that target it are listed (IncomingTransitions) unless `incoming` says
    what to do with them: "delete" removes them (or just the target token when they have several
    targets), "retarget" points them at state `to`. An `initial` naming it is dropped or retargeted."""
    editor = Editor(text)
    node, id = _named_state(editor, id, element)
    ids = {n.get("id") or "" for n in node.iter() if editor.is_scxml(n) and n.local in STATE_KINDS}
    hits = editor.transitions_to(ids, outside=node)
    if hits and incoming not in ("delete", "retarget"):
        raise IncomingTransitions(id, [editor.describe_transition(t) for t, _ in hits])
    if incoming == "retarget":
        if not to:
            raise EditError("retargeting needs the state the transitions go to instead")
        target_node = editor.state(to)
        if node.contains(target_node):
            raise EditError(f"{to!r} is deleted with {id!r}")
        to = to.removeprefix(PREFIX)
    changes: list[Change | None] = [editor.remove(node, with_marker=True)]
    for transition, _tokens in hits:
        span = transition.attr("target")
        assert span is not None
        tokens = span.raw.split()
        if incoming == "retarget":
            kept = [editor.ref_value(to or "") if t.removeprefix(PREFIX) in ids else t for t in tokens]
            new_raw = " ".join(dict.fromkeys(kept))
            changes.append(Change(span.value_start, span.value_end, new_raw))
        else:
            kept = [t for t in tokens if t.removeprefix(PREFIX) not in ids]
            if kept:
                changes.append(Change(span.value_start, span.value_end, " ".join(kept)))
            elif transition.parent is not None and transition.parent.local == "initial":
                owner = editor.source_state(transition)
                owner_id = owner.get("id") if owner is not None else None
                raise EditError(f"the <initial> of {owner_id!r} targets {id!r}: retarget it instead")
            else:
                changes.append(editor.remove(transition))
    for element in editor.doc.elements():
        if editor.is_scxml(element) and element.local in COMPOUND_KINDS and not node.contains(element):
            span = element.attr("initial")
            if span is None or not any(t.removeprefix(PREFIX) in ids for t in span.raw.split()):
                continue
            if incoming == "retarget" and to and editor.states[to].parent is element:
                changes.append(Change(span.value_start, span.value_end, editor.ref_value(to)))
            else:
                changes.append(editor.set_attribute(element, "initial", None))
    return editor.result(changes, {"deleted": sorted(ids), "incoming": len(hits)})


def insert_markup(text: str, parent: Ref, markup: str) -> EditResult:
    """Insert hand-written markup (for example an `<onentry>`) as the last child of `parent`."""
    editor = Editor(text)
    node = editor.find(parent)
    try:
        parse(f"<x xmlns='{SCXML_NS}'>{markup}</x>", check=False)
    except XmlTextError as error:
        raise EditError(f"the markup is not well-formed ({error})") from error
    return editor.result([editor.insert_child(node, markup)])


def set_content(text: str, element: Ref, markup: str) -> EditResult:
    """Replace the content of an element (onentry, onexit, a transition, a script...) by `markup`.

    The element's own tags stay as written; a self-closing element gets an end tag."""
    editor = Editor(text)
    node = editor.find(element)
    try:
        parse(f"<x xmlns='{SCXML_NS}'>{markup}</x>", check=False)
    except XmlTextError as error:
        raise EditError(f"the markup is not well-formed ({error})") from error
    if node.self_closing:
        if not markup.strip():
            return editor.result([])
        return editor.result([editor.insert_child(node, markup)])
    assert node.close_start is not None
    current = editor.text[node.tag_end : node.close_start]
    if current.strip() == markup.strip():
        return editor.result([])
    newline = editor.newline_near(node.start)
    indent = editor.child_indent(node)
    if "\n" in current or "\n" in markup.strip():
        body = (
            newline + indent + editor.format_markup(markup, indent, newline) + newline + (editor.indent_of(node) or "")
        )
    else:
        body = markup.strip()
    return editor.result([Change(node.tag_end, node.close_start, body)])


def add_block(
    text: str,
    block: str,
    params: dict[str, Any],
    parent: Ref | None = None,
    connect_from: str | None = None,
) -> EditResult:
    """Add a Composer-style block (see `blocks.BLOCKS`) inside `parent` (default: the Composer
    `_composer_entry` frame if there is one, else the document).

    The extension namespaces the block uses are declared on the document element if missing;
    `App_<Block>` is declared next to Composer's other `App_` declarations when the file has
    them; with `connect_from`, that block's unconnected outputs now lead to the new one."""
    editor = Editor(text)
    spec = blocks_module.BLOCKS.get(block)
    if spec is None:
        raise EditError(f"unknown block {block!r}")
    try:
        values = blocks_module.validate(spec, params)
    except blocks_module.BlockError as error:
        raise EditError(f"{spec.label}: {error}") from error
    name = values["name"]
    if parent is None and block != "entry" and "_composer_entry" in editor.states:
        container = editor.states["_composer_entry"]
    else:
        container = editor.container(parent)
    frame = block == "entry" and "_composer_entry" not in editor.states and container is editor.root
    for sid in blocks_module.state_ids(spec, values, frame=frame):
        editor.check_new_id(sid)
    for sid in blocks_module.target_ids(spec, values):
        editor.state(sid)
    declarations = _app_declarations(editor)
    style = blocks_module.Style(
        prefix=editor.prefix,
        helpers="storeEvent(" in text,
        declare=declarations is None and not frame,
        frame=frame,
    )
    prefixes, namespace_changes = _namespaces_for(editor, spec)
    markup = blocks_module.generate(spec, values, style, prefixes)
    changes: list[Change | None] = [*namespace_changes, editor.insert_child(container, _in_namespace(editor, markup))]
    if declarations is not None:
        script, last = declarations
        newline = editor.newline_near(script.start)
        indent = editor.text[editor.doc.line_start(last) : last]
        indent = indent if indent.strip() == "" else editor.child_indent(script)
        line_end = editor.text.find("\n", last)
        point = line_end - 1 if line_end > 0 and editor.text[line_end - 1] == "\r" else line_end
        changes.append(Change(point, point, f"{newline}{indent}var App_{name} = new Object();"))
    if frame:  # a workflow starts at its Entry block
        changes.append(editor.set_attribute(editor.root, "initial", "_composer_start"))
    if connect_from:
        changes.extend(_connect(editor, connect_from, name))
    return editor.result(changes, {"id": name})


def _connect(editor: Editor, source: str, target: str) -> list[Change | None]:
    """Point `source` block's outputs without a target at `target`.

    A block's normal output can be several transitions (User data leaves by its timeout, the
    confirmation or at once; a Menu's unlinked branches and default), so all of them follow."""
    node = editor.state(source)
    changes: list[Change | None] = []
    for element in node.iter():
        if (
            editor.is_scxml(element)
            and element.local == "transition"
            and element.get("target") is None
            and (element.get("event") or "") not in blocks_module.NOT_PORTS
            and element.parent is not None
            and element.parent.local != "initial"
        ):
            changes.append(editor.set_attribute(element, "target", editor.ref_value(target)))
    if not changes:
        raise EditError(f"{source!r} has no unconnected output; retarget one of its transitions instead")
    return changes


def _app_declarations(editor: Editor) -> tuple[Node, int] | None:
    """Composer's `var App_<Block> = new Object();` script: (script, offset of the last one)."""
    frame = editor.states.get("_composer_entry")
    if frame is None:
        return None
    for onentry in frame.children:
        if onentry.local != "onentry":
            continue
        for script in onentry.children:
            if script.local == "script" and script.close_start is not None:
                body = editor.text[script.tag_end : script.close_start]
                last = None
                for match in re.finditer(r"var App_\w+ = new Object\(\);", body):
                    last = match
                if last is not None:
                    return script, script.tag_end + last.start()
    return None


def _namespaces_for(editor: Editor, spec: blocks_module.BlockSpec) -> tuple[dict[str, str], list[Change | None]]:
    """The prefix this file uses for each namespace the block needs, declaring missing ones."""
    declared = {a.value: a.name.split(":", 1)[1] for a in editor.root.attrs if a.name.startswith("xmlns:")}
    prefixes: dict[str, str] = {}
    changes: list[Change | None] = []
    for prefix, uri in spec.namespaces:
        if uri in declared:
            prefixes[prefix] = declared[uri]
        else:
            prefixes[prefix] = prefix
            changes.append(editor.set_attribute(editor.root, f"xmlns:{prefix}", uri))
            declared[uri] = prefix
    # several new declarations on one tag: one change at the same point, in order
    merged: list[Change | None] = []
    for change in changes:
        if merged and change is not None and merged[-1] is not None and merged[-1].start == change.start:
            last = merged.pop()
            assert last is not None
            merged.append(Change(last.start, last.end, last.text + change.text))
        else:
            merged.append(change)
    return prefixes, merged


def _in_namespace(editor: Editor, markup: str) -> str:
    """SCXML markup for a file whose SCXML namespace is bound to a prefix (rare; `<s:state>`)."""
    if editor.root.namespace == SCXML_NS and editor.root.prefix:
        prefix = editor.root.prefix
        return re.sub(r"<(/?)(?![\w.-]+:)([A-Za-z])", lambda m: f"<{m.group(1)}{prefix}:{m.group(2)}", markup)
    return markup


#: operation name -> function; each takes the text first, then keyword arguments
OPERATIONS: dict[str, Callable[..., EditResult]] = {
    "add_state": add_state,
    "set_attribute": set_attribute,
    "set_kind": set_kind,
    "add_transition": add_transition,
    "retarget_transition": retarget_transition,
    "delete_element": delete_element,
    "rename_state": rename_state,
    "delete_state": delete_state,
    "insert_markup": insert_markup,
    "set_content": set_content,
    "add_block": add_block,
}


def apply_operation(text: str, operation: dict[str, Any]) -> EditResult:
    """Apply `{"op": name, ...arguments}` to `text`."""
    arguments = dict(operation)
    name = arguments.pop("op", None)
    function = OPERATIONS.get(str(name))
    if function is None:
        raise EditError(f"unknown operation {name!r} (one of {', '.join(OPERATIONS)})")
    try:
        inspect.signature(function).bind(text, **arguments)
    except TypeError as error:
        raise EditError(f"{name}: {error}") from error
    return function(text, **arguments)
