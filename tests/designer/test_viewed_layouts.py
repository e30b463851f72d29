"""A page served for a version the server has not laid out for the bundled fonts' table (the
simulation page, the diagram view) queues that layout (designer.serverlayouts.schedule_viewed):
once, only for a reader of the version, bounded per viewer and per server; the stored layout is
the one the server stores for a new version, so the next open by anyone draws at once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings

from designer import serverlayouts
from designer.models import ServerDiagramLayout, Version
from designer.serverlayouts import BUNDLED_FINGERPRINT, keep_font_table, lay_out_version
from simulator.models import Simulation
from tests.designer.conftest import World
from tests.designer.test_server_layouts import eager_celery, table


@pytest.fixture
def fresh_counts(world: World) -> Iterator[None]:
    """Each user's day and places, the server's waiting jobs and the versions' "queued" marks start
    empty (the cache outlives a test, and a rolled-back test's ids are reused)."""

    def forget() -> None:
        for user in (world.owner, world.editor, world.viewer, world.outsider):
            serverlayouts.forget_counts(user.pk)
        serverlayouts.forget_counts(0)
        cache.delete(serverlayouts.VIEWED_WAITING_KEY)
        for pk, entry in Version.objects.values_list("pk", "entry"):
            serverlayouts.forget_viewed(pk, entry)

    forget()
    yield
    forget()


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch, fresh_counts: None) -> list[tuple[int, int, str]]:
    """The jobs queued on this process's layout thread as (viewer, version, document), not run."""
    jobs: list[tuple[int, int, str]] = []

    def on_thread(user_id: int, job: Any, delay: float = 0.0) -> bool:
        assert delay == serverlayouts.VIEWED_DELAY
        jobs.append((user_id, *job.args))
        return True

    monkeypatch.setattr(serverlayouts, "_on_thread", on_thread)
    return jobs


def diagram(client: Any, version: Version) -> int:
    return int(client.get(f"/versions/{version.pk}/diagram/").status_code)


@override_settings(DIAGRAM_SERVER_LAYOUTS=True)
def test_a_page_served_without_a_layout_queues_its_version_once(
    world: World, queued: list[tuple[int, int, str]], django_capture_on_commit_callbacks: Any
) -> None:
    viewer = world.client_for("viewer")
    with django_capture_on_commit_callbacks(execute=True):
        assert diagram(viewer, world.v2) == 200
        assert diagram(viewer, world.v2) == 200  # queued already: not again
        assert diagram(world.client_for("editor"), world.v2) == 200  # whoever views it
    assert queued == [(world.viewer.pk, world.v2.pk, world.v2.entry)]

    simulation = Simulation.objects.create(owner=world.editor, version=world.v1)
    with django_capture_on_commit_callbacks(execute=True):
        assert world.client_for("editor").get(f"/simulations/{simulation.pk}/").status_code == 200
        assert world.client_for("editor").get(f"/simulations/{simulation.pk}/").status_code == 200
    assert queued[1:] == [(world.editor.pk, world.v1.pk, world.v1.entry)]


@override_settings(DIAGRAM_SERVER_LAYOUTS=True)
def test_a_page_of_a_version_laid_out_queues_nothing(
    world: World, queued: list[tuple[int, int, str]], django_capture_on_commit_callbacks: Any
) -> None:
    lay_out_version(world.v2.pk)
    serverlayouts.forget_viewed(world.v2.pk, world.v2.entry)
    with django_capture_on_commit_callbacks(execute=True):
        assert diagram(world.client_for("viewer"), world.v2) == 200
    assert queued == []
    with override_settings(DIAGRAM_SERVER_LAYOUTS=False), django_capture_on_commit_callbacks(execute=True):
        assert diagram(world.client_for("viewer"), world.v1) == 200  # server layouts off
    assert queued == []


@override_settings(DIAGRAM_SERVER_LAYOUTS=True)
def test_a_page_a_user_may_not_read_queues_nothing(
    world: World, queued: list[tuple[int, int, str]], django_capture_on_commit_callbacks: Any
) -> None:
    simulation = Simulation.objects.create(owner=world.owner, version=world.v1)
    with django_capture_on_commit_callbacks(execute=True):
        assert diagram(world.client_for("outsider"), world.v2) == 404
        assert world.client_for("outsider").get(f"/simulations/{simulation.pk}/").status_code == 404
        assert diagram(world.client_for("anonymous"), world.v1) in (302, 404)
        assert diagram(world.client_for("share"), world.v1) in (302, 404)  # the link is to v2 only
    assert queued == []
    with django_capture_on_commit_callbacks(execute=True):
        assert diagram(world.client_for("share"), world.v2) == 200  # a share link's visitor: counted as user 0
    assert queued == [(0, world.v2.pk, world.v2.entry)]


