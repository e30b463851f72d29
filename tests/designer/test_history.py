"""Versions, drafts and conflicts: immutability, content addressing, stale saves refused."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from designer import history
from designer.importing import UploadError, export_zip
from designer.models import Blob, Draft, ImmutableError, Version
from tests.designer.conftest import World


@pytest.mark.django_db
def test_identical_content_is_stored_once_across_versions_and_paths(world: World) -> None:
    files = {
        "src-gen/A.scxml": world.v1.read_files()["src-gen/Main.scxml"],
        "copy/a.js": b"same",
        "other/b.js": b"same",
    }
    before = Blob.objects.count()

    history.create_version(world.project, files, author=world.owner, message="m", parent=world.v2)

    assert Blob.objects.count() == before + 1  # only b"same" is new, and only once


@pytest.mark.django_db
def test_a_saved_version_cannot_be_edited_or_deleted(world: World) -> None:
    world.v1.message = "rewritten history"
    with pytest.raises(ImmutableError):
        world.v1.save()
    with pytest.raises(ImmutableError):
        world.v1.delete()
    row = world.v1.files.first()
    row.path = "elsewhere.js"
    with pytest.raises(ImmutableError):
        row.save()
    assert Version.objects.get(pk=world.v1.pk).message == "Starter"


@pytest.mark.django_db
def test_versions_are_numbered_and_chained(world: World) -> None:
    assert (world.v1.label, world.v2.label) == ("v1", "v2")
    assert world.v2.parent == world.v1


@pytest.mark.django_db
def test_saving_a_stale_draft_is_refused_and_the_draft_is_kept(world: World) -> None:
    mine = history.get_or_start_draft(world.project, world.editor)
    history.write_draft_file(mine, "include/starter.js", b"// my work\n")
    theirs = history.get_or_start_draft(world.project, world.owner)
    history.write_draft_file(theirs, "include/starter.js", b"// their work\n")
    v3 = history.save_draft(theirs, "Their change")

    with pytest.raises(history.StaleParentError) as conflict:
        history.save_draft(mine, "My change")

    assert "based on v2" in str(conflict.value) and "owner has since saved v3" in str(conflict.value)
    assert "your draft is kept" in str(conflict.value)
    mine = Draft.objects.get(pk=mine.pk)
    assert mine.read_files()["include/starter.js"] == b"// my work\n"
    assert world.project.latest_version == v3


@pytest.mark.django_db
def test_after_a_rebase_the_kept_draft_saves_on_top(world: World) -> None:
    mine = history.get_or_start_draft(world.project, world.editor)
    history.write_draft_file(mine, "include/starter.js", b"// my work\n")
    theirs = history.get_or_start_draft(world.project, world.owner)
    history.write_draft_file(theirs, "include/other.js", b"// theirs\n")
    v3 = history.save_draft(theirs, "Their change")

    history.rebase_draft(mine)
    v4 = history.save_draft(mine, "My change")

    assert v4.parent == v3
    assert v4.read_files()["include/starter.js"] == b"// my work\n"


@pytest.mark.django_db
def test_a_draft_without_changes_is_not_saved(world: World) -> None:
    draft = history.get_or_start_draft(world.project, world.editor)

    with pytest.raises(UploadError, match="no changes since v2"):
        history.save_draft(draft, "nothing")


@pytest.mark.django_db
def test_draft_files_can_be_added_renamed_and_deleted(world: World) -> None:
    draft = history.get_or_start_draft(world.project, world.editor)

    history.write_draft_file(draft, "src-gen/New.scxml", b"<scxml/>")
    history.rename_draft_file(draft, "src-gen/IPD_default_Starter.scxml", "src-gen/IPD_default_Renamed.scxml")
    history.delete_draft_file(draft, "fakes/default.json")
    version = history.save_draft(draft, "Reshape")

    paths = set(version.file_map())
    assert "src-gen/New.scxml" in paths and "fakes/default.json" not in paths
    assert version.entry == "src-gen/IPD_default_Renamed.scxml"  # the entry follows its renamed file


@pytest.mark.django_db
def test_a_rename_onto_an_existing_file_is_refused(world: World) -> None:
    draft = history.get_or_start_draft(world.project, world.editor)

    with pytest.raises(UploadError, match="already exists"):
        history.rename_draft_file(draft, "include/starter.js", "src-gen/Main.scxml")


@pytest.mark.django_db
def test_a_draft_with_broken_xml_cannot_become_a_version(world: World) -> None:
    draft = history.get_or_start_draft(world.project, world.editor)
    history.write_draft_file(draft, "src-gen/Main.scxml", b"<scxml><state>")

    with pytest.raises(UploadError, match=r"src-gen/Main.scxml: not well-formed XML \(line"):
        history.save_draft(draft, "broken")
    assert world.project.latest_version == world.v2


@pytest.mark.django_db
def test_the_diff_lists_changed_added_and_removed_files(world: World) -> None:
    draft = history.get_or_start_draft(world.project, world.editor)
    history.write_draft_file(draft, "include/added.js", b"var a;\n")
    history.delete_draft_file(draft, "fakes/default.json")
    v3 = history.save_draft(draft, "Changes")

    by_path = {d.path: d for d in history.diff_versions(world.v1, v3)}

    assert by_path["include/starter.js"].status == "modified"
    assert "-  return '7000';" in by_path["include/starter.js"].diff
    assert "+  return '7100';" in by_path["include/starter.js"].diff
    assert by_path["include/added.js"].status == "added"
    assert by_path["fakes/default.json"].status == "removed"
    assert by_path["src-gen/Main.scxml"].status == "unchanged"


@pytest.mark.django_db
def test_the_draft_page_shows_the_conflict_with_status_409_and_keeps_the_text(world: World) -> None:
    editor: Client = world.client_for("editor")
    owner: Client = world.client_for("owner")
    editor.post(
        f"/projects/{world.project.pk}/draft/add/", {"path": "include/starter.js", "content": "// typed by editor\n"}
    )
    owner.post(f"/projects/{world.project.pk}/draft/add/", {"path": "include/x.js", "content": "var x;\n"})
    assert owner.post(f"/projects/{world.project.pk}/draft/save/", {"message": "owner first"}).status_code == 302

    response = editor.post(f"/projects/{world.project.pk}/draft/save/", {"message": "editor second"})

    assert response.status_code == 409
    page = response.content.decode()
    assert "Conflict: this work is based on v2 but owner has since saved v3" in page
    assert "Keep my files and base the draft on v3" in page
    draft = Draft.objects.get(project=world.project, user=world.editor)
    assert draft.read_files()["include/starter.js"] == b"// typed by editor\n"


@pytest.mark.django_db
def test_the_api_answers_409_on_a_stale_save_and_201_after_a_rebase(world: World) -> None:
    editor: Client = world.client_for("editor")
    owner: Client = world.client_for("owner")
    base = f"/api/projects/{world.project.pk}/draft"
    editor.post(f"{base}/files", {"path": "include/starter.js", "content": "// e\n"}, content_type="application/json")
    owner.post(f"{base}/files", {"path": "include/o.js", "content": "// o\n"}, content_type="application/json")
    assert owner.post(f"{base}/save", {"message": "o"}, content_type="application/json").status_code == 201

    conflict = editor.post(f"{base}/save", {"message": "e"}, content_type="application/json")
    rebased = editor.post(f"{base}/rebase", content_type="application/json")
    saved = editor.post(f"{base}/save", {"message": "e"}, content_type="application/json")

    assert conflict.status_code == 409
    assert conflict.json()["conflict"] is True
    assert conflict.json()["latest"]["label"] == "v3" and conflict.json()["base"]["label"] == "v2"
    assert rebased.status_code == 200 and rebased.json()["stale"] is False
    assert saved.status_code == 201 and saved.json()["label"] == "v4"
    assert saved.json()["url"] == f"/versions/{saved.json()['id']}/"


@pytest.mark.django_db
def test_an_upload_based_on_an_old_version_is_refused(world: World) -> None:
    client: Client = world.client_for("editor")
    response = client.post(
        f"/api/projects/{world.project.pk}/versions",
        {
            "file": SimpleUploadedFile("p.zip", export_zip(world.v1.read_files())),
            "message": "old",
            "parent": world.v1.pk,
        },
    )
    missing_parent = client.post(
        f"/api/projects/{world.project.pk}/versions",
        {"file": SimpleUploadedFile("p.zip", export_zip(world.v1.read_files())), "message": "no parent"},
    )

    assert response.status_code == 409
    assert missing_parent.status_code == 409
    assert world.project.versions.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_saves_on_the_same_base_give_one_version_and_one_conflict() -> None:
    import threading

    from django.db import connection

    from tests.designer.conftest import build_world

    world = build_world()
    drafts = []
    for user, text in ((world.owner, b"// owner\n"), (world.editor, b"// editor\n")):
        draft = history.get_or_start_draft(world.project, user)
        history.write_draft_file(draft, "include/starter.js", text)
        drafts.append(draft.pk)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def save(draft_id: int) -> None:
        try:
            draft = Draft.objects.select_related("project", "base", "user").get(pk=draft_id)
            barrier.wait(timeout=10)
            history.save_draft(draft, "race")
            outcomes.append("saved")
        except history.StaleParentError:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(pk,)) for pk in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["conflict", "saved"]
    assert [v.label for v in world.project.versions.order_by("number")] == ["v1", "v2", "v3"]
