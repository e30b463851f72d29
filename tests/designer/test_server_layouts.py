"""designer/serverlayouts.py and designer/elk.py: a browser's font table is kept only when it is
one within the bounds (a hostile table is refused with a clear error); a new version is laid out
for its project's members' recent tables, the layout stored under the key the browser computes
and served only to a user whose own table it was made for; designer/elk.py's limits hold.
(tests/e2e/test_server_layout.py checks the input and the layout against chromium's.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import override_settings
from django.utils import timezone

from designer import history, serverlayouts
from designer.analysis import analysed
from designer.elk import ElkError, ServerElk
from designer.layouts import layout_store
from designer.models import FontTable, Project, ServerDiagramLayout, Version
from designer.serverlayouts import FontTableError, clean_font_table, keep_font_table, lay_out_version
from tests.designer.conftest import World

BOLD = 'bold 12px "Orchweb Diagram Sans", "DejaVu Sans", "Liberation Sans", Arial, sans-serif'
SMALL = '10.5px "Orchweb Diagram Sans", "DejaVu Sans", "Liberation Sans", Arial, sans-serif'
BUNDLED = serverlayouts.BUNDLED_FINGERPRINT
CHARS = ["\u21ba", "\u2026", *(chr(c) for c in range(0x20, 0x7F)), *(chr(c) for c in range(0xA0, 0x180))]


def table(width: float = 7.25, missing: str = "") -> dict[str, dict[str, float]]:
    """A table as Diagram.fontTable() reports one (all characters `width` px wide)."""
    return {font: {c: width for c in CHARS if c not in missing} for font in (BOLD, SMALL)}


def post(client: Any, body: Any) -> Any:
    return client.post("/api/fonts", json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"table": {}}, "table: not an object of fonts"),
        ({"table": {f"{n}px x": {"a": 1} for n in range(5)}}, "more than 4 fonts"),
        ({"table": {"": {"a": 1}}}, "a font name must be 1 to 200 characters"),
        ({"table": {"x" * 201: {"a": 1}}}, "a font name must be 1 to 200 characters"),
        ({"table": {BOLD: [1, 2]}}, "not an object of characters"),
        ({"table": {BOLD: {chr(0x4E00 + n): 1 for n in range(1025)}}}, "more than 1024 characters"),
        ({"table": {BOLD: {"ab": 1}}}, "'ab' is not one character"),
        ({"table": {BOLD: {"": 1}}}, "'' is not one character"),
        ({"table": {BOLD: {"a": "7"}}}, "['a']: not a finite number"),
        ({"table": {BOLD: {"a": True}}}, "['a']: not a finite number"),
        ({"table": {BOLD: {"a": None}}}, "['a']: not a finite number"),
        ({"table": {BOLD: {"a": -1}}}, "['a']: not between 0 and 1000 px"),
        ({"table": {BOLD: {"a": 1e300}}}, "['a']: not between 0 and 1000 px"),
    ],
)
def test_a_hostile_table_is_refused_with_a_clear_error(world: World, body: Any, message: str) -> None:
    answer = post(world.client_for("viewer"), body)
    assert answer.status_code == 422, answer.content
    assert message in answer.json()["detail"]
    assert not FontTable.objects.exists()


def test_a_body_that_is_no_table_is_a_400_and_an_anonymous_visitor_keeps_none(world: World) -> None:
    assert post(world.client_for("viewer"), {"table": [1]}).status_code == 400
    assert post(world.client_for("viewer"), {}).status_code == 400
    assert post(world.client_for("anonymous"), {"table": table()}).status_code in (401, 403)
    assert post(world.client_for("share"), {"table": table()}).status_code in (401, 403)
    assert not FontTable.objects.exists()


def test_a_table_is_kept_under_its_fingerprint_and_a_user_keeps_their_latest_three(world: World) -> None:
    client = world.client_for("viewer")
    answer = post(client, {"table": table()})
    assert answer.status_code == 200
    fingerprint = answer.json()["fingerprint"]
    assert fingerprint == serverlayouts.fingerprint(table())
    assert post(client, {"table": table()}).json()["fingerprint"] == fingerprint  # the same table: one row
    for width in (8, 9, 10):
        post(client, {"table": table(width)})
    kept = set(FontTable.objects.filter(user=world.viewer).values_list("fingerprint", flat=True))
    assert kept == {serverlayouts.fingerprint(table(w)) for w in (8, 9, 10)}


def test_a_table_keeps_its_widths_exactly(world: World) -> None:
    widths = {BOLD: {"a": 7.2265625, "b": 6.7734375, "\u21ba": 10.0000001}}
    assert clean_font_table(json.loads(json.dumps(widths))) == widths
    with pytest.raises(FontTableError):
        clean_font_table({BOLD: {"\ud800": 1}})  # a lone surrogate is no character


def chart(name: str = "Caf\u00e9") -> bytes:
    return f"""<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="a">
      <state id="a"><transition event="go" cond="x &gt; 1" target="{name}"/></state>
      <state id="{name}"><transition event="back" target="a"/></state>
    </scxml>""".encode()


def new_version(world: World, content: bytes) -> Any:
    return history.create_version(
        world.project, {"chart.scxml": content}, author=world.owner, message="new", parent=None, check_parent=False
    )


def test_a_new_version_is_laid_out_for_its_members_recent_tables_only(world: World) -> None:
    member = keep_font_table(world.viewer, table(7))
    keep_font_table(world.outsider, table(8))  # no member of the project's team
    stale = keep_font_table(world.editor, table(9))
    FontTable.objects.filter(fingerprint=stale).update(seen=timezone.now() - timedelta(days=31))
    version = new_version(world, chart())

    assert lay_out_version(version.pk) == 2  # and for the bundled fonts' table
    assert set(ServerDiagramLayout.objects.values_list("fingerprint", flat=True)) == {member, BUNDLED}
    row = ServerDiagramLayout.objects.get(fingerprint=member)
    assert (row.version, row.entry) == (version, "chart.scxml")
    graph = analysed("graph", version, "chart.scxml")
    elk = ServerElk()
    try:
        key, _ = elk.elk_input(graph, table(7))
    finally:
        elk.close()
    assert row.key == key
    assert {node["id"] for node in row.layout["children"]} == {"n:" + graph["root"]}
    assert lay_out_version(version.pk) == 0  # laid out once


def test_a_table_without_a_width_for_a_label_s_character_lays_nothing_out(world: World) -> None:
    keep_font_table(world.viewer, table(7))
    keep_font_table(world.editor, table(8, missing="\u00e9"))
    version = new_version(world, chart())
    assert lay_out_version(version.pk) == 2  # the editor's browser lays it out itself
    assert set(ServerDiagramLayout.objects.values_list("fingerprint", flat=True)) == {
        serverlayouts.fingerprint(table(7)),
        BUNDLED,
    }
    elk = ServerElk()
    try:
        with pytest.raises(ElkError, match="no width for"):
            elk.layout(analysed("graph", version, "chart.scxml"), table(8, missing="\u00e9"))
    finally:
        elk.close()


@override_settings(DIAGRAM_SERVER_LAYOUTS=True)
def test_the_page_serves_the_layout_made_for_the_user_s_own_table_only(world: World) -> None:
    mine = keep_font_table(world.viewer, table(7))
    version = new_version(world, chart())
    lay_out_version(version.pk)
    row = ServerDiagramLayout.objects.get(fingerprint=mine)
    bundled = ServerDiagramLayout.objects.get(fingerprint=BUNDLED)
    assert bundled.key != row.key

    store = layout_store(world.viewer, version, "chart.scxml", mine)
    assert store["layout"] == {"key": row.key, "result": row.layout}
    assert store["fonts"] == {"url": "/api/fonts", "known": mine}
    # another user sending the same cookie has not reported that table: served the bundled fonts'
    # layout (drawn if their browser measures as the bundled fonts do), asked to post their own
    other = layout_store(world.editor, version, "chart.scxml", mine)
    assert other["layout"] == {"key": bundled.key, "result": bundled.layout} and other["fonts"]["known"] is None
    assert layout_store(world.viewer, version, "chart.scxml", "0" * 64)["layout"]["key"] == bundled.key
    assert layout_store(world.viewer, version, "chart.scxml", None)["fonts"]["known"] is None
    assert layout_store(AnonymousUser(), version, "chart.scxml", None)["layout"]["key"] == bundled.key


@override_settings(DIAGRAM_SERVER_LAYOUTS=True)
def test_a_page_served_with_a_known_table_marks_it_seen(world: World) -> None:
    mine = keep_font_table(world.viewer, table(7))
    FontTable.objects.update(seen=timezone.now() - timedelta(days=40))
    version = new_version(world, chart())
    assert lay_out_version(version.pk) == 1  # the bundled fonts' table; not seen for 40 days: not for it
    layout_store(world.viewer, world.v2, world.v2.entry, mine)
    assert FontTable.objects.get().seen > timezone.now() - timedelta(minutes=1)
    assert lay_out_version(version.pk) == 1


def test_server_layouts_off_the_page_asks_for_no_table(world: World) -> None:
    assert "fonts" not in layout_store(world.viewer, world.v2, world.v2.entry, None)


def test_on_celery_a_created_version_is_laid_out_by_the_task(world: World) -> None:
    from orchweb.celery import app

    keep_font_table(world.viewer, table(7))
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with override_settings(DIAGRAM_SERVER_LAYOUTS=True, BATCH_EXECUTOR="celery"):
            version = new_version(world, chart())
            assert serverlayouts.schedule(version)
    finally:
        app.conf.task_always_eager = eager
    assert ServerDiagramLayout.objects.filter(version=version).count() == 2  # and the bundled fonts'


def test_the_elk_context_has_a_deadline_and_a_memory_limit() -> None:
    with pytest.raises(ElkError):  # "out of memory", or no exception object at all when none fits
        ServerElk(memory_limit=4 * 1024 * 1024)
    elk = ServerElk()
    elk.seconds = 0.01  # a layout's deadline (a 2,000-state chart takes seconds)
    try:
        states = [{"id": f"s{i}", "kind": "atomic", "children": [], "actions": []} for i in range(2000)]
        transitions = [
            {"id": f"t{i}", "source": f"s{i}", "targets": [f"s{(i * 7 + 1) % 2000}"], "event": "e", "actions": []}
            for i in range(2000)
        ]
        graph = {"root": "s0", "states": states, "transitions": transitions}
        with pytest.raises(ElkError, match="interrupted"):
            elk.layout(graph, table())
    finally:
        elk.close()


def test_on_celery_an_author_has_at_most_four_versions_waiting_for_the_workers(world: World) -> None:
    from orchweb.celery import app

    keep_font_table(world.viewer, table(7))
    owner = world.owner.pk
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with override_settings(DIAGRAM_SERVER_LAYOUTS=True, BATCH_EXECUTOR="celery"):
            for _ in range(serverlayouts.PER_USER):  # the owner's versions still waiting for a worker
                assert serverlayouts.take_place(owner)
            waiting = new_version(world, chart())
            assert not serverlayouts.schedule(waiting)  # refused: its first browser lays it out
            assert serverlayouts.take_place(world.editor.pk)  # another author's place is their own
            serverlayouts.release_place(owner)  # a worker finished one
            assert serverlayouts.schedule(waiting)  # run at once (eager), and its place given back
            assert serverlayouts.take_place(owner)  # 3 were still waiting
            assert not serverlayouts.take_place(owner)
    finally:
        app.conf.task_always_eager = eager
        for user in [owner] * serverlayouts.PER_USER + [world.editor.pk]:  # the cache outlives the test
            serverlayouts.release_place(user)
    assert ServerDiagramLayout.objects.filter(version=waiting).count() == 2  # the viewer's and the bundled


@override_settings(DIAGRAM_SERVER_LAYOUTS=True)
def test_the_draft_diagram_page_asks_for_the_browser_s_table_too(world: World) -> None:
    """A user who only edits drafts reports their browser's widths from the draft's diagram, so
    the versions they save are laid out for them (before, only a version's pages asked)."""
    mine = keep_font_table(world.editor, table(7))
    client = world.client_for("editor")
    client.cookies[serverlayouts.FONTS_COOKIE] = mine
    page = client.get(f"/projects/{world.project.pk}/draft/diagram/")
    assert page.context["layout_store"]["fonts"] == {"url": "/api/fonts", "known": mine}
    client.cookies[serverlayouts.FONTS_COOKIE] = "0" * 64  # not a table this user reported
    page = client.get(f"/projects/{world.project.pk}/draft/diagram/")
    assert page.context["layout_store"]["fonts"] == {"url": "/api/fonts", "known": None}
    with override_settings(DIAGRAM_SERVER_LAYOUTS=False):
        assert "fonts" not in client.get(f"/projects/{world.project.pk}/draft/diagram/").context["layout_store"]


# --------------------------------------------------------------------------------------------
# A table new to its user: the versions made before it, laid out (bounded per report, per user,
# per day), and the report itself bounded (size, rate).


def project_with_version(world: World, name: str, changed: Any, team: Any = None) -> Any:
    """A project of `team` (the world's by default) whose only version was made at `changed`."""
    project = Project.objects.create(team=team or world.team, name=name, created_by=world.owner)
    version = history.create_version(
        project, {"chart.scxml": chart()}, author=world.owner, message="first", parent=None, check_parent=False
    )
    Version.objects.filter(pk=version.pk).update(created_at=changed)
    return version


@contextmanager
def eager_celery() -> Iterator[None]:
    from orchweb.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with override_settings(DIAGRAM_SERVER_LAYOUTS=True, BATCH_EXECUTOR="celery"):
            yield
    finally:
        app.conf.task_always_eager = eager


@pytest.fixture
def catch_ups(world: World) -> Iterator[None]:
    """Each user's day of catch-ups and Celery places start empty (the cache outlives a test)."""
    users = [world.owner, world.editor, world.viewer, world.outsider]
    for user in users:
        serverlayouts.forget_counts(user.pk)
    yield
    for user in users:
        serverlayouts.forget_counts(user.pk)


def test_a_table_new_to_a_user_lays_out_the_latest_versions_of_their_most_recently_changed_projects(
    world: World, catch_ups: None, django_capture_on_commit_callbacks: Any
) -> None:
    now = timezone.now()
    made = [project_with_version(world, f"P{i}", now - timedelta(hours=i + 1)) for i in range(5)]
    elsewhere = project_with_version(world, "Theirs", now, team=world.other_team)  # not the viewer's team
    already = keep_font_table(world.editor, table(7))  # another member's table: not this report's
    with eager_celery(), django_capture_on_commit_callbacks(execute=True):
        mine = keep_font_table(world.viewer, table(8))

    laid = set(ServerDiagramLayout.objects.values_list("version_id", "fingerprint"))
    # world.v2 (made now: the latest of "Support line", not v1) and the next two most recent
    assert laid == {(world.v2.pk, mine), (made[0].pk, mine), (made[1].pk, mine)}
    assert serverlayouts.CATCH_UP_PROJECTS == 3
    assert already not in {fp for _, fp in laid} and elsewhere.pk not in {pk for pk, _ in laid}

    with eager_celery(), django_capture_on_commit_callbacks(execute=True):
        keep_font_table(world.viewer, table(8))  # the same table again: nothing new to lay out
    assert ServerDiagramLayout.objects.count() == 3
    # a later catch-up for the same table skips the versions done: the next three projects
    assert serverlayouts.lay_out_latest(world.viewer.pk, mine) == 3
    assert {pk for pk, fp in ServerDiagramLayout.objects.values_list("version_id", "fingerprint")} == {
        world.v2.pk,
        *(v.pk for v in made),
    }


def test_a_users_new_tables_lay_out_their_versions_at_most_three_times_a_day(
    world: World, catch_ups: None, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hostile user posting table after table queues at most CATCH_UPS_PER_DAY jobs a day."""
    queued: list[int] = []
    monkeypatch.setattr(serverlayouts, "_on_thread", lambda user_id, job: queued.append(user_id) or True)
    with override_settings(DIAGRAM_SERVER_LAYOUTS=True), django_capture_on_commit_callbacks(execute=True):
        for width in (7, 8, 9, 10, 11):
            keep_font_table(world.viewer, table(width))
        keep_font_table(world.editor, table(7))  # another user's day is their own
    assert queued == [world.viewer.pk] * serverlayouts.CATCH_UPS_PER_DAY + [world.editor.pk]
    assert serverlayouts.CATCH_UPS_PER_DAY == 3


def test_a_catch_up_takes_one_of_the_users_places_on_celery(world: World, catch_ups: None) -> None:
    mine = keep_font_table(world.viewer, table(7))
    with eager_celery():
        for _ in range(serverlayouts.PER_USER):  # the viewer's jobs still waiting for a worker
            assert serverlayouts.take_place(world.viewer.pk)
        assert not serverlayouts.schedule_catch_up(world.viewer.pk, mine)
        serverlayouts.release_place(world.viewer.pk)
        assert serverlayouts.schedule_catch_up(world.viewer.pk, mine)  # run at once (eager)
    assert ServerDiagramLayout.objects.filter(version=world.v2, fingerprint=mine).exists()


def test_joining_a_team_lays_out_its_latest_versions_for_the_accepting_browser_s_table(
    world: World, catch_ups: None, django_capture_on_commit_callbacks: Any
) -> None:
    """A member who reported their table before joining gets the new team's current work laid out
    too (no table is new to them, so no other catch-up would)."""
    theirs = project_with_version(world, "Theirs", timezone.now(), team=world.other_team)
    mine = keep_font_table(world.viewer, table(8))  # reported earlier (its own catch-up not run here)
    viewer = world.client_for("viewer")
    viewer.cookies[serverlayouts.FONTS_COOKIE] = mine
    with eager_celery(), django_capture_on_commit_callbacks(execute=True):
        joined = viewer.post(f"/invitations/{world.invitation.pk}/accept/")

    assert joined.status_code == 302
    # the joined team's latest version only: not the viewer's other team's
    assert set(ServerDiagramLayout.objects.values_list("version_id", "fingerprint")) == {(theirs.pk, mine)}


def test_joining_a_team_from_a_browser_that_reported_no_table_lays_nothing_out(
    world: World, catch_ups: None, django_capture_on_commit_callbacks: Any
) -> None:
    project_with_version(world, "Theirs", timezone.now(), team=world.other_team)
    keep_font_table(world.viewer, table(8))
    viewer = world.client_for("viewer")
    viewer.cookies[serverlayouts.FONTS_COOKIE] = "0" * 64  # a fingerprint that is not the viewer's
    with eager_celery(), django_capture_on_commit_callbacks(execute=True):
        joined = viewer.post(f"/invitations/{world.invitation.pk}/accept/")

    assert joined.status_code == 302
    assert not ServerDiagramLayout.objects.exists()


def test_a_report_larger_than_the_bound_is_refused_before_it_is_read(world: World) -> None:
    body = json.dumps({"table": table()})
    padded = body + " " * (serverlayouts.MAX_TABLE_BYTES - len(body) + 1)  # valid JSON, only too long
    client = world.client_for("viewer")
    answer = client.post("/api/fonts", padded, content_type="application/json")
    assert answer.status_code == 413, answer.content
    assert "larger than 262144 bytes" in answer.json()["detail"]
    assert not FontTable.objects.exists()
    assert client.post("/api/fonts", padded[:-1], content_type="application/json").status_code == 200
    # the largest table within clean_font_table's bounds fits
    widest = {f"{n}{'x' * 190}": {chr(0x4E00 + c): 0.1234567890123456 for c in range(1024)} for n in range(4)}
    assert len(json.dumps({"table": widest})) < serverlayouts.MAX_TABLE_BYTES
    assert post(client, {"table": widest}).status_code == 200


def test_reports_count_in_the_users_work_rate(world: World) -> None:
    from orchweb import throttling
    from tests.hostile.test_rate_limits import rates

    for user in (world.viewer, world.editor):  # ids are reused after a rolled-back test: windows start empty
        throttling.forget(user_pk=user.pk)
    client = world.client_for("viewer")
    try:
        with rates(work="3/minute"):
            codes = [post(client, {"table": table(w)}).status_code for w in (7, 8, 9, 10)]
            other = post(world.client_for("editor"), {"table": table(7)}).status_code
    finally:
        throttling.forget(user_pk=world.viewer.pk)
        throttling.forget(user_pk=world.editor.pk)
    assert codes == [200, 200, 200, 429]
    assert other == 200


@override_settings(DIAGRAM_SERVER_LAYOUTS=True)
def test_any_signed_in_page_asks_for_the_table_once_a_session(world: World) -> None:
    """base.html's body names where to report the browser's table (base.js reports it after the
    first view): on the first page of a session whatever the page, and again only when the cookie
    names a table this session has not found known."""
    client = world.client_for("viewer")
    page = client.get("/projects/")
    assert b'data-fonts-url="/api/fonts" data-fonts-known=""' in page.content
    mine = keep_font_table(world.viewer, table(7))
    client.cookies[serverlayouts.FONTS_COOKIE] = mine
    page = client.get("/simulations/")
    assert f'data-fonts-url="/api/fonts" data-fonts-known="{mine}"'.encode() in page.content
    assert b"data-fonts-url" not in client.get("/projects/").content  # known to this session
    client.cookies[serverlayouts.FONTS_COOKIE] = "0" * 64  # not a table this user reported
    assert b'data-fonts-known=""' in client.get("/projects/").content
    assert b"data-fonts-url" not in world.client_for("anonymous").get("/accounts/login/").content
    with override_settings(DIAGRAM_SERVER_LAYOUTS=False):
        assert b"data-fonts-url" not in world.client_for("editor").get("/projects/").content