@override_settings(DIAGRAM_SERVER_LAYOUTS=True)
def test_a_flood_of_page_views_queues_within_the_viewer_s_day_and_the_server_s_share(
    world: World,
    queued: list[tuple[int, int, str]],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from designer import history

    versions = [world.v1, world.v2]
    for n in range(4):
        versions.append(
            history.create_version(
                world.project,
                {"chart.scxml": f'<scxml xmlns="http://www.w3.org/2005/07/scxml"><state id="s{n}"/></scxml>'.encode()},
                author=world.owner,
                message=str(n),
                parent=None,
                check_parent=False,
            )
        )
    monkeypatch.setattr(serverlayouts, "VIEWED_PER_DAY", 3)
    monkeypatch.setattr(serverlayouts, "VIEWED_WAITING", 4)
    with django_capture_on_commit_callbacks(execute=True):
        for version in versions:  # the viewer's day: 3 jobs
            assert diagram(world.client_for("viewer"), version) == 200
        for version in reversed(versions):  # the server's share: 4 waiting in all
            assert diagram(world.client_for("editor"), version) == 200
    assert queued == [(world.viewer.pk, v.pk, v.entry) for v in versions[:3]] + [
        (world.editor.pk, versions[-1].pk, versions[-1].entry)
    ]
    serverlayouts.release_viewed_place()  # a job done: room for one more
    with django_capture_on_commit_callbacks(execute=True):
        assert diagram(world.client_for("editor"), versions[-2]) == 200
    assert queued[-1] == (world.editor.pk, versions[-2].pk, versions[-2].entry)


def test_on_celery_a_viewed_version_takes_one_of_the_viewer_s_places(
    world: World, fresh_counts: None, django_capture_on_commit_callbacks: Any
) -> None:
    with eager_celery():
        for _ in range(serverlayouts.PER_USER):  # the viewer's jobs still waiting for a worker
            assert serverlayouts.take_place(world.viewer.pk)
        with django_capture_on_commit_callbacks(execute=True):
            assert diagram(world.client_for("viewer"), world.v2) == 200
        assert not ServerDiagramLayout.objects.exists()  # refused, and not marked queued:
        assert not serverlayouts.take_place(world.viewer.pk)  # (the viewer's places untouched)
        serverlayouts.release_place(world.viewer.pk)
        with django_capture_on_commit_callbacks(execute=True):
            assert diagram(world.client_for("viewer"), world.v2) == 200  # the next page queues it (run at once)
    assert set(ServerDiagramLayout.objects.values_list("version_id", "fingerprint")) == {
        (world.v2.pk, BUNDLED_FINGERPRINT)
    }
    assert cache.get(serverlayouts.VIEWED_WAITING_KEY) in (0, None)  # its server place given back


def test_the_layout_a_page_view_queued_is_the_one_stored_for_a_new_version_and_the_next_open_draws_it(
    world: World, fresh_counts: None, django_capture_on_commit_callbacks: Any
) -> None:
    mine = keep_font_table(world.editor, table(7.5))
    with eager_celery(), django_capture_on_commit_callbacks(execute=True):
        assert diagram(world.client_for("viewer"), world.v2) == 200
    viewed = {
        (row.entry, row.fingerprint): (row.key, row.layout)
        for row in ServerDiagramLayout.objects.filter(version=world.v2)
    }
    assert set(viewed) == {(world.v2.entry, BUNDLED_FINGERPRINT), (world.v2.entry, mine)}

    ServerDiagramLayout.objects.all().delete()
    assert lay_out_version(world.v2.pk) == 2  # what the server stores when a version is created
    created = {
        (row.entry, row.fingerprint): (row.key, row.layout)
        for row in ServerDiagramLayout.objects.filter(version=world.v2)
    }
    assert viewed == created

    # another reader's first open, a browser with no table known: served the bundled fonts' layout
    simulation = Simulation.objects.create(owner=world.owner, version=world.v2)
    page = world.client_for("owner").get(f"/simulations/{simulation.pk}/")
    bundled = created[(world.v2.entry, BUNDLED_FINGERPRINT)]
    assert page.context["diagram"]["store"]["layout"] == {"key": bundled[0], "result": bundled[1]}


@override_settings(DIAGRAM_SERVER_LAYOUTS=True)
def test_a_page_of_another_document_queues_that_document(
    world: World, queued: list[tuple[int, int, str]], django_capture_on_commit_callbacks: Any
) -> None:
    from designer import history
    from tests.designer.test_server_layouts import chart

    version = history.create_version(
        world.project,
        {"chart.scxml": chart(), "other.scxml": chart("other")},
        author=world.owner,
        message="two",
        parent=None,
        check_parent=False,
        entry="chart.scxml",
    )
    serverlayouts.forget_viewed(version.pk, "other.scxml")
    with django_capture_on_commit_callbacks(execute=True):
        page = world.client_for("viewer").get(f"/versions/{version.pk}/diagram/", {"entry": "other.scxml"})
    assert page.context["payload"]["shown"] == "other.scxml"
    assert queued == [(world.viewer.pk, version.pk, "other.scxml")]


def test_on_the_layout_thread_a_job_due_now_overtakes_a_viewed_version_s_waiting_job() -> None:
    """A viewed version's job waits VIEWED_DELAY after its page; a new version's layout queued
    meanwhile is not kept waiting behind it."""
    ran: list[str] = []
    assert serverlayouts._on_thread(-1, lambda: ran.append("viewed") or 0, delay=2.0)
    assert serverlayouts._on_thread(-2, lambda: ran.append("new version") or 0)
    serverlayouts.wait_local()
    assert ran == ["new version", "viewed"]
