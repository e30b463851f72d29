"""`manage.py lay_out_versions` (designer/management/commands/lay_out_versions.py): the versions
without the server's layouts, laid out as a new version is (the same tables, keys and layouts),
exactly those, once, within its options."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from designer.models import ServerDiagramLayout
from designer.serverlayouts import BUNDLED_FINGERPRINT, keep_font_table, lay_out_version
from tests.designer.conftest import World
from tests.designer.test_server_layouts import chart, project_with_version, table


def lay_out(*args: str) -> str:
    out = io.StringIO()
    call_command("lay_out_versions", *args, stdout=out, stderr=out)
    return out.getvalue()


def laid_out() -> set[tuple[int, str]]:
    return set(ServerDiagramLayout.objects.values_list("version_id", "fingerprint"))


def test_it_lays_out_the_latest_version_of_every_project_for_the_tables_a_new_version_gets(world: World) -> None:
    member = keep_font_table(world.viewer, table(7))
    outsider = keep_font_table(world.outsider, table(8))  # a member of "Theirs"'s team only
    theirs = project_with_version(world, "Theirs", timezone.now() - timedelta(hours=1), team=world.other_team)
    other = project_with_version(world, "Other", timezone.now() - timedelta(hours=2))
    assert not ServerDiagramLayout.objects.exists()  # made with server layouts off (tests.settings)

    out = lay_out()

    assert laid_out() == {
        (world.v2.pk, BUNDLED_FINGERPRINT),  # the latest of "Support line", not v1
        (world.v2.pk, member),
        (other.pk, BUNDLED_FINGERPRINT),
        (other.pk, member),
        (theirs.pk, BUNDLED_FINGERPRINT),
        (theirs.pk, outsider),
    }
    assert f"Support line v2 ({world.v2.entry}, version {world.v2.pk}): 2 layouts laid out in" in out
    assert "3 version(s) laid out: 6 layout(s) stored." in out
    assert all(row.entry == row.version.entry for row in ServerDiagramLayout.objects.select_related("version"))


def test_a_second_run_does_nothing_and_an_interrupted_one_is_taken_up_where_it_stopped(world: World) -> None:
    project_with_version(world, "Other", timezone.now())
    lay_out()
    before = {(row.pk, row.key) for row in ServerDiagramLayout.objects.all()}
    assert len(before) == 2

    assert "Nothing to lay out" in lay_out()
    assert {(row.pk, row.key) for row in ServerDiagramLayout.objects.all()} == before

    ServerDiagramLayout.objects.filter(version=world.v2).delete()  # as if stopped before it
    out = lay_out()
    assert len(laid_out()) == 2 and (world.v2.pk, BUNDLED_FINGERPRINT) in laid_out()
    assert "1 version(s) laid out: 1 layout(s) stored." in out
    assert f"version {world.v2.pk})" in out


def test_its_options_choose_the_versions(world: World) -> None:
    other = project_with_version(world, "Other", timezone.now() - timedelta(days=1))
    out = lay_out("--dry-run", "--all-versions")
    assert not ServerDiagramLayout.objects.exists()
    assert "3 version(s) to lay out (3 layouts); nothing stored (--dry-run)." in out
    for version in (world.v1, world.v2, other):
        assert f"version {version.pk}): 1 layout to lay out" in out

    assert "Stopped at --limit 1" in lay_out("--limit", "1")  # the most recently changed project first
    assert laid_out() == {(world.v2.pk, BUNDLED_FINGERPRINT)}
    lay_out("--project", str(other.project_id))
    assert laid_out() == {(world.v2.pk, BUNDLED_FINGERPRINT), (other.pk, BUNDLED_FINGERPRINT)}
    lay_out("--all-versions", "--project", str(world.project.pk))
    assert (world.v1.pk, BUNDLED_FINGERPRINT) in laid_out() and len(laid_out()) == 3
    assert "Nothing to lay out" in lay_out("--all-versions")


def test_its_layouts_are_those_the_server_stores_for_a_new_version(world: World) -> None:
    """The command reuses one ELK context over its versions; a new version's job starts its own:
    the rows are the same bytes either way."""
    member = keep_font_table(world.editor, table(7.5))
    made = [project_with_version(world, f"P{i}", timezone.now() - timedelta(hours=i)) for i in range(2)]
    lay_out()
    by_command = {
        (row.version_id, row.fingerprint): (row.entry, row.key, row.layout) for row in ServerDiagramLayout.objects.all()
    }
    assert len(by_command) == 6 and {fp for _, fp in by_command} == {member, BUNDLED_FINGERPRINT}

    ServerDiagramLayout.objects.all().delete()
    for version in (world.v2, *made):
        assert lay_out_version(version.pk) == 2  # what the server stores when a version is created
    on_upload = {
        (row.version_id, row.fingerprint): (row.entry, row.key, row.layout) for row in ServerDiagramLayout.objects.all()
    }
    assert by_command == on_upload


def _blob(content: bytes) -> Any:
    from designer.models import Blob

    return Blob.store(content)


def test_a_chart_with_a_label_the_bundled_table_cannot_measure_is_laid_out_for_the_others(world: World) -> None:
    wide = keep_font_table(world.viewer, {font: {**widths, "\u4e2d": 12.0} for font, widths in table(7).items()})
    other = project_with_version(world, "CJK", timezone.now())
    other.files.update(blob=_blob(chart("\u4e2d")))
    out = lay_out("--project", str(other.project_id))
    assert "1 of 2 layouts laid out" in out  # the bundled fonts' table has no width for it
    assert laid_out() == {(other.pk, wide)}


def test_a_limit_below_one_is_refused_and_an_unknown_project_lays_out_nothing(world: World) -> None:
    with pytest.raises(CommandError, match="--limit must be at least 1"):
        lay_out("--limit", "0")
    assert "Nothing to lay out" in lay_out("--project", "987654")
    assert not ServerDiagramLayout.objects.exists()
