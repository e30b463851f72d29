"""Import of uploads (.scxml, Composer zips) and zip export: round trips and refused uploads."""

from __future__ import annotations

import io
import re
import stat
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from designer import history
from designer.importing import UploadError, choose_entry, clean_path, export_zip, read_upload, read_zip
from designer.models import Blob, Project
from tests.designer.conftest import World, make_zip, unzip, zip_folder

SAMPLES = ["crd-gvp-wf", "composer-stock"]
SCXML = b'<?xml version="1.0"?>\n<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"><state id="a"/></scxml>\n'


def folder_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("sample", SAMPLES)
def test_a_sample_project_survives_import_and_export_byte_for_byte(sample: str, shared_dir: Path, world: World) -> None:
    folder = shared_dir / "ors-samples" / sample
    client = world.client_for("owner")

    response = client.post(
        "/projects/upload/",
        {"team": world.team.pk, "name": sample, "file": SimpleUploadedFile(f"{sample}.zip", zip_folder(folder))},
    )

    assert response.status_code == 302, response.content[:500]
    project = Project.objects.get(name=sample)
    version = project.latest_version
    exported = client.get(f"/versions/{version.pk}/export.zip")
    assert exported.status_code == 200
    assert exported["Content-Type"] == "application/zip"
    assert unzip(exported.content) == folder_files(folder)
    api_export = client.get(f"/api/versions/{version.pk}/export")
    assert api_export.content == exported.content  # deterministic archive


def test_the_entry_of_an_imported_composer_project_is_its_ipd(shared_dir: Path, world: World) -> None:
    files = read_zip(zip_folder(shared_dir / "ors-samples" / "crd-gvp-wf"))

    choice = choose_entry(files)
    assert choice.path == "src-gen/IPD_default_MainWorkflow.scxml"
    assert "Interaction Process Diagram" in choice.reason


def test_a_zip_wrapped_in_one_project_folder_is_unwrapped() -> None:
    files = read_zip(make_zip({"MyProject/src-gen/IPD_x.scxml": SCXML, "MyProject/include/a.js": b"var a;"}))

    assert set(files) == {"src-gen/IPD_x.scxml", "include/a.js"}


def test_a_single_scxml_upload_lands_in_src_gen() -> None:
    assert read_upload("Flow.scxml", SCXML) == {"src-gen/Flow.scxml": SCXML}


def test_export_is_the_same_archive_every_time() -> None:
    files = {"src-gen/a.scxml": SCXML, "include/b.js": b"var b;\n"}

    assert export_zip(files) == export_zip(dict(reversed(list(files.items()))))


@pytest.mark.parametrize(
    ("name", "entries", "message"),
    [
        ("parent", {"../evil.scxml": SCXML}, "'..' would leave the project folder"),
        ("nested parent", {"src/../../evil.js": b"x"}, "'..' would leave the project folder"),
        ("absolute", {"/etc/passwd": b"x"}, "absolute paths are not allowed"),
        ("drive", {"C:/evil.js": b"x"}, "absolute paths are not allowed"),
        ("backslash", {"src\\..\\evil.js": b"x"}, "use forward slashes"),
        ("bad xml", {"src-gen/a.scxml": b"<scxml><state></scxml>"}, "src-gen/a.scxml: not well-formed XML"),
        (
            "doctype",
            {"src-gen/a.scxml": b'<!DOCTYPE x [<!ENTITY e "boom">]><scxml>&e;</scxml>'},
            "src-gen/a.scxml: not well-formed XML",
        ),
    ],
)
def test_it_refuses_a_zip_with(name: str, entries: dict[str, bytes], message: str) -> None:
    with pytest.raises(UploadError, match=re.escape(message)):
        read_upload("project.zip", make_zip(entries))


def test_it_refuses_a_symlink_in_a_zip() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("include/link.js")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(UploadError, match="symbolic links are not allowed"):
        read_zip(buffer.getvalue())


