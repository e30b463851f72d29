"""A tokenizer that keeps every byte: elements with the spans of their tags and attributes.

lxml parses and validates, but reserialising its tree would change attribute quoting, entity
spelling, whitespace inside tags and more. Edits instead address the original text: this
tokenizer finds each element's start tag, end tag and attribute value spans, and
`parse` checks the result against lxml (same elements, same source lines) so both agree
on what the document is.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

XMLNS = "http://www.w3.org/XML/1998/namespace"
_NAME = r"[^\s/>=<\"']+"
_TAG_OPEN = re.compile(r"<(" + _NAME + r")")
_ATTR = re.compile(r"(\s+)(" + _NAME + r")(\s*=\s*)([\"'])")
_TAG_CLOSE = re.compile(r"\s*(/?)>")
_END_TAG = re.compile(r"</(" + _NAME + r")\s*>")
_NEWLINE = re.compile("\n")
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
#: largest document the editor accepts (bytes of text); bounded work for untrusted input
MAX_TEXT = 8 * 1024 * 1024


class XmlTextError(ValueError):
    """The text is not a well-formed XML document this tokenizer can address."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


def unescape(raw: str) -> str:
    """The value of raw attribute/text characters (the five entities and character references)."""

    def one(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref.startswith("#x"):
            return chr(int(ref[2:], 16))
        if ref.startswith("#"):
            return chr(int(ref[1:]))
        return _NAMED[ref]

    return _ENTITY.sub(one, raw)


def escape_attribute(value: str, quote: str = '"') -> str:
    """`value` written inside an attribute delimited by `quote` (the way Composer escapes)."""
    out = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return out.replace('"', "&quot;") if quote == '"' else out.replace("'", "&apos;")


def escape_text(value: str) -> str:
    """`value` as element text."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass
class AttrSpan:
    """One attribute as written: `start` is where the whitespace before its name begins."""

    name: str
    start: int
    name_start: int
    value_start: int
    value_end: int
    quote: str
    raw: str

    @property
    def end(self) -> int:
        """Index just after the closing quote."""
        return self.value_end + 1

    @property
    def value(self) -> str:
        """The attribute's value (entities decoded)."""
        return unescape(self.raw)


@dataclass(eq=False)
class Node:
    """An element: `start` is its `<`, `tag_end` follows its start tag, `end` follows the element."""

    name: str
    start: int
    tag_end: int
    end: int
    line: int
    attrs: list[AttrSpan]
    self_closing: bool
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    #: start of the end tag `</name>` (None when self-closing)
    close_start: int | None = None
    namespace: str | None = None
    #: the line lxml reports (`sourceline`: libxml2 counts the line where the start tag ends)
    sourceline: int = 0
    #: comments directly inside this element: (start, end) spans
    comments: list[tuple[int, int]] = field(default_factory=list)

    @property
    def local(self) -> str:
        """The name without its prefix."""
        return self.name.rsplit(":", 1)[-1]

    @property
    def prefix(self) -> str | None:
        """The prefix of the name, if any."""
        return self.name.split(":", 1)[0] if ":" in self.name else None

    def attr(self, name: str) -> AttrSpan | None:
        """The attribute called `name` as written (with its prefix, if any)."""
        return next((a for a in self.attrs if a.name == name), None)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of attribute `name`, or `default`."""
        span = self.attr(name)
        return span.value if span is not None else default

    def iter(self) -> Iterator[Node]:
        """This element and its descendants in document order."""
        yield self
        for child in self.children:
            yield from child.iter()

    def ancestors(self) -> Iterator[Node]:
        """Parent, grandparent... up to the root."""
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def contains(self, other: Node) -> bool:
        """Whether `other` is this element or one of its descendants."""
        return other is self or any(a is self for a in other.ancestors())


@dataclass
class Document:
    """A tokenized XML text: the root element and the text it came from."""

    text: str
    root: Node
    newlines: list[int]
    #: every element in document order
    nodes: list[Node] = field(default_factory=list)

    def line_of(self, offset: int) -> int:
        """1-based line number of a character offset."""
        return bisect.bisect_right(self.newlines, offset - 1) + 1

    def line_start(self, offset: int) -> int:
        """Offset of the first character of the line holding `offset`."""
        index = bisect.bisect_right(self.newlines, offset - 1)
        return self.newlines[index - 1] + 1 if index else 0

    def elements(self) -> Iterator[Node]:
        """Every element in document order."""
        return iter(self.nodes)


def _scan_tag(text: str, pos: int, line_of: object) -> tuple[str, list[AttrSpan], int, bool]:
    """Parse the start tag at `pos`: (name, attributes, index after '>', self-closing)."""
    match = _TAG_OPEN.match(text, pos)
    if match is None:
        raise XmlTextError("malformed start tag", line_of(pos))  # type: ignore[operator]
    name = match.group(1)
    cursor = match.end()
    attrs: list[AttrSpan] = []
    while True:
        close = _TAG_CLOSE.match(text, cursor)
        if close is not None:
            return name, attrs, close.end(), close.group(1) == "/"
        attr = _ATTR.match(text, cursor)
        if attr is None:
            raise XmlTextError(f"malformed attribute in <{name}>", line_of(cursor))  # type: ignore[operator]
        quote = attr.group(4)
        value_start = attr.end()
        value_end = text.find(quote, value_start)
        if value_end < 0:
            raise XmlTextError(f"unterminated attribute value in <{name}>", line_of(cursor))  # type: ignore[operator]
        attrs.append(
            AttrSpan(
                name=attr.group(2),
                start=attr.start(),
                name_start=attr.start(2),
                value_start=value_start,
                value_end=value_end,
                quote=quote,
                raw=text[value_start:value_end],
            )
        )
        cursor = value_end + 1


def _skip(text: str, pos: int, closer: str, what: str, line_of: object) -> int:
    end = text.find(closer, pos)
    if end < 0:
        raise XmlTextError(f"unterminated {what}", line_of(pos))  # type: ignore[operator]
    return end + len(closer)


def _skip_doctype(text: str, pos: int, line_of: object) -> int:
    depth = 0
    for index in range(pos, len(text)):
        char = text[index]
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == ">" and depth <= 0:
            return index + 1
    raise XmlTextError("unterminated DOCTYPE", line_of(pos))  # type: ignore[operator]


def _resolve_namespaces(node: Node, scope: dict[str | None, str]) -> None:
    declared = {
        a.name.split(":", 1)[1] if ":" in a.name else None: a.value
        for a in node.attrs
        if a.name == "xmlns" or a.name.startswith("xmlns:")
    }
    if declared:
        scope = {**scope, **declared}
    node.namespace = scope.get(node.prefix) or None
    for child in node.children:
        _resolve_namespaces(child, scope)


def parse(text: str, check: bool = True) -> Document:
    """Tokenize `text`; with `check`, lxml must agree (well-formed, same elements and lines)."""
    if len(text) > MAX_TEXT:
        raise XmlTextError(f"document larger than {MAX_TEXT} characters")
    newlines = [m.start() for m in _NEWLINE.finditer(text)]

    def line_of(offset: int) -> int:
        return bisect.bisect_right(newlines, offset - 1) + 1

    root: Node | None = None
    stack: list[Node] = []
    nodes: list[Node] = []
    pos = 0
    length = len(text)
    while True:
        pos = text.find("<", pos)
        if pos < 0:
            break
        if text.startswith("<!--", pos):
            end = _skip(text, pos + 4, "-->", "comment", line_of)
            if stack:
                stack[-1].comments.append((pos, end))
            pos = end
        elif text.startswith("<![CDATA[", pos):
            pos = _skip(text, pos + 9, "]]>", "CDATA section", line_of)
        elif text.startswith("<?", pos):
            pos = _skip(text, pos + 2, "?>", "processing instruction", line_of)
        elif text.startswith("<!", pos):
            pos = _skip_doctype(text, pos, line_of)
        elif text.startswith("</", pos):
            match = _END_TAG.match(text, pos)
            if match is None or not stack or stack[-1].name != match.group(1):
                raise XmlTextError("unexpected end tag", line_of(pos))
            node = stack.pop()
            node.close_start = pos
            node.end = match.end()
            pos = match.end()
        else:
            name, attrs, tag_end, self_closing = _scan_tag(text, pos, line_of)
            node = Node(name, pos, tag_end, tag_end, line_of(pos), attrs, self_closing)
            node.sourceline = line_of(tag_end - 1)
            nodes.append(node)
            if stack:
                node.parent = stack[-1]
                stack[-1].children.append(node)
            elif root is None:
                root = node
            else:
                raise XmlTextError("content after the root element", line_of(pos))
            if not self_closing:
                stack.append(node)
            pos = tag_end
        if pos >= length:
            break
    if root is None or stack:
        raise XmlTextError("no root element" if root is None else f"<{stack[-1].name}> is not closed")
    _resolve_namespaces(root, {"xml": XMLNS})
    doc = Document(text, root, newlines, nodes)
    if check:
        _check_with_lxml(doc)
    return doc


def _check_with_lxml(doc: Document) -> None:
    """lxml must parse the text and see the same elements on the same lines."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=False)
    try:
        tree = etree.fromstring(doc.text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as error:
        raise XmlTextError(str(error), error.lineno) from error
    ours = list(doc.elements())
    theirs = [e for e in tree.iter() if isinstance(e.tag, str)]
    if len(ours) != len(theirs):
        raise XmlTextError("the document uses XML features the editor cannot address (entities?)")
    for node, element in zip(ours, theirs, strict=True):
        if node.sourceline != element.sourceline or node.local != etree.QName(element).localname:
            raise XmlTextError(f"cannot address <{node.name}>", node.line)
