"""API request bodies are checked exactly as the OpenAPI schema states them.

A value of the wrong JSON type, blank text, or a path the schema's pattern refuses is a 400; a
request that matches the schema but cannot be used is a 422 (or 404/409 for the URL's object and
the draft's state), never a 400. tests/hostile/test_schemathesis.py checks the same against a live
server with generated requests; these are the cases it found, as sentences.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from designer.models import LINE_MAX, Draft
from designer.serializers import NOT_BLANK_PATTERN, PATH_PATTERN
from simulator.ors.projectfiles import ProjectError, clean_path
from tests.designer.conftest import World

MAIN = "src-gen/Main.scxml"


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, body, content_type="application/json")


@settings(max_examples=300, deadline=None)
@given(st.from_regex(PATH_PATTERN))
def test_every_path_the_schema_pattern_allows_is_one_the_project_files_rule_accepts(path: str) -> None:
    clean_path(path)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab./\\: \t\x01", max_size=8))
def test_a_path_the_project_files_rule_refuses_is_refused_by_the_schema_pattern(path: str) -> None:
    try:
        clean_path(path)
    except ProjectError:
        assert not re.search(PATH_PATTERN, path)


@pytest.mark.parametrize("path", ["a.scxml", "src-gen/Main.scxml", "./a//b.js", "..a", "ab:c"])
def test_the_path_pattern_takes_ordinary_project_paths(path: str) -> None:
    assert re.search(PATH_PATTERN, path)


@pytest.mark.parametrize("path", ["", ".", "..", "a/../b", "/etc/passwd", "c:x", " a", "a ", "a\\b", "a\x01"])
def test_the_path_pattern_refuses_what_could_leave_the_project_or_is_no_name(path: str) -> None:
    assert not re.search(PATH_PATTERN, path)


@pytest.mark.parametrize("text", ["", " ", "\t\n", "a\x00"])
def test_blank_text_and_null_characters_do_not_match_the_not_blank_pattern(text: str) -> None:
    assert not re.search(NOT_BLANK_PATTERN, text)


@pytest.mark.django_db
def test_a_number_where_the_schema_says_string_is_refused_not_turned_into_text(world: World) -> None:
    client = world.client_for("editor")
    draft = f"/api/projects/{world.project.pk}/draft"

    assert post(client, f"{draft}/files", {"path": 0, "content": ""}).status_code == 400
    assert post(client, f"{draft}/save", {"message": 0}).status_code == 400
    assert client.put(f"{draft}/files/a.js", {"content": 0}, content_type="application/json").status_code == 400
    comment = post(client, f"/api/versions/{world.v2.pk}/comments", {"body": "x", "path": 0})
    assert comment.status_code == 400 and "path" in comment.json()
    assert not Draft.objects.get(project=world.project, user=world.editor).files.filter(path="0").exists()


@pytest.mark.django_db
def test_a_string_or_flag_where_the_schema_says_integer_or_boolean_is_refused(world: World) -> None:
    client = world.client_for("editor")

    assert post(client, "/api/projects", {"team": str(world.team.pk), "name": "Strings"}).status_code == 400
    add = {"path": MAIN, "op": "add_state", "kind": "state", "id": "S", "initial": "yes"}
    assert post(client, f"/api/projects/{world.project.pk}/draft/edit", add).status_code == 400


@pytest.mark.django_db
def test_blank_text_is_a_400_and_the_schema_says_it_must_not_be_blank(world: World) -> None:
    client = world.client_for("editor")
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    save = schema["components"]["schemas"]["DraftSaveRequest"]["properties"]["message"]

    assert save["minLength"] == 1 and save["pattern"] == NOT_BLANK_PATTERN.replace(r"\x", r"\u00")
    assert post(client, f"/api/projects/{world.project.pk}/draft/save", {"message": "  "}).status_code == 400


@pytest.mark.django_db
def test_a_layout_takes_numeric_positions_only_and_keeps_no_other_key(world: World) -> None:
    client = world.client_for("editor")
    url = f"/api/projects/{world.project.pk}/draft/layout"

    def put(body: Any) -> Any:
        return client.put(url, body, content_type="application/json")

    refused = put({"files": {MAIN: {"Start": {"x": "1", "y": 2}}}})
    assert refused.status_code == 400
    assert refused.json()["files"][MAIN]["Start"]["x"]  # the field's messages, nested as the body
    assert put({"files": "not an object"}).status_code == 400
    kept = put({"files": {MAIN: {"Start": {"x": 1, "y": 2.5, "z": 3}}}, "extra": 1})
    assert kept.status_code == 200
    assert kept.json() == {"files": {MAIN: {"Start": {"x": 1.0, "y": 2.5}}}}


@pytest.mark.django_db
def test_project_creation_refuses_a_team_of_others_with_422_and_a_taken_name_with_409(world: World) -> None:
    client = world.client_for("editor")

    other = post(client, "/api/projects", {"team": world.other_team.pk, "name": "Mine"})
    taken = post(client, "/api/projects", {"team": world.team.pk, "name": world.project.name})

    assert other.status_code == 422 and other.json()["detail"] == "No such team among yours."
    assert taken.status_code == 409 and "already has a project" in taken.json()["detail"]


@pytest.mark.django_db
def test_saving_an_unchanged_draft_is_a_409_without_a_version_conflict(world: World) -> None:
    client = world.client_for("editor")
    client.get(f"/api/projects/{world.project.pk}/draft")

    answer = post(client, f"/api/projects/{world.project.pk}/draft/save", {"message": "again"})

    assert answer.status_code == 409
    assert answer.json() == {"detail": "Nothing to save: the draft has no changes since v2."}


@pytest.mark.django_db
def test_discarding_the_draft_is_an_action_and_the_next_read_starts_a_fresh_one(world: World) -> None:
    client = world.client_for("editor")
    draft = f"/api/projects/{world.project.pk}/draft"
    post(client, f"{draft}/files", {"path": "notes.txt", "content": "x"})

    assert client.post(f"{draft}/discard").status_code == 204
    assert client.delete(draft).status_code == 405
    paths = [f["path"] for f in client.get(draft).json()["files"]]
    assert "notes.txt" not in paths and MAIN in paths


@pytest.mark.django_db
def test_an_edit_needs_a_body_and_the_schema_says_so(world: World) -> None:
    client = world.client_for("editor")
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    edit = schema["paths"]["/api/projects/{project_id}/draft/edit"]["post"]

    assert edit["requestBody"]["required"] is True
    assert (
        client.post(f"/api/projects/{world.project.pk}/draft/edit", content_type="application/json").status_code == 400
    )


@pytest.mark.django_db
def test_a_draft_files_api_url_carries_its_whole_path_in_one_segment(world: World) -> None:
    client = world.client_for("editor")
    pid = world.project.pk

    written = post(client, f"/api/projects/{pid}/draft/files", {"path": "fakes/extra.json", "content": "{}"}).json()

    assert written["url"] == f"/api/projects/{pid}/draft/files/fakes%2Fextra.json"
    assert client.get(written["url"]).json()["path"] == "fakes/extra.json"
    listed = {f["path"]: f["url"] for f in client.get(f"/api/projects/{pid}/draft").json()["files"]}
    assert listed[MAIN] == f"/api/projects/{pid}/draft/files/src-gen%2FMain.scxml"


@pytest.mark.django_db
def test_a_comment_line_beyond_its_column_is_a_400_not_a_server_error(world: World) -> None:
    # schemathesis found it on PostgreSQL: 2**45 + 1 overflowed the integer column (a 500)
    client = world.client_for("editor")
    url = f"/api/versions/{world.v2.pk}/comments"
    path = world.v2.files.order_by("path").first().path
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert schema["components"]["schemas"]["CommentCreateRequest"]["properties"]["line"]["maximum"] == LINE_MAX
    refused = post(client, url, {"body": "x", "path": path, "line": 2**45 + 1})
    assert refused.status_code == 400 and "line" in refused.json()
    kept = post(client, url, {"body": "x", "path": path, "line": LINE_MAX})
    assert kept.status_code == 201 and kept.json()["line"] == LINE_MAX