def test_it_refuses_a_zip_bomb_by_ratio(settings: object) -> None:
    bomb = make_zip({"src/bomb.js": b"\0" * (5 * 1024 * 1024)})

    with pytest.raises(UploadError, match="looks like a zip bomb"):
        read_zip(bomb)


def test_it_refuses_an_archive_expanding_past_the_total_limit(settings: object) -> None:
    settings.MAX_UPLOAD_BYTES = 4096  # type: ignore[attr-defined]
    entries = {f"include/f{i}.js": bytes(range(256)) * 12 for i in range(8)}  # 8 x 3 KiB, not compressible much

    with pytest.raises(UploadError, match="expands to more than"):
        read_zip(make_zip(entries))


def test_it_refuses_a_file_over_the_size_limit(settings: object) -> None:
    settings.MAX_UPLOAD_BYTES = 2048  # type: ignore[attr-defined]

    with pytest.raises(UploadError, match="over the 2048-byte limit"):
        read_upload("Big.scxml", b"<scxml>" + b" " * 4096 + b"</scxml>")


def test_it_refuses_a_member_whose_declared_size_lies(settings: object) -> None:
    settings.MAX_UPLOAD_BYTES = 2048  # type: ignore[attr-defined]
    data = bytearray(make_zip({"include/a.js": b"a" * 4000}))
    # Patch the central directory's uncompressed size down to 10 bytes: extraction must still stop.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")

    with pytest.raises(UploadError):
        read_zip(bytes(data))


def test_it_refuses_something_that_is_neither_xml_nor_zip() -> None:
    with pytest.raises(UploadError, match=re.escape("upload a .scxml document or a .zip")):
        read_upload("notes.txt", b"hello")


def test_it_refuses_a_broken_zip() -> None:
    with pytest.raises(UploadError, match="Not a valid zip archive"):
        read_upload("p.zip", b"PK\x03\x04 this is not really a zip")


def test_it_refuses_an_empty_zip() -> None:
    with pytest.raises(UploadError, match="no files"):
        read_upload("p.zip", make_zip({}))


@pytest.mark.parametrize("path", ["src-gen/./a.scxml", "src-gen//a.scxml", " src-gen/a.scxml "])
def test_paths_are_normalised(path: str) -> None:
    assert clean_path(path) == "src-gen/a.scxml"


@pytest.mark.django_db
def test_a_bad_upload_page_answers_400_with_the_reason(world: World) -> None:
    client = world.client_for("owner")

    response = client.post(
        "/projects/upload/",
        {"team": world.team.pk, "name": "Evil", "file": SimpleUploadedFile("e.zip", make_zip({"../x.js": b"x"}))},
    )

    assert response.status_code == 400
    assert "would leave the project folder" in response.content.decode()
    assert not Project.objects.filter(name="Evil").exists()


@pytest.mark.django_db
def test_a_bad_api_upload_answers_422_with_the_reason(world: World) -> None:
    client = world.client_for("editor")

    response = client.post(
        f"/api/projects/{world.project.pk}/versions",
        {"file": SimpleUploadedFile("a.scxml", b"<scxml"), "message": "broken", "parent": world.v2.pk},
    )

    assert response.status_code == 422
    assert "not well-formed XML" in response.json()["detail"]


@pytest.mark.django_db
def test_identical_files_are_stored_once(world: World) -> None:
    client: Client = world.client_for("owner")
    before = Blob.objects.count()

    response = client.post(
        f"/api/projects/{world.project.pk}/versions",
        {"file": SimpleUploadedFile("p.zip", unzip_to_zip(world)), "message": "same files", "parent": world.v2.pk},
    )

    assert response.status_code == 201
    assert Blob.objects.count() == before


def unzip_to_zip(world: World) -> bytes:
    return export_zip(world.v2.read_files())


RUNNABLE = b'<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="a"><state id="a"/></scxml>'
SUBROUTINE = (
    b"<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' initial='_composer_entry'>"
    b"<state id='_composer_entry'/></scxml>"
)


