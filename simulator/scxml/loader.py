"""Project files -> one resolved, hardened lxml tree.

Public API
----------
``Project``
    ``Mapping[str, bytes]``: project-relative POSIX path -> file content. Nothing outside this
    mapping is ever read (no filesystem, no network). ``DirectoryProject(root)`` is a lazy mapping
    over a directory for the CLI (refuses paths that escape ``root``).

``load_document(project, entry, profile=W3C, max_bytes=MAX_DOCUMENT_BYTES) -> LoadedDocument``
    Parses ``project[entry]`` with the hardened parser, resolves ``<xi:include>`` against the
    project (an href that matches a project file only when letter case is ignored resolves to it,
    as on Composer's Windows, with a warning in ``LoadedDocument.warnings``; ``parse="xml"``
    with an optional bare-id / ``element(id)`` xpointer, and
    ``parse="text"``; nested includes resolve relative to the including file), calling
    ``profile.transform_include(include, fragment)`` for every XML fragment. Never raises for bad
    input: problems are collected in ``LoadedDocument.errors`` (``DefinitionError`` with file,
    line, column); ``root`` is ``None`` when the entry could not be parsed at all.

``LoadedDocument``
    ``root`` (lxml element of ``<scxml>`` or None), ``entry``, ``errors``, ``warnings``, ``project``,
    ``location(element) -> (file, line)`` and ``column(element) -> int | None``.

``text_origins(element)`` / ``TEXT_ORIGINS_ATTR``
    Where the text of an element that took in a parse="text" include comes from (file, line).
``source_file(element, default)`` / ``SOURCE_ATTR``
    Every element keeps lxml's ``sourceline`` *in the file it came from*; the root element of an
    included fragment carries ``SOURCE_ATTR`` (``{urn:orchweb:source}file``) naming that file, and
    ``source_file`` walks up to the nearest marker. Consumers (graph, lint) should call
    ``LoadedDocument.location(el)`` rather than read the attribute.

``parse_xml(data, file, max_bytes) -> (root | None, errors)``
    The hardened parse of one file: no DTD loading, no entity resolution, no network, no huge
    trees (libxml2 then caps depth and text node sizes), a size limit, and any ``<!DOCTYPE>``
    rejected outright (SCXML needs none; this also defeats billion-laughs and XXE).
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from .errors import DefinitionError
from .profile import W3C, Profile

SCXML_NS = "http://www.w3.org/2005/07/scxml"
XINCLUDE_NS = "http://www.w3.org/2001/XInclude"
XI_INCLUDE = f"{{{XINCLUDE_NS}}}include"
XI_FALLBACK = f"{{{XINCLUDE_NS}}}fallback"
SOURCE_ATTR = "{urn:orchweb:source}file"
#: On an element whose text took in a parse="text" include: JSON list of `[text_line, file, line]`,
#: "from line `text_line` of the element's text on, the text is `file` from its line `line`" (the
#: lines before the first entry are the element's own). Read by ``text_origins``.
TEXT_ORIGINS_ATTR = "{urn:orchweb:source}text"

#: largest single file accepted (bytes); larger documents are a definition error, not a parse
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
#: how deep <xi:include> may nest (guards against include cycles through different paths)
MAX_INCLUDE_DEPTH = 16
#: total bytes pulled in by includes for one document
MAX_TOTAL_BYTES = 32 * 1024 * 1024

Project = Mapping[str, bytes]


def _parser() -> etree.XMLParser:
    # A fresh parser per parse: lxml parsers are not thread-safe and keep an error log.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        collect_ids=False,
    )


def parse_xml(
    data: bytes, file: str, max_bytes: int = MAX_DOCUMENT_BYTES
) -> tuple[etree._Element | None, list[DefinitionError]]:
    """Hardened parse of one XML file; returns (root, errors). Never raises for bad input."""
    if len(data) > max_bytes:
        return None, [DefinitionError(f"document is too large ({len(data)} bytes, limit {max_bytes})", file, 1, 1)]
    # Reject DTDs before libxml2 sees them: entity declarations are how billion-laughs and XXE
    # work. A DOCTYPE can only appear in the prolog, i.e. before the first start tag.
    first_tag = re.search(rb"<[A-Za-z_]", data)
    prolog = data[: first_tag.start()] if first_tag else data
    if b"<!DOCTYPE" in prolog:
        line = prolog[: prolog.find(b"<!DOCTYPE")].count(b"\n") + 1
        return None, [DefinitionError("DOCTYPE/ENTITY declarations are not allowed in SCXML documents", file, line, 1)]
    parser = _parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        # The parser's own log: exc.error_log can carry entries of earlier parses in this thread.
        errors = [
            DefinitionError(f"XML syntax error: {entry.message}", file, entry.line or None, entry.column or None)
            for entry in parser.error_log
            if entry.level_name in {"ERROR", "FATAL"}
        ][:1]
        return None, errors or [DefinitionError(f"XML syntax error: {exc}", file, exc.lineno, exc.offset)]
    if root.getroottree().docinfo.doctype:
        return None, [DefinitionError("DOCTYPE declarations are not allowed in SCXML documents", file, 1, 1)]
    return root, []


def source_file(element: etree._Element, default: str) -> str:
    """Project path of the file `element` came from (nearest SOURCE_ATTR marker upwards)."""
    node: etree._Element | None = element
    while node is not None:
        marker = node.get(SOURCE_ATTR) if isinstance(node.tag, str) else None
        if marker is not None:
            return marker
        node = node.getparent()
    return default


def column_of(text: bytes | None, line: int | None, tag: str) -> int | None:
    """1-based column of `<tag` on `line` of `text` (lxml keeps lines only), or None."""
    if not text or not line:
        return None
    lines = text.split(b"\n", line)
    if len(lines) < line:
        return None
    match = re.search(rb"<(?:[\w.-]+:)?" + re.escape(tag.encode()) + rb"\b", lines[line - 1])
    return match.start() + 1 if match else None


@dataclass
class LoadedDocument:
    """Result of load_document(): the resolved tree plus collected definition errors."""

    entry: str
    root: etree._Element | None
    project: Project
    errors: list[DefinitionError] = field(default_factory=list)
    #: problems that do not stop the document from loading (e.g. an include differing in case)
    warnings: list[DefinitionError] = field(default_factory=list)

    def location(self, element: etree._Element) -> tuple[str, int | None]:
        """(project file, 1-based line) of `element` in the file it was written in."""
        return source_file(element, self.entry), element.sourceline

    def column(self, element: etree._Element) -> int | None:
        """Best-effort 1-based column of `element`'s start tag."""
        file, line = self.location(element)
        try:
            text = self.project.get(file)
        except (OSError, ValueError):
            text = None
        return column_of(text, line, etree.QName(element).localname)

    def error_at(self, element: etree._Element, message: str) -> DefinitionError:
        """A DefinitionError located at `element`."""
        file, line = self.location(element)
        return DefinitionError(message, file, line, self.column(element))


