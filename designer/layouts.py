"""The diagram layouts browsers post back (designer.models.DiagramLayout): what a page is served
(`layout_store`: the user's own layout, else one posted by a current writer of the project); a
posted layout checked against the version's graph and reduced to what
static/orchweb/diagram.js draws, or refused (`clean_layout`); and kept (`keep_layout`, at most
`MAX_LAYOUTS_PER_USER` a user, so storage stays bounded whatever a user posts). The draft's
diagram editor posts its layouts too (designer.models.DraftDiagramLayout, `keep_draft_layout`,
one per draft): the version saved from the draft starts with it (`adopt_draft_layout`).

What is kept: the root's width and height; per node (`n:<state id>`, or `i:<state id>` for the
initial marker of a compound state) its id, x, y, width, height, children and edges; per edge
(`e:<transition id>:<target index>`, or `x:<n>` for an initial marker's arrow) its id, sections
(start, bend and end points) and label boxes. Every id names a state or transition of the graph
and appears once; every number is finite and bounded; the cleaned layout is at most
`MAX_LAYOUT_BYTES` of JSON. Anything else (another field, a string where a number goes) is a
`LayoutError`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse

from designer import serverlayouts
from designer.analysis import content_digest
from designer.models import DiagramLayout, Draft, DraftDiagramLayout, Role, ServerDiagramLayout, Version
from designer.permissions import has_role

#: the cleaned layout's JSON size limit (~300 bytes a state or transition: the 100-state bench
#: chart is ~30 KB, a 1,000-state Composer strategy would be under 1 MB)
MAX_LAYOUT_BYTES = 2 * 1024 * 1024
#: layouts kept per user, the most recently posted (an older version's is laid out again)
MAX_LAYOUTS_PER_USER = 20
#: coordinates and sizes stay within this many pixels of the origin
MAX_COORDINATE = 1e7
MAX_BEND_POINTS = 1000
MAX_LABELS = 8
#: the latest layouts of a project's other versions looked at for `earlier_layout`
EARLIER_LAYOUTS = 100
#: nesting of compound states (Composer strategies nest ~10 deep); bounds the recursion
MAX_DEPTH = 100

EDGE_ID = re.compile(r"e:(?P<transition>.+):\d{1,4}|x:\d{1,6}")


class LayoutError(ValueError):
    """The posted layout is not a layout of this graph; the message says where."""


def _number(value: Any, where: str, minimum: float = -MAX_COORDINATE) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LayoutError(f"{where}: not a finite number")
    if not minimum <= value <= MAX_COORDINATE:
        raise LayoutError(f"{where}: out of range")
    return value


def _list(value: Any, where: str, limit: int | None = None) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise LayoutError(f"{where}: not a list")
    if limit is not None and len(value) > limit:
        raise LayoutError(f"{where}: more than {limit} items")
    return value


def _box(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise LayoutError(f"{where}: not an object")
    return {
        "x": _number(value.get("x"), f"{where}.x"),
        "y": _number(value.get("y"), f"{where}.y"),
        "width": _number(value.get("width"), f"{where}.width", 0),
        "height": _number(value.get("height"), f"{where}.height", 0),
    }


def _point(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise LayoutError(f"{where}: not a point")
    return {"x": _number(value.get("x"), f"{where}.x"), "y": _number(value.get("y"), f"{where}.y")}


class _Cleaner:
    def __init__(self, graph: dict[str, Any]) -> None:
        self.states = {s["id"] for s in graph.get("states", [])}
        self.transitions = {t["id"] for t in graph.get("transitions", [])}
        self.seen: set[str] = set()

    def _once(self, identifier: Any, where: str) -> str:
        if not isinstance(identifier, str) or identifier in self.seen:
            raise LayoutError(f"{where}: missing or repeated id")
        self.seen.add(identifier)
        return identifier

    def node(self, value: Any, where: str, depth: int) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise LayoutError(f"{where}: not a node")
        if depth > MAX_DEPTH:
            raise LayoutError(f"{where}: nested deeper than {MAX_DEPTH}")
        identifier = self._once(value.get("id"), where)
        if identifier[:2] not in ("n:", "i:") or identifier[2:] not in self.states:
            raise LayoutError(f"{where}: {identifier[:80]!r} is no state of this diagram")
        return {"id": identifier, **_box(value, where), **self.contents(value, identifier, depth)}

    def edge(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise LayoutError(f"{where}: not an edge")
        identifier = self._once(value.get("id"), where)
        match = EDGE_ID.fullmatch(identifier)
        if match is None or (match["transition"] is not None and match["transition"] not in self.transitions):
            raise LayoutError(f"{where}: {identifier[:80]!r} is no transition of this diagram")
        sections = []
        for i, section in enumerate(_list(value.get("sections"), f"{where}.sections", 16)):
            at = f"{where}.sections[{i}]"
            if not isinstance(section, dict):
                raise LayoutError(f"{at}: not a section")
            bends = _list(section.get("bendPoints"), f"{at}.bendPoints", MAX_BEND_POINTS)
            sections.append(
                {
                    "startPoint": _point(section.get("startPoint"), f"{at}.startPoint"),
                    "endPoint": _point(section.get("endPoint"), f"{at}.endPoint"),
                    "bendPoints": [_point(p, f"{at}.bendPoints[{j}]") for j, p in enumerate(bends)],
                }
            )
        labels = _list(value.get("labels"), f"{where}.labels", MAX_LABELS)
        return {
            "id": identifier,
            "sections": sections,
            "labels": [_box(label, f"{where}.labels[{j}]") for j, label in enumerate(labels)],
        }

    def contents(self, value: dict[str, Any], where: str, depth: int) -> dict[str, Any]:
        # Every node and edge id is new (`seen`): as many nodes and edges as the graph has, no more.
        children = _list(value.get("children"), f"{where}.children")
        edges = _list(value.get("edges"), f"{where}.edges")
        return {
            "children": [self.node(c, f"{where}.children[{i}]", depth + 1) for i, c in enumerate(children)],
            "edges": [self.edge(e, f"{where}.edges[{i}]") for i, e in enumerate(edges)],
        }


def clean_layout(value: Any, graph: dict[str, Any]) -> dict[str, Any]:
    """The drawn part of an ELK layout of `graph`; LayoutError when it is not one or too large."""
    if not isinstance(value, dict):
        raise LayoutError("layout: not an object")
    cleaner = _Cleaner(graph)
    layout = {
        "width": _number(value.get("width"), "layout.width", 0),
        "height": _number(value.get("height"), "layout.height", 0),
        **cleaner.contents(value, "root", 0),
    }
    if len(json.dumps(layout)) > MAX_LAYOUT_BYTES:
        raise LayoutError(f"layout: larger than {MAX_LAYOUT_BYTES} bytes")
    return layout


#: roles whose layouts every reader of the version is served: they may change the strategy itself
WRITER_ROLES = [role for role in Role if has_role(role, Role.EDITOR)]


def _writers(project_id: int) -> Q:
    """Layouts posted by a user who may write the project now."""
    return Q(user__memberships__team__projects=project_id, user__memberships__role__in=WRITER_ROLES)


def shared_layout(version: Version, entry: str) -> DiagramLayout | None:
    """The latest layout of (version, entry) posted by a user who may write the version's project
    now. A writer's layout is trusted like the content (they could change the strategy anyway);
    a reader's is not, and a writer who loses the role stops being shared (checked on every
    serve, not when posting)."""
    writers = DiagramLayout.objects.filter(_writers(version.project_id), version=version, entry=entry)
    return writers.order_by("-pk").first()


def earlier_layout(user: Any, version: Version, entry: str) -> DiagramLayout | None:
    """A layout of the same document in another version of the project, trusted as
    `layout_store`'s are (the user's own, or a current writer's): the nearest ancestor's that
    has one, else the latest. A version whose graph equals an earlier one's (a script, a fakes
    file or a comment changed) then lays out nothing: the browser draws it only when its own ELK
    input hashes to the layout's key, and ELK is deterministic, so the drawing is the one ELK
    would make."""
    trusted = _writers(version.project_id)
    if getattr(user, "is_authenticated", False):
        trusted |= Q(user=user)
    rows = (
        DiagramLayout.objects.filter(trusted, version__project=version.project_id, entry=entry)
        .exclude(version=version)
        .order_by("-pk")
    )
    latest: dict[int, DiagramLayout] = {}
    for row in rows[:EARLIER_LAYOUTS]:
        latest.setdefault(row.version_id, row)
    if not latest:
        return None
    parents = dict(Version.objects.filter(project=version.project_id).values_list("pk", "parent_id"))
    ancestor, seen = version.parent_id, set()
    while ancestor is not None and ancestor not in seen:  # `seen`: a parent loop ends the walk
        if ancestor in latest:
            return latest[ancestor]
        seen.add(ancestor)
        ancestor = parents.get(ancestor)
    return next(iter(latest.values()))


def layout_store(user: Any, version: Version, entry: str, fonts: str | None = None) -> dict[str, Any]:
    """What a page drawing document `entry` of `version` is served for `user` (json_script, read by
    Diagram.layoutStore): where to post ELK's layout (None for a share link's anonymous visitor,
    who keeps none), and the stored layout ({key, result}) to draw: the user's own, else the
    server's for the font table fingerprinted by `fonts` (the browser's cookie, made for exactly
    that browser's widths: designer.serverlayouts), else a writer's (`shared_layout`), else one
    of another version of the project (`earlier_layout`, marked "earlier": the page keeps it as
    this version's once drawn), else None. The browser draws it only when `key` is the hash of its
    own ELK input (same graph, same text widths); else it runs ELK. With server layouts on, a
    signed-in user's page also gets where to report the browser's font table and whether the
    server knows the cookie's (`fonts`), and a page of a document the server has not laid out for
    the bundled fonts' table queues that layout (`serverlayouts.schedule_viewed`, bounded and
    queued once): the next open of it, by anyone, draws at once. Call it only for a user who may
    read the version (the views' access checks come first)."""
    signed_in = bool(getattr(user, "is_authenticated", False))
    report = font_report(user, fonts)
    known = report["known"] if report else None
    own = DiagramLayout.objects.filter(user=user, version=version, entry=entry).first() if signed_in else None
    server = serverlayouts.server_layouts(version, entry, known)
    if serverlayouts.BUNDLED_FINGERPRINT not in server and settings.DIAGRAM_SERVER_LAYOUTS:
        # No layout for the bundled fonts: laid out now, for the next open by anyone (this
        # browser lays out itself, or draws another layout); queued once the page's reads commit.
        viewer, shown = (user.pk if signed_in else 0), entry
        transaction.on_commit(lambda: serverlayouts.schedule_viewed(viewer, version, shown))
    row: DiagramLayout | ServerDiagramLayout | None = (
        own or serverlayouts.pick_server_layout(server, known) or shared_layout(version, entry)
    )
    earlier = row is None and (row := earlier_layout(user, version, entry)) is not None
    layout: dict[str, Any] | None = {"key": row.key, "result": row.layout} if row else None
    if layout is not None and earlier:
        layout["earlier"] = True
    store = {
        "url": reverse("designer-api-version-layout", args=[version.pk]) if signed_in else None,
        "entry": entry,
        "layout": layout,
    }
    if report:
        store["fonts"] = report
    return store


def font_report(user: Any, fonts: str | None) -> dict[str, Any] | None:
    """Where a signed-in user's page reports the browser's font table, and whether the server
    knows the one the cookie (`fonts`) names for this user (then the page posts it only when the
    browser's widths changed): Diagram.layoutStore's `fonts`. None with server layouts off."""
    if not (getattr(user, "is_authenticated", False) and settings.DIAGRAM_SERVER_LAYOUTS):
        return None
    return {"url": reverse("designer-api-fonts"), "known": serverlayouts.known_fingerprint(user, fonts)}


def page_font_report(request: HttpRequest) -> dict[str, Any] | None:
    """What base.html tells base.js about the browser's font table (`font_report`: where to
    report it, whether the server knows the cookie's), or None when there is nothing to do: no
    signed-in user, server layouts off, or this session already found the server knows the table
    the cookie names. So a browser measures and reports its table from the first page of a
    session, whatever the page, after its first view; not on every page (a diagram's page still
    checks its widths through layout_store)."""
    cookie = request.COOKIES.get(serverlayouts.FONTS_COOKIE)
    session = getattr(request, "session", None)
    if cookie and session is not None and session.get(serverlayouts.FONTS_SESSION_KEY) == cookie:
        return None
    report = font_report(getattr(request, "user", None), cookie)
    if report is not None and report["known"] and session is not None:
        session[serverlayouts.FONTS_SESSION_KEY] = report["known"]
    return report


def keep_layout(user: Any, version: Version, entry: str, key: str, layout: dict[str, Any]) -> None:
    """Store a cleaned layout as the user's for (version, entry), replacing theirs; forget their
    oldest beyond MAX_LAYOUTS_PER_USER (ids grow: the newest rows have the largest)."""
    with transaction.atomic():
        DiagramLayout.objects.filter(user=user, version=version, entry=entry).delete()
        DiagramLayout.objects.create(user=user, version=version, entry=entry, key=key, layout=layout)
        older = DiagramLayout.objects.filter(user=user).order_by("-pk").values_list("pk", flat=True)
        DiagramLayout.objects.filter(pk__in=list(older[MAX_LAYOUTS_PER_USER:])).delete()


def draft_layout_store(draft: Draft, entry: str, fonts: str | None = None) -> dict[str, Any]:
    """layout_store for the draft's diagram (its owner's page): where the editor posts ELK's
    layouts, and the draft's stored layout when it is of this document as the draft is now; and,
    as a version's page, where to report the browser's font table (`font_report`, `fonts` the
    cookie): a user who only ever edits drafts gets the versions they save laid out by the server."""
    row = DraftDiagramLayout.objects.filter(draft=draft, entry=entry).first()
    current = row is not None and row.content == content_digest(draft, entry)
    store = {
        "url": reverse("designer-api-draft-diagram-layout", args=[draft.project_id]),
        "entry": entry,
        "layout": {"key": row.key, "result": row.layout} if row and current else None,
    }
    report = font_report(draft.user, fonts)
    if report:
        store["fonts"] = report
    return store


def keep_draft_layout(draft: Draft, entry: str, key: str, layout: dict[str, Any]) -> None:
    """Store a cleaned layout of the draft's document `entry`, as the draft is now, replacing the
    draft's; the user keeps the layouts of their latest MAX_LAYOUTS_PER_USER drafts."""
    with transaction.atomic():
        DraftDiagramLayout.objects.filter(draft=draft).delete()
        DraftDiagramLayout.objects.create(
            draft=draft, entry=entry, content=content_digest(draft, entry), key=key, layout=layout
        )
        older = DraftDiagramLayout.objects.filter(draft__user=draft.user_id).order_by("-pk")
        DraftDiagramLayout.objects.filter(
            pk__in=list(older.values_list("pk", flat=True)[MAX_LAYOUTS_PER_USER:])
        ).delete()


def adopt_draft_layout(draft: Draft, version: Version) -> None:
    """After `draft` was saved as `version`: the layout its editor drew of the same content becomes
    the author's layout of the version (shared with its readers while the author may write the
    project). Equal content digests mean an equal graph: the layout was cleaned against it."""
    row = DraftDiagramLayout.objects.filter(draft=draft).first()
    if row is not None and row.content == content_digest(version, row.entry):
        keep_layout(draft.user, version, row.entry, row.key, row.layout)