def upload_page(client: Client, world: World, name: str, zipped: bytes) -> str:
    response = client.post(
        "/projects/upload/", {"team": world.team.pk, "name": name, "file": SimpleUploadedFile(f"{name}.zip", zipped)}
    )
    assert response.status_code == 302, response.content[:500]
    return client.get(response["Location"]).content.decode()


@pytest.mark.django_db
def test_composer_sources_without_generated_code_import_with_a_warning_and_no_entry(world: World) -> None:
    client = world.client_for("owner")
    zipped = make_zip(
        {
            "Sources/Workflows/Main.workflow": b"<workflow/>",
            "Sources/Workflows/Billing.workflow": b"<workflow/>",
            "Sources/src/subRoutines/QueueQuery.scxml": SUBROUTINE,
        }
    )

    page = upload_page(client, world, "NoCode", zipped)

    assert Project.objects.get(name="NoCode").latest_version.entry == ""  # not the subroutine
    assert "no entry document" in page
    assert "No generated SCXML: generate code in Composer and import again." in page
    assert "<code>Workflows/Billing.workflow</code>" in page and "<code>Workflows/Main.workflow</code>" in page


@pytest.mark.django_db
def test_an_import_says_which_entry_it_chose_and_why(world: World, shared_dir: Path) -> None:
    client = world.client_for("owner")
    files = folder_files(shared_dir / "ors-samples" / "crd-gvp-wf")
    files["src-gen/IPD_default_Overflow.scxml"] = files["src-gen/IPD_default_MainWorkflow.scxml"]

    page = upload_page(client, world, "TwoIpds", make_zip(files))

    assert "entry src-gen/IPD_default_MainWorkflow.scxml. It is the first of 2 IPDs in path order" in page
    assert "the others: src-gen/IPD_default_Overflow.scxml" in page
    version = Project.objects.get(name="TwoIpds").latest_version
    api = client.get(f"/api/versions/{version.pk}").json()
    assert api["entries"] == ["src-gen/IPD_default_MainWorkflow.scxml", "src-gen/IPD_default_Overflow.scxml"]


@pytest.mark.django_db
def test_the_diff_reports_an_entry_change(world: World) -> None:
    client = world.client_for("owner")
    files = world.v2.read_files()
    files["src-gen/IPD_default_Other.scxml"] = RUNNABLE
    v3 = history.create_version(
        world.project,
        files,
        author=world.owner,
        message="other IPD",
        parent=world.v2,
        entry="src-gen/IPD_default_Other.scxml",
    )

    body = client.get(f"/api/versions/{world.v2.pk}/diff/{v3.pk}").json()
    page = client.get(f"/versions/{world.v2.pk}/diff/{v3.pk}/").content.decode()

    assert body["entry"] == {"a": world.v2.entry, "b": "src-gen/IPD_default_Other.scxml", "changed": True}
    assert "Entry document changed" in page and "src-gen/IPD_default_Other.scxml</code> in v3" in page


@pytest.mark.django_db
@pytest.mark.parametrize("name", ['Ré\r\nsumé "v" \\ 名前', "plain"])
def test_export_names_any_project_with_a_valid_rfc_6266_content_disposition(world: World, name: str) -> None:
    from urllib.parse import unquote

    project = Project.objects.create(team=world.team, name=name, created_by=world.owner)
    version = history.create_version(project, world.v1.read_files(), author=world.owner, message="m", parent=None)
    client = world.client_for("viewer")

    for url in (f"/versions/{version.pk}/export.zip", f"/api/versions/{version.pk}/export"):
        response = client.get(url)
        header = response["Content-Disposition"]
        assert response.status_code == 200
        assert "\r" not in header and "\n" not in header and header.isascii()
        fallback, extended = re.fullmatch(
            r'attachment; filename="([ -~]*)"; filename\*=UTF-8\'\'(\S+)', header
        ).groups()
        assert unquote(extended) == f"{name}-v1.zip"
        assert '"' not in fallback and "\\" not in fallback