def resolve_href(base_file: str, href: str) -> str | None:
    """Project path of `href` relative to `base_file`, or None if it is not a project path.

    A relative `file:` URI (``file:sub.scxml``, as the W3C suite writes them) is a project path too.
    """
    if href.startswith("file:") and not href.startswith("file:/"):
        href = href[5:]
    if not href or "://" in href or href.startswith(("/", "\\")) or ":" in href.split("/", 1)[0]:
        return None
    path = posixpath.normpath(posixpath.join(posixpath.dirname(base_file), href))
    if path.startswith("../") or path == ".." or path.startswith("/"):
        return None
    return path


def case_insensitive_match(project: Project, path: str) -> str | None:
    """The one project path equal to `path` when letter case is ignored (None if none or several).

    Composer runs on Windows, whose file system ignores case: generated includes may name
    `Main.SCXML` for `src-gen/Main.scxml`. ORS behind a case-sensitive web server would not find
    it, so callers resolve it and warn.
    """
    wanted = path.lower()
    matches = [key for key in project if key.lower() == wanted]
    return matches[0] if len(matches) == 1 else None


class _Includer:
    """Resolves <xi:include> recursively against the project mapping."""

    def __init__(self, project: Project, profile: Profile, max_bytes: int):
        self.project = project
        self.profile = profile
        self.max_bytes = max_bytes
        self.total = 0
        self.errors: list[DefinitionError] = []
        self.warnings: list[DefinitionError] = []

    def fetch(self, path: str) -> bytes | None:
        try:
            data = self.project.get(path)
        except (OSError, ValueError):
            data = None
        if data is not None:
            self.total += len(data)
        return data

    def resolve(self, root: etree._Element, file: str, stack: tuple[str, ...]) -> None:
        for include in list(root.iter(XI_INCLUDE)):
            # Skip includes already detached by an enclosing replacement.
            if include.getparent() is None and include is not root:
                continue
            self.resolve_one(include, source_file(include, file), stack)

    def error(self, include: etree._Element, file: str, message: str, warning: bool = False) -> None:
        text = None
        with contextlib.suppress(OSError, ValueError):
            text = self.project.get(file)
        problem = DefinitionError(message, file, include.sourceline, column_of(text, include.sourceline, "include"))
        (self.warnings if warning else self.errors).append(problem)

    def resolve_one(self, include: etree._Element, file: str, stack: tuple[str, ...]) -> None:
        href = include.get("href", "")
        parse = include.get("parse", "xml")
        path = resolve_href(file, href)
        replacement: etree._Element | str | None = None
        if path is None:
            self.error(include, file, f"xi:include href {href!r} is not a file of this project")
        elif len(stack) >= MAX_INCLUDE_DEPTH or path in stack:
            self.error(include, file, f"xi:include of {path!r} is recursive or nested too deeply")
        elif self.total > MAX_TOTAL_BYTES:
            self.error(include, file, "included files exceed the total size limit")
        else:
            data = self.fetch(path)
            if data is None and (actual := case_insensitive_match(self.project, path)) is not None:
                message = (
                    f"xi:include href {href!r} differs in case from {actual!r}: "
                    "a case-sensitive web server will not find it"
                )
                self.error(include, file, message, warning=True)
                path, data = actual, self.fetch(actual)
            if data is None:
                self.error(include, file, f"xi:include: file {path!r} not found in the project")
            elif parse == "text":
                try:
                    replacement = data.decode(include.get("encoding") or "utf-8")
                except (LookupError, UnicodeDecodeError) as exc:
                    self.error(include, file, f"xi:include: cannot decode {path!r}: {exc}")
            elif parse == "xml":
                replacement = self.fragment(include, file, path, data, stack)
            else:
                self.error(include, file, f"xi:include: unsupported parse={parse!r}")
        if replacement is None:
            fallback = include.find(XI_FALLBACK)
            if fallback is not None:
                self.errors.pop()  # a fallback makes a missing resource legal (XInclude 1.0 4.4)
                self.replace_with_children(include, fallback)
            else:
                self.replace_with_text(include, "")
        elif isinstance(replacement, str):
            self.record_text_origin(include, file, path, replacement)
            self.replace_with_text(include, replacement)
        else:
            replacement.tail = include.tail
            include.getparent().replace(include, replacement)

    def fragment(
        self, include: etree._Element, file: str, path: str, data: bytes, stack: tuple[str, ...]
    ) -> etree._Element | None:
        root, errors = parse_xml(data, path, self.max_bytes)
        if root is None:
            self.errors.extend(errors)
            self.error(include, file, f"xi:include: {path!r} is not well-formed XML")
            return None
        self.resolve(root, path, (*stack, path))
        xpointer = include.get("xpointer")
        target = root
        if xpointer:
            match = re.fullmatch(r"\s*(?:element\(\s*([\w.-]+)\s*\)|([\w.-]+))\s*", xpointer)
            wanted = (match.group(1) or match.group(2)) if match else None
            target = None
            if wanted:
                target = next((el for el in root.iter() if isinstance(el.tag, str) and el.get("id") == wanted), None)
            if target is None:
                self.error(include, file, f"xi:include: xpointer {xpointer!r} matches nothing in {path!r}")
                return None
        if target.get(SOURCE_ATTR) is None:
            target.set(SOURCE_ATTR, source_file(target, path))
        transformed = self.profile.transform_include(include, target)
        return transformed

    @staticmethod
    def record_text_origin(include: etree._Element, file: str, path: str | None, text: str) -> None:
        """Note on the parent that its text from here on comes from `path` (then back to `file`),
        so a script error in included text reports that file and line."""
        parent = include.getparent()
        if parent is None or path is None or not text:
            return
        before = [parent.text or ""]
        for child in parent:
            if child is include:
                break
            before.append("".join(child.itertext()) if isinstance(child.tag, str) else "")
            before.append(child.tail or "")
        start = "".join(before).count("\n") + 1
        newlines = text.count("\n")
        # the tail resumes the includer's own text on the include's line (or the line after it
        # when the included text ends mid-line, which that line then belongs to)
        partial = 0 if text.endswith("\n") else 1
        origins = text_origins(parent)
        origins += [[start, path, 1], [start + newlines + partial, file, (include.sourceline or 1) + partial]]
        parent.set(TEXT_ORIGINS_ATTR, json.dumps(origins))

    @staticmethod
    def replace_with_text(include: etree._Element, text: str) -> None:
        parent = include.getparent()
        if parent is None:
            return
        text = text + (include.tail or "")
        previous = include.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + text
        else:
            parent.text = (parent.text or "") + text
        parent.remove(include)

    def replace_with_children(self, include: etree._Element, fallback: etree._Element) -> None:
        parent = include.getparent()
        if parent is None:
            return
        index = parent.index(include)
        self.replace_with_text(include, fallback.text or "")
        for offset, child in enumerate(list(fallback)):
            parent.insert(index + offset, child)


