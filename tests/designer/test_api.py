"""The designer JSON API: shapes, graph/lint plumbing, token auth, comments and share links."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from lxml import etree
from rest_framework.authtoken.models import Token

from designer import history
from designer.models import Comment, Project
from tests.designer.conftest import World, zip_folder

SCXML_NS = "http://www.w3.org/2005/07/scxml"
GENESYS_PREFIX = "http://www.genesyslab.com/modules/"
STATE_TAGS = {f"{{{SCXML_NS}}}{tag}" for tag in ("state", "parallel", "final", "history")}


def import_sample(world: World, shared_dir: Path, sample: str = "crd-gvp-wf") -> Project:
    client = world.client_for("owner")
    response = client.post(
        "/api/projects",
        {"team": world.team.pk, "name": sample, "starter": "empty"},
        content_type="application/json",
    )
    assert response.status_code == 201
    project = Project.objects.get(pk=response.json()["id"])
    upload = client.post(
        f"/api/projects/{project.pk}/versions",
        {"file": SimpleUploadedFile("p.zip", zip_folder(shared_dir / "ors-samples" / sample)), "message": "import"},
    )
    assert upload.status_code == 201, upload.content[:300]
    return project


def extension_calls(element: etree._Element) -> list[etree._Element]:
    """Genesys action elements (not their Genesys children such as queue:targets)."""
    return [
        el
        for el in element.iter()
        if isinstance(el.tag, str)
        and el.tag.startswith("{" + GENESYS_PREFIX)
        and not el.getparent().tag.startswith("{" + GENESYS_PREFIX)
    ]


@pytest.mark.django_db
def test_the_graph_of_the_sample_ipd_lists_every_state_and_extension_call_of_the_included_workflow(
    world: World, shared_dir: Path
) -> None:
    project = import_sample(world, shared_dir)
    version = project.latest_version
    assert version.entry == "src-gen/IPD_default_MainWorkflow.scxml"
    main = etree.parse(str(shared_dir / "ors-samples/crd-gvp-wf/src-gen/Main.scxml")).getroot()
    entry = next(el for el in main.iter(f"{{{SCXML_NS}}}state") if el.get("id") == "_composer_entry")

    response = world.client_for("viewer").get(f"/api/versions/{version.pk}/graph")

    assert response.status_code == 200
    graph = response.json()
    assert graph["errors"] == []
    ids = {state["id"] for state in graph["states"]}
    expected = {f"MainWorkflow.{el.get('id')}" for el in entry.iter() if el.tag in STATE_TAGS}
    assert len(expected) >= 50  # 54 states with ids (+ <initial> pseudo-states)
    assert expected <= ids
    actions = [a for s in graph["states"] for a in s["actions"]] + [
        a for t in graph["transitions"] for a in t["actions"]
    ]
    drawn = sorted((a["line"], a["module"], a["action"]) for a in actions if a["file"] == "src-gen/Main.scxml")
    calls = extension_calls(entry)
    module_of = {"interaction": "ixn"}
    written = sorted(
        (
            el.sourceline,
            module_of.get(
                el.tag[len(GENESYS_PREFIX) + 1 :].split("}")[0], el.tag[len(GENESYS_PREFIX) + 1 :].split("}")[0]
            ),
            etree.QName(el).localname,
        )
        for el in calls
    )
    assert drawn == written


@pytest.mark.django_db
def test_lint_of_a_draft_reports_a_planted_unknown_target_at_its_line(world: World) -> None:
    client = world.client_for("editor")
    draft_url = f"/api/projects/{world.project.pk}/draft"
    main = client.get(f"{draft_url}/files/src-gen/Main.scxml").json()["content"]
    broken = main.replace('target="$$_MY_PREFIX_$$.RouteToAgent"', 'target="$$_MY_PREFIX_$$.Nowhere"', 1)
    line = broken[: broken.index("Nowhere")].count("\n") + 1
    client.put(f"{draft_url}/files/src-gen/Main.scxml", {"content": broken}, content_type="application/json")

    findings = client.get(f"{draft_url}/lint").json()["findings"]

    assert {"rule": "unknown-target", "file": "src-gen/Main.scxml", "line": line} in [
        {k: f[k] for k in ("rule", "file", "line")} for f in findings
    ]


@pytest.mark.django_db
def test_a_project_created_from_the_starter_has_its_ipd_as_entry(world: World) -> None:
    response = world.client_for("editor").post(
        "/api/projects",
        {"team": world.team.pk, "name": "From starter", "starter": "basic"},
        content_type="application/json",
    )

    body = response.json()
    assert response.status_code == 201
    assert body["latest"]["label"] == "v1"
    assert body["latest"]["entry"] == "src-gen/IPD_default_Starter.scxml"
    assert body["role"] == "editor"


@pytest.mark.django_db
def test_the_starter_diagram_has_both_legs_and_the_routing_call(world: World) -> None:
    graph = world.client_for("owner").get(f"/api/versions/{world.v1.pk}/graph").json()

    ids = {s["id"] for s in graph["states"]}
    assert {"_composer_application", "_composer_event_handler", "MainWorkflow.RouteToAgent"} <= ids
    calls = {(a["module"], a["action"]) for s in graph["states"] for a in s["actions"]}
    assert ("queue", "submit") in calls
    lint = world.client_for("owner").get(f"/api/versions/{world.v1.pk}/lint").json()["findings"]
    assert [f for f in lint if f["severity"] == "error"] == []


@pytest.mark.django_db
def test_an_empty_project_answers_404_for_its_draft_graph_as_it_has_no_entry_document(world: World) -> None:
    client = world.client_for("owner")
    project = client.post(
        "/api/projects", {"team": world.team.pk, "name": "Blank", "starter": "empty"}, content_type="application/json"
    ).json()

    response = client.get(f"/api/projects/{project['id']}/draft/graph")

    assert project["latest"] is None
    assert response.status_code == 404
    assert "no entry document" in response.json()["detail"]


@pytest.mark.django_db
def test_a_token_authenticates_api_clients(world: World) -> None:
    token = Token.objects.create(user=world.viewer)

    response = Client().get("/api/projects", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 200
    assert [p["name"] for p in response.json()["projects"]] == ["Support line"]


@pytest.mark.django_db
def test_the_project_list_shows_only_the_users_teams(world: World) -> None:
    assert world.client_for("outsider").get("/api/projects").json()["projects"] == []
    page = world.client_for("outsider").get("/projects/").content.decode()
    assert "Support line" not in page and "Elsewhere" in page


@pytest.mark.django_db
def test_version_and_file_json(world: World) -> None:
    client = world.client_for("viewer")

    version = client.get(f"/api/versions/{world.v2.pk}").json()
    file = client.get(f"/api/versions/{world.v2.pk}/files/include/starter.js").json()

    assert version["label"] == "v2" and version["author"] == "editor" and version["parent"] == world.v1.pk
    assert {f["path"] for f in version["files"]} >= {"src-gen/Main.scxml", "fakes/default.json"}
    assert version["urls"]["graph"] == f"/api/versions/{world.v2.pk}/graph"
    assert version["fakes"] == ["fakes/default.json"]
    assert version["scenarios"] == ["scenarios/route-to-agent.json"]
    assert file["binary"] is False and "'7100'" in file["content"]
    assert len(file["sha256"]) == 64


@pytest.mark.django_db
def test_the_diff_api_gives_a_unified_diff_per_changed_file(world: World) -> None:
    body = world.client_for("viewer").get(f"/api/versions/{world.v1.pk}/diff/{world.v2.pk}").json()

    changed = [f for f in body["files"] if f["status"] != "unchanged"]
    assert [f["path"] for f in changed] == ["include/starter.js"]
    assert "@@" in changed[0]["diff"] and "+  return '7100';" in changed[0]["diff"]


@pytest.mark.django_db
def test_the_diff_page_shows_text_changes_and_the_visual_diff_urls(world: World) -> None:
    page = world.client_for("viewer").get(f"/versions/{world.v1.pk}/diff/{world.v2.pk}/").content.decode()

    assert "include/starter.js" in page and "return &#x27;7100&#x27;;" in page
    assert f'data-graph-a-url="/api/versions/{world.v1.pk}/graph"' in page
    assert f'data-graph-b-url="/api/versions/{world.v2.pk}/graph"' in page


@pytest.mark.django_db
def test_comments_thread_and_anchor_at_a_file_line(world: World) -> None:
    client = world.client_for("viewer")
    url = f"/api/versions/{world.v2.pk}/comments"

    root = client.post(
        url, {"body": "Why 7100?", "path": "include/starter.js", "line": 12}, content_type="application/json"
    )
    reply = world.client_for("editor").post(
        url, {"body": "New overflow DN", "parent": root.json()["id"]}, content_type="application/json"
    )
    bad_anchor = client.post(url, {"body": "x", "path": "nope.js", "line": 1}, content_type="application/json")
    comments = client.get(url).json()["comments"]

    assert root.status_code == 201 and reply.status_code == 201
    assert [(c["author"], c["parent"], c["path"], c["line"]) for c in comments] == [
        ("viewer", None, "include/starter.js", 12),
        ("editor", root.json()["id"], None, None),
    ]
    assert bad_anchor.status_code == 422 and "no such file" in bad_anchor.json()["detail"]
    page = client.get(f"/versions/{world.v2.pk}/").content.decode()
    assert "Why 7100?" in page and "New overflow DN" in page and "include/starter.js:12" in page


@pytest.mark.django_db
def test_a_revoked_share_link_stops_working_at_once(world: World) -> None:
    visitor = world.client_for("share")
    assert visitor.get(f"/versions/{world.v2.pk}/").status_code == 200

    world.client_for("owner").post(f"/share/{world.link.pk}/revoke/")

    assert visitor.get(f"/versions/{world.v2.pk}/").status_code == 302
    assert visitor.get(f"/api/versions/{world.v2.pk}/graph").status_code == 401
    assert Client().get(f"/s/{world.link.token}/").status_code == 404


@pytest.mark.django_db
def test_an_api_client_can_present_a_share_token_per_request(world: World) -> None:
    response = Client().get(f"/api/versions/{world.v2.pk}?share={world.link.token}")
    other = Client().get(f"/api/versions/{world.v1.pk}?share={world.link.token}")

    assert response.status_code == 200
    assert other.status_code == 401


@pytest.mark.django_db
def test_an_outsider_with_a_share_link_reads_but_cannot_comment(world: World) -> None:
    client = world.client_for("outsider")
    client.get(f"/s/{world.link.token}/")

    assert client.get(f"/versions/{world.v2.pk}/").status_code == 200
    assert client.post(f"/versions/{world.v2.pk}/comments/", {"body": "hi"}).status_code == 403
    assert client.get(f"/projects/{world.project.pk}/").status_code == 404
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_the_share_link_page_lists_active_and_revoked_links_for_editors_only(world: World) -> None:
    editor_page = world.client_for("editor").get(f"/versions/{world.v2.pk}/").content.decode()
    viewer_page = world.client_for("viewer").get(f"/versions/{world.v2.pk}/").content.decode()

    assert f"/s/{world.link.token}/" in editor_page
    assert world.link.token not in viewer_page


@pytest.mark.django_db
def test_the_openapi_schema_describes_the_graph_lint_and_diff_endpoints() -> None:
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert "/api/versions/{version_id}/graph" in schema["paths"]
    assert "/api/versions/{version_id}/lint" in schema["paths"]
    assert "/api/versions/{version_a}/diff/{version_b}" in schema["paths"]


def test_the_api_docs_page_loads_swagger_ui_from_this_server_and_points_at_the_schema() -> None:
    response = Client().get("/api/docs/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    # The page's own configuration is a script file (no inline script: the CSP forbids it).
    [script] = re.findall(r'<script src="(/api/docs/\?script=[^"]*)"', html)
    assert "/api/schema/" in Client().get(script).content.decode()
    assert "cdn" not in html.lower()  # no third-party host: works offline and leaks nothing


@pytest.mark.django_db
def test_the_editor_payload_of_a_draft_carries_texts_and_write_urls(world: World) -> None:
    response = world.client_for("editor").get(f"/projects/{world.project.pk}/draft/editor/")

    payload = response.context["payload"]
    assert payload["readOnly"] is False and payload["mode"] == "draft"
    assert payload["entry"] == "src-gen/IPD_default_Starter.scxml"
    assert "function defaultDestination" in payload["files"]["include/starter.js"]
    assert payload["urls"]["saveVersion"] == f"/api/projects/{world.project.pk}/draft/save"
    assert 'id="editor-data"' in response.content.decode()
    # Completion and block snippets come from the palette (its URL is given, not built by the page).
    palette = world.client_for("editor").get(payload["urls"]["palette"])
    assert palette.status_code == 200 and palette.json()["blocks"][0]["snippet"]


@pytest.mark.django_db
def test_a_version_editor_is_read_only_and_offers_the_draft_only_to_editors(world: World) -> None:
    as_editor = world.client_for("editor").get(f"/versions/{world.v1.pk}/editor/").context["payload"]
    as_viewer = world.client_for("viewer").get(f"/versions/{world.v1.pk}/editor/").context["payload"]

    assert as_editor["readOnly"] is True and "writeFile" not in as_editor["urls"]
    assert as_editor["urls"]["edit"] == f"/projects/{world.project.pk}/draft/editor/"
    assert "edit" not in as_viewer["urls"]


@pytest.mark.django_db
def test_history_of_a_project_page_shows_who_when_and_message(world: World) -> None:
    draft = history.get_or_start_draft(world.project, world.owner)
    history.write_draft_file(draft, "include/x.js", b"var x;\n")
    history.save_draft(draft, "Add x helper")

    page = world.client_for("viewer").get(f"/projects/{world.project.pk}/").content.decode()

    # the labels as the list shows them: a bare "v2" may also occur in the page's random tokens
    assert page.index("<strong>v3</strong>") < page.index("<strong>v2</strong>") < page.index("<strong>v1</strong>")
    assert "Add x helper" in page and "New default route" in page and "by editor" in page


@pytest.mark.django_db
def test_list_endpoints_are_paginated_and_a_thousand_projects_cost_a_fixed_number_of_queries(
    world: World, django_assert_max_num_queries: Any
) -> None:
    Project.objects.bulk_create(
        Project(team=world.team, name=f"Line {i:04}", created_by=world.owner) for i in range(1000)
    )
    client = world.client_for("viewer")

    with django_assert_max_num_queries(12):
        first = client.get("/api/projects").json()
    with django_assert_max_num_queries(12):
        everything = client.get("/api/projects", {"limit": 1000, "offset": 1}).json()
    last = client.get(first["next"].replace("offset=100", "offset=1000")).json()

    assert first["count"] == 1001 and len(first["projects"]) == 100
    assert first["previous"] is None and first["next"].endswith("/api/projects?limit=100&offset=100")
    assert first["projects"][0]["name"] == "Line 0000" and first["projects"][0]["latest"] is None
    assert len(everything["projects"]) == 1000 and everything["next"] is None
    support = next(p for p in client.get("/api/projects", {"limit": 1000, "offset": 1000}).json()["projects"])
    assert support["name"] == "Support line" and support["latest"]["label"] == "v2"
    assert last["projects"] == [support] and last["previous"].endswith("offset=900")
    assert client.get("/api/projects", {"limit": 0}).status_code == 400
    assert client.get("/api/projects", {"limit": "x"}).status_code == 400
    assert client.get("/api/projects", {"limit": 1001}).status_code == 400
    beyond = client.get("/api/projects", {"limit": 91, "offset": 143114418147542293282816})
    assert beyond.status_code == 200 and beyond.json()["projects"] == [] and beyond.json()["next"] is None


@pytest.mark.django_db
def test_every_list_of_the_api_is_a_page(world: World) -> None:
    client = world.client_for("owner")

    for url, key in [
        ("/api/teams", "teams"),
        (f"/api/projects/{world.project.pk}/versions", "versions"),
        (f"/api/versions/{world.v2.pk}/comments", "comments"),
        (f"/api/versions/{world.v2.pk}/share-links", "share_links"),
    ]:
        body = client.get(url, {"limit": 1}).json()
        assert set(body) == {key, "count", "next", "previous"}, url
        assert len(body[key]) == min(1, body["count"]), url
    versions = client.get(f"/api/projects/{world.project.pk}/versions", {"limit": 1, "offset": 1}).json()
    assert [v["label"] for v in versions["versions"]] == ["v1"] and versions["count"] == 2


@pytest.mark.django_db
def test_a_missing_draft_file_is_404_in_the_url_422_in_the_body_and_the_api_reads_json_only(world: World) -> None:
    client = world.client_for("editor")
    base = f"/api/projects/{world.project.pk}/draft"

    assert client.delete(f"{base}/files/nope.js").status_code == 404
    assert client.get(f"{base}/files/a%2Fnope.js").status_code == 404
    assert client.post(f"{base}/delete", {"path": "nope.js"}, content_type="application/json").status_code == 422
    assert client.post(f"{base}/entry", {"path": "nope.scxml"}, content_type="application/json").status_code == 422
    rename = {"path": "nope.js", "new_path": "b.js"}
    assert client.post(f"{base}/rename", rename, content_type="application/json").status_code == 422
    # A path the schema's pattern refuses is a 400, in the body as in the URL.
    assert client.post(f"{base}/entry", {"path": "../x"}, content_type="application/json").status_code == 400
    assert client.put(f"{base}/files/%20x.js", {"content": ""}, content_type="application/json").status_code == 400
    assert client.post(f"{base}/save", {"message": "form-encoded"}).status_code == 415
