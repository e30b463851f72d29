"""The authoring API: edit operations on a draft file, permissions, stale edits, undo, layout, schema."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import yaml
from django.test import Client

from designer import history
from designer.models import Draft
from tests.designer.conftest import World

MAIN = "src-gen/Main.scxml"


def edit(client: Client, world: World, **body: Any) -> Any:
    return client.post(
        f"/api/projects/{world.project.pk}/draft/edit", {"path": MAIN, **body}, content_type="application/json"
    )


def draft_text(world: World, path: str = MAIN) -> str:
    draft = Draft.objects.get(project=world.project, user=world.editor)
    return draft.read_files()[path].decode("utf-8")


def test_an_editor_renames_a_state_and_gets_the_new_text_changes_and_lint(world: World) -> None:
    client = world.client_for("editor")
    before = world.v2.read_files()[MAIN].decode("utf-8")
    response = edit(client, world, op="rename_state", id="DefaultRoute", new_id="Fallback")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["text"] == draft_text(world)
    assert "$$_MY_PREFIX_$$.Fallback" in body["text"] and 'id="Fallback"' in body["text"]
    assert "$$_MY_PREFIX_$$.DefaultRoute" not in body["text"] and 'id="DefaultRoute"' not in body["text"]
    assert body["previous_sha256"] == hashlib.sha256(before.encode()).hexdigest()
    assert body["sha256"] == hashlib.sha256(body["text"].encode()).hexdigest()
    assert {c["first_line"] for c in body["changes"]} == {
        n + 1 for n, line in enumerate(before.splitlines()) if "_$$.DefaultRoute" in line or 'id="DefaultRoute"' in line
    }
    assert body["info"]["id"] == "Fallback"
    assert [f for f in body["lint"] if f["severity"] == "error"] == []


def test_a_stale_base_is_refused_and_nothing_is_written(world: World) -> None:
    client = world.client_for("editor")
    response = edit(client, world, op="rename_state", id="DefaultRoute", new_id="X", base_sha256="0" * 64)
    assert response.status_code == 409
    assert response.json()["stale"] is True
    assert "DefaultRoute" in draft_text(world)


def test_undo_restores_the_previous_text_with_the_hash_it_answered(world: World) -> None:
    client = world.client_for("editor")
    before = world.v2.read_files()[MAIN].decode("utf-8")
    first = edit(client, world, op="set_attribute", element={"id": "RouteToAgent"}, name="_note", value="x").json()
    undo = edit(client, world, op="restore", text=before, base_sha256=first["sha256"])
    assert undo.status_code == 200
    assert undo.json()["sha256"] == first["previous_sha256"]
    assert draft_text(world) == before
    redo = edit(client, world, op="restore", text=first["text"], base_sha256=undo.json()["sha256"])
    assert redo.json()["sha256"] == first["sha256"]


def test_deleting_a_targeted_state_answers_its_incoming_transitions_then_retargets(world: World) -> None:
    client = world.client_for("editor")
    response = edit(client, world, op="delete_state", id="DefaultRoute")
    assert response.status_code == 409
    assert [t["source"] for t in response.json()["incoming"]] == ["RouteToAgent"]
    response = edit(client, world, op="delete_state", id="DefaultRoute", incoming="retarget", to="Exit1")
    assert response.status_code == 200
    assert 'id="DefaultRoute"' not in draft_text(world)


def test_a_malformed_operation_is_a_400_and_one_that_does_not_fit_the_document_a_422(world: World) -> None:
    client = world.client_for("editor")
    assert edit(client, world, op="explode").status_code == 400
    assert edit(client, world, op="rename_state", id="DefaultRoute", new_id=5).status_code == 400
    assert edit(client, world, op="rename_state", id="DefaultRoute", new_id="  ").status_code == 400
    response = edit(client, world, op="rename_state", id="Nowhere", new_id="X")
    assert response.status_code == 422 and "no state 'Nowhere'" in response.json()["detail"]
    response = edit(client, world, op="add_block", block="log", params={"name": "L"})
    assert response.status_code == 422 and "message: required" in response.json()["detail"]
    response = edit(client, world, op="add_state", kind="state", id="x", path="nope.scxml")
    assert response.status_code == 422 and "no file 'nope.scxml'" in response.json()["detail"]


def test_add_block_in_the_starter_workflow_uses_its_prefix_and_lints_clean(world: World) -> None:
    client = world.client_for("editor")
    response = edit(
        client,
        world,
        op="add_block",
        block="log",
        params={"name": "LogIt", "message": "'hello'", "next": "RouteToAgent"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert '<state id="LogIt">' in body["text"]
    assert 'target="$$_MY_PREFIX_$$.RouteToAgent"' in body["text"]
    assert [f for f in body["lint"] if f["severity"] == "error"] == []


@pytest.mark.parametrize(("actor", "code"), [("viewer", 403), ("outsider", 404), ("anonymous", 403)])
def test_only_editors_may_edit(world: World, actor: str, code: int) -> None:
    response = edit(world.client_for(actor), world, op="rename_state", id="DefaultRoute", new_id="X")
    assert response.status_code in (code, 401)
    assert response.status_code == code or actor == "anonymous"


def test_the_layout_sidecar_is_kept_in_the_draft_files_and_saved_with_the_version(world: World) -> None:
    client = world.client_for("editor")
    url = f"/api/projects/{world.project.pk}/draft/layout"
    assert client.get(url).json() == {"files": {}}
    layout = {"files": {MAIN: {"RouteToAgent": {"x": 10, "y": 20.5}}}}
    assert client.put(url, layout, content_type="application/json").status_code == 200
    assert client.get(url).json() == {"files": {MAIN: {"RouteToAgent": {"x": 10.0, "y": 20.5}}}}
    bad = client.put(url, {"files": {MAIN: {"A": {"x": "left"}}}}, content_type="application/json")
    assert bad.status_code == 400
    draft = Draft.objects.get(project=world.project, user=world.editor)
    version = history.save_draft(draft, "moved a node")
    assert ".orchweb/layout.json" in version.read_files()
    assert MAIN.encode() in version.read_files()[".orchweb/layout.json"]
    assert world.client_for("viewer").put(url, layout, content_type="application/json").status_code == 403


def test_the_palette_lists_blocks_and_extension_declarations(world: World) -> None:
    body = world.client_for("viewer").get("/api/authoring/palette").json()
    assert "target" in [b["kind"] for b in body["blocks"]]
    queue = next(m for m in body["extensions"] if m["module"] == "queue")
    submit = next(a for a in queue["actions"] if a["name"] == "submit")
    timeout = next(a for a in submit["attributes"] if a["name"] == "timeout")
    assert timeout["kind"] == "expression" and "help" in timeout


def test_the_openapi_schema_describes_the_edit_operations(world: World) -> None:
    schema = yaml.safe_load(Client().get("/api/schema/").content)
    components = schema["components"]["schemas"]
    operation = schema["paths"]["/api/projects/{project_id}/draft/edit"]["post"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    # Request bodies have their own components (COMPONENT_SPLIT_REQUEST): follow the references.
    edit_operation = components[request["$ref"].rsplit("/", 1)[-1]]
    mapping = edit_operation["discriminator"]["mapping"]
    assert "rename_state" in mapping
    assert {"200", "409", "422"} <= set(operation["responses"])
    rename = components[mapping["rename_state"].rsplit("/", 1)[-1]]
    assert {"path", "op", "id", "new_id"} <= set(rename["properties"])
    assert rename["properties"]["new_id"]["minLength"] == 1  # blank ids are refused, and the schema says so


def test_get_answers_a_draft_files_text_and_hash_for_the_editor(world: World) -> None:
    client = world.client_for("editor")
    url = f"/api/projects/{world.project.pk}/draft/edit"
    body = client.get(url, {"path": MAIN}).json()
    assert body["text"] == world.v2.read_files()[MAIN].decode("utf-8")
    assert body["sha256"] == hashlib.sha256(body["text"].encode()).hexdigest()
    assert client.get(url, {"path": "nope"}).status_code == 404
    assert world.client_for("viewer").get(url, {"path": MAIN}).status_code == 403


def test_a_new_empty_scxml_file_starts_as_an_ors_strategy_and_becomes_the_entry(world: World) -> None:
    client = world.client_for("editor")
    created = client.post(
        "/api/projects", {"team": world.team.pk, "name": "Blank", "starter": "empty"}, content_type="application/json"
    )
    pid = created.json()["id"]
    response = client.post(
        f"/api/projects/{pid}/draft/files", {"path": "strategy.scxml", "content": ""}, content_type="application/json"
    )
    assert response.status_code in (200, 201), response.content
    draft = Draft.objects.get(project_id=pid, user=world.editor)
    assert draft.entry == "strategy.scxml"
    text = draft.read_files()["strategy.scxml"].decode("utf-8")
    assert 'xmlns:queue="http://www.genesyslab.com/modules/queue"' in text and 'name="strategy"' in text
    answer = client.post(
        f"/api/projects/{pid}/draft/edit",
        {"path": "strategy.scxml", "op": "add_block", "block": "entry", "params": {"name": "Entry1"}},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    graph = client.get(f"/api/projects/{pid}/draft/graph").json()
    assert "Entry1" in [s["id"] for s in graph["states"]]