def text_origins(element: etree._Element) -> list[list[Any]]:
    """The `TEXT_ORIGINS_ATTR` entries of `element` (empty if its text is all its own)."""
    raw = element.get(TEXT_ORIGINS_ATTR)
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def load_document(
    project: Project, entry: str, profile: Profile = W3C, max_bytes: int = MAX_DOCUMENT_BYTES
) -> LoadedDocument:
    """Parse `project[entry]` hardened and resolve its XIncludes against `project` only."""
    try:
        data = project.get(entry)
    except (OSError, ValueError):
        data = None
    if data is None:
        return LoadedDocument(
            entry, None, project, [DefinitionError(f"file {entry!r} not found in the project", entry)]
        )
    root, errors = parse_xml(data, entry, max_bytes)
    doc = LoadedDocument(entry, root, project, list(errors))
    if root is None:
        return doc
    includer = _Includer(project, profile, max_bytes)
    includer.resolve(root, entry, (entry,))
    doc.errors.extend(includer.errors)
    doc.warnings.extend(includer.warnings)
    return doc


class DirectoryProject(Mapping[str, bytes]):
    """Lazy, read-only project mapping over a directory (used by the CLI).

    Only regular files strictly inside `root` are visible; each read is capped at
    `max_bytes + 1` bytes so an oversized file is reported by the parser's size check instead of
    being read into memory whole.
    """

    def __init__(self, root: str | Path, max_bytes: int = MAX_DOCUMENT_BYTES):
        self.root = Path(root).resolve()
        self.max_bytes = max_bytes

    def _path(self, key: str) -> Path | None:
        if resolve_href("", key) != key:
            return None
        path = (self.root / key).resolve()
        if self.root not in path.parents or not path.is_file():
            return None
        return path

    def __getitem__(self, key: str) -> bytes:
        path = self._path(key)
        if path is None:
            raise KeyError(key)
        with path.open("rb") as handle:
            return handle.read(self.max_bytes + 1)

    def __iter__(self) -> Iterator[str]:
        for path in sorted(self.root.rglob("*")):
            if path.is_file():
                yield path.relative_to(self.root).as_posix()

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._path(key) is not None
