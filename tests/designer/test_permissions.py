"""Permission matrix: every designer page and API endpoint x owner/editor/viewer/outsider/anonymous/share.

Each case asserts the exact status code for each actor on a fresh database. The URL conf is
enumerated: a `designer-*` route without a case, or any other route not listed in OTHER_ROUTES
with the place it is tested, fails `test_every_route_of_the_url_conf_is_in_the_matrix` — new
endpoints must be added here.

Actors: owner/editor/viewer of the project's team; outsider = a logged-in user who owns another
team; anonymous; share = an anonymous visitor who opened the share link of version v2.
Rules: outsider 404, role too low 403, anonymous pages 302 to the login page, anonymous API 401,
share link = read-only access to v2 and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver

from designer import history
from designer.importing import export_zip
from designer.models import Role
from designer.permissions import AuthenticationRequired, get_version_for_user, role_in_team
from designer.starters import load_starter
from simulator.models import BatchRun, Simulation
from tests.designer.conftest import World, build_world
from tests.designer.test_openapi import documented_codes

ACTORS = ("owner", "editor", "viewer", "outsider", "anonymous", "share")
LOGIN_URL = "/accounts/login/"

#: Routes of other apps: where their access rules are tested. Add new ones here (or a Case below).
OTHER_ROUTES = {
    "orchweb-home": "redirect to the project list; tests/test_auth.py",
    "orchweb-healthz": "public health check; tests/test_healthz.py",
    "orchweb-readyz": "public readiness check; tests/hostile/test_health.py",
    "login": "Django auth; tests/test_auth.py",
    "logout": "Django auth; tests/test_auth.py",
    "password_change": "Django auth (login required)",
    "password_change_done": "Django auth (login required)",
    "password_reset": "Django auth (public)",
    "password_reset_done": "Django auth (public)",
    "password_reset_confirm": "Django auth (token)",
    "password_reset_complete": "Django auth (public)",
    "simulator-simulation-list": "simulator pages (login required); tests/simulator/test_pages.py",
    "simulator-simulation-new": "simulator pages (version viewers); tests/simulator/test_pages.py",
    "simulator-simulation-detail": "simulator pages (owner, or shared to viewers); tests/simulator/test_pages.py",
    "simulator-simulation-delete": "owner only (watchers 403, others 404); tests/simulator/test_pages.py",
    "simulator-simulation-trace": "as the simulation page; tests/simulator",
    "simulator-simulation-recipe": "as the simulation page; tests/simulator",
    "simulator-simulation-import": "editors of a team; tests/simulator",
    "simulator-version-simulate": "simulator pages (version viewers); tests/simulator/test_pages.py",
}

SCXML = b'<?xml version="1.0"?>\n<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"><state id="a"/></scxml>\n'


def starter_zip() -> bytes:
    files, _ = load_starter("basic")
    return export_zip(files)


@dataclass
class Case:
    route: str
    method: str
    url: Callable[[World], str]
    expected: tuple[int, int, int, int, int, int]
    data: Callable[[World], dict[str, Any]] | None = None
    kind: str = "form"  # form | multipart | json
    prepare: Callable[[World, AbstractBaseUser], None] | None = field(default=None)

    @property
    def id(self) -> str:
        return f"{self.route}-{self.method}"


def change_draft(world: World, user: AbstractBaseUser) -> None:
    """Give the user's draft a change so that saving it is possible."""
    draft = history.get_or_start_draft(world.project, user)
    history.write_draft_file(draft, "include/extra.js", b"var extra = 1;\n")


def editor_simulation(world: World) -> int:
    """A simulation of v1 owned by the editor (not shared): only its owner may save it as a scenario."""
    simulation, _ = Simulation.objects.get_or_create(owner=world.editor, version=world.v1)
    return simulation.pk


def editor_batch(world: World) -> int:
    """A finished batch of v1 started by the editor: team members read it, its owner or a team
    owner cancels it."""
    run, _ = BatchRun.objects.get_or_create(
        owner=world.editor, version=world.v1, defaults={"count": 3, "done": 3, "status": "done", "report": {}}
    )
    return run.pk


B = lambda suffix: (lambda w: f"/batches/{editor_batch(w)}/{suffix}")  # noqa: E731
P = lambda path: (lambda w: path.format(p=w.project.pk, v1=w.v1.pk, v2=w.v2.pk, link=w.link.pk, token=w.link.token))  # noqa: E731

PAGE_READ = (200, 200, 200, 404, 302, 302)
PAGE_EDIT = (200, 200, 403, 404, 302, 302)
PAGE_EDIT_POST = (302, 302, 403, 404, 302, 302)
PAGE_SHARED = (200, 200, 200, 404, 302, 200)
API_READ = (200, 200, 200, 404, 401, 401)
API_EDIT = (200, 200, 403, 404, 401, 401)
API_SHARED = (200, 200, 200, 404, 401, 200)

CASES = [
    # ---- pages
    Case("designer-project-list", "get", P("/projects/"), (200, 200, 200, 200, 302, 302)),
    Case("designer-project-new", "get", P("/projects/new/"), (200, 200, 403, 200, 302, 302)),
    Case(
        "designer-project-new",
        "post",
        P("/projects/new/"),
        (302, 302, 403, 400, 302, 302),
        data=lambda w: {"team": w.team.pk, "name": "Fresh", "starter": "basic"},
    ),
    Case("designer-project-upload", "get", P("/projects/upload/"), (200, 200, 403, 200, 302, 302)),
    Case(
        "designer-project-upload",
        "post",
        P("/projects/upload/"),
        (302, 302, 403, 400, 302, 302),
        data=lambda w: {"team": w.team.pk, "name": "Uploaded", "file": SimpleUploadedFile("Flow.scxml", SCXML)},
        kind="multipart",
    ),
    Case("designer-project-detail", "get", P("/projects/{p}/"), PAGE_READ),
    Case("designer-version-upload", "get", P("/projects/{p}/upload/"), PAGE_EDIT),
    Case(
        "designer-version-upload",
        "post",
        P("/projects/{p}/upload/"),
        PAGE_EDIT_POST,
        data=lambda w: {"file": SimpleUploadedFile("p.zip", starter_zip()), "message": "re-upload", "parent": w.v2.pk},
        kind="multipart",
    ),
    Case("designer-draft-detail", "get", P("/projects/{p}/draft/"), PAGE_EDIT),
    Case("designer-draft-editor", "get", P("/projects/{p}/draft/editor/"), PAGE_EDIT),
    Case("designer-draft-diagram", "get", P("/projects/{p}/draft/diagram/"), PAGE_EDIT),
    Case(
        "designer-draft-start",
        "post",
        P("/projects/{p}/draft/start/"),
        PAGE_EDIT_POST,
        data=lambda w: {"base": w.v1.pk},
    ),
    Case(
        "designer-draft-file-add",
        "post",
        P("/projects/{p}/draft/add/"),
        PAGE_EDIT_POST,
        data=lambda w: {"path": "include/new.js", "content": "var x = 1;\n"},
    ),
    Case(
        "designer-draft-file-rename",
        "post",
        P("/projects/{p}/draft/rename/"),
        PAGE_EDIT_POST,
        data=lambda w: {"path": "include/starter.js", "new_path": "include/helpers.js"},
    ),
    Case(
        "designer-draft-file-delete",
        "post",
        P("/projects/{p}/draft/delete/"),
        PAGE_EDIT_POST,
        data=lambda w: {"path": "fakes/default.json"},
    ),
    Case(
        "designer-draft-set-entry",
        "post",
        P("/projects/{p}/draft/entry/"),
        PAGE_EDIT_POST,
        data=lambda w: {"path": "src-gen/Main.scxml"},
    ),
    Case(
        "designer-draft-save",
        "post",
        P("/projects/{p}/draft/save/"),
        PAGE_EDIT_POST,
        data=lambda w: {"message": "More"},
        prepare=change_draft,
    ),
    Case("designer-draft-rebase", "post", P("/projects/{p}/draft/rebase/"), PAGE_EDIT_POST),
    Case("designer-draft-discard", "post", P("/projects/{p}/draft/discard/"), PAGE_EDIT_POST),
    Case("designer-version-detail", "get", P("/versions/{v2}/"), PAGE_SHARED),
    Case("designer-version-detail", "get", P("/versions/{v1}/"), PAGE_READ),
    Case("designer-version-file", "get", P("/versions/{v2}/files/src-gen/Main.scxml"), PAGE_SHARED),
    Case("designer-version-export", "get", P("/versions/{v2}/export.zip"), PAGE_SHARED),
    Case("designer-version-editor", "get", P("/versions/{v2}/editor/"), PAGE_SHARED),
    Case("designer-version-diagram", "get", P("/versions/{v2}/diagram/"), PAGE_SHARED),
    Case("designer-version-compare", "get", P("/versions/{v2}/compare/?other={v1}"), (302, 302, 302, 404, 302, 302)),
    Case("designer-version-diff", "get", P("/versions/{v1}/diff/{v2}/"), PAGE_READ),
    Case("designer-sharelink-create", "post", P("/versions/{v2}/share/"), PAGE_EDIT_POST),
    Case("designer-sharelink-revoke", "post", P("/share/{link}/revoke/"), PAGE_EDIT_POST),
    Case("designer-sharelink-open", "get", P("/s/{token}/"), (302, 302, 302, 302, 302, 302)),
    Case(
        "designer-comment-create",
        "post",
        P("/versions/{v2}/comments/"),
        (302, 302, 302, 404, 302, 302),
        data=lambda w: {"body": "Looks right", "path": "src-gen/Main.scxml", "line": 3},
    ),
    Case("designer-team-list", "get", P("/teams/"), (200, 200, 200, 200, 302, 302)),
    Case(
        "designer-team-list",
        "post",
        P("/teams/"),
        (302, 302, 302, 302, 302, 302),
        data=lambda w: {"name": "Fresh team"},
    ),
    Case("designer-team-detail", "get", lambda w: f"/teams/{w.team.pk}/", PAGE_READ),
    Case(
        "designer-membership-set",
        "post",
        lambda w: f"/teams/{w.team.pk}/members/",
        (302, 403, 403, 404, 302, 302),
        data=lambda w: {"username": "outsider", "role": "viewer"},
    ),
    Case(
        "designer-membership-remove",
        "post",
        lambda w: f"/teams/{w.team.pk}/members/remove/",
        (302, 302, 403, 404, 302, 302),
        data=lambda w: {"username": "editor"},
    ),
    Case(
        "designer-invitation-accept",
        "post",
        lambda w: f"/invitations/{w.invitation.pk}/accept/",
        (404, 404, 302, 404, 302, 302),  # only the invitee (the viewer); nobody else learns it exists
    ),
    Case(
        "designer-invitation-decline",
        "post",
        lambda w: f"/invitations/{w.invitation.pk}/decline/",
        (404, 404, 302, 404, 302, 302),
    ),
    # ---- batch pages (simulator/batch_views.py; behaviour in tests/simulator/test_batch_web.py)
    Case("simulator-batch-list", "get", P("/batches/"), (200, 200, 200, 200, 302, 302)),
    Case("simulator-batch-detail", "get", B(""), PAGE_READ),
    Case("simulator-batch-csv", "get", B("report.csv"), PAGE_READ),
    Case("simulator-batch-json", "get", B("report.json"), PAGE_READ),
    Case("simulator-batch-start", "post", P("/versions/{v1}/batches/"), PAGE_EDIT_POST, data=lambda w: {"count": 5}),
    Case("simulator-batch-cancel", "post", B("cancel/"), (302, 302, 403, 404, 302, 302)),
    # ---- API
    Case("designer-api-schema", "get", P("/api/schema/"), (200, 200, 200, 200, 200, 200)),
    Case("designer-api-docs", "get", P("/api/docs/"), (200, 200, 200, 200, 200, 200)),
    Case("designer-api-team-list", "get", P("/api/teams"), (200, 200, 200, 200, 401, 401)),
    Case("designer-api-project-list", "get", P("/api/projects"), (200, 200, 200, 200, 401, 401)),
    Case(
        "designer-api-project-list",
        "post",
        P("/api/projects"),
        (201, 201, 403, 422, 401, 401),
        data=lambda w: {"team": w.team.pk, "name": "Via API", "starter": "basic"},
        kind="json",
    ),
    Case("designer-api-project-detail", "get", P("/api/projects/{p}"), API_READ),
    Case("designer-api-version-list", "get", P("/api/projects/{p}/versions"), API_READ),
    Case(
        "designer-api-version-list",
        "post",
        P("/api/projects/{p}/versions"),
        (201, 201, 403, 404, 401, 401),
        data=lambda w: {"file": SimpleUploadedFile("p.zip", starter_zip()), "message": "api upload", "parent": w.v2.pk},
        kind="multipart",
    ),
    Case("designer-api-draft", "get", P("/api/projects/{p}/draft"), API_EDIT),
    Case("designer-api-draft-discard", "post", P("/api/projects/{p}/draft/discard"), (204, 204, 403, 404, 401, 401)),
    Case(
        "designer-api-draft-files",
        "post",
        P("/api/projects/{p}/draft/files"),
        (201, 201, 403, 404, 401, 401),
        data=lambda w: {"path": "include/x.js", "content": "var x;\n"},
        kind="json",
    ),
    Case("designer-api-draft-file", "get", P("/api/projects/{p}/draft/files/include/starter.js"), API_EDIT),
    Case(
        "designer-api-draft-file",
        "put",
        P("/api/projects/{p}/draft/files/include/starter.js"),
        API_EDIT,
        data=lambda w: {"content": "// emptied\n"},
        kind="json",
    ),
    Case(
        "designer-api-draft-file",
        "delete",
        P("/api/projects/{p}/draft/files/include/starter.js"),
        (204, 204, 403, 404, 401, 401),
    ),
    Case(
        "designer-api-draft-rename",
        "post",
        P("/api/projects/{p}/draft/rename"),
        API_EDIT,
        data=lambda w: {"path": "include/starter.js", "new_path": "include/h.js"},
        kind="json",
    ),
    Case(
        "designer-api-draft-delete",
        "post",
        P("/api/projects/{p}/draft/delete"),
        (204, 204, 403, 404, 401, 401),
        data=lambda w: {"path": "fakes/default.json"},
        kind="json",
    ),
    Case(
        "designer-api-draft-entry",
        "post",
        P("/api/projects/{p}/draft/entry"),
        API_EDIT,
        data=lambda w: {"path": "src-gen/Main.scxml"},
        kind="json",
    ),
    Case(
        "designer-api-draft-save",
        "post",
        P("/api/projects/{p}/draft/save"),
        (201, 201, 403, 404, 401, 401),
        data=lambda w: {"message": "api save"},
        kind="json",
        prepare=change_draft,
    ),
    Case("designer-api-draft-rebase", "post", P("/api/projects/{p}/draft/rebase"), API_EDIT, kind="json"),
    Case("designer-api-draft-graph", "get", P("/api/projects/{p}/draft/graph"), API_EDIT),
    Case(
        "designer-api-draft-diagram-layout",
        "post",
        P("/api/projects/{p}/draft/diagram-layout"),
        (204, 204, 403, 404, 401, 401),
        data=lambda w: {
            "entry": "src-gen/Main.scxml",
            "key": "abc123",
            "layout": {"width": 100, "height": 50, "children": [], "edges": []},
        },
        kind="json",
    ),
    Case("designer-api-draft-lint", "get", P("/api/projects/{p}/draft/lint"), API_EDIT),
    Case("designer-api-version-detail", "get", P("/api/versions/{v2}"), API_SHARED),
    Case("designer-api-version-detail", "get", P("/api/versions/{v1}"), API_READ),
    Case("designer-api-version-file", "get", P("/api/versions/{v2}/files/include/starter.js"), API_SHARED),
    Case("designer-api-version-export", "get", P("/api/versions/{v2}/export"), API_SHARED),
    Case("designer-api-version-graph", "get", P("/api/versions/{v2}/graph"), API_SHARED),
    Case("designer-api-version-lint", "get", P("/api/versions/{v2}/lint"), API_SHARED),
    Case(
        "designer-api-version-layout",
        "post",
        P("/api/versions/{v2}/layout"),
        (204, 204, 204, 404, 401, 401),  # kept for its poster (shared when a writer): a share link's visitor keeps none
        data=lambda w: {
            "entry": "src-gen/Main.scxml",
            "key": "abc123",
            "layout": {"width": 100, "height": 50, "children": [], "edges": []},
        },
        kind="json",
    ),
    Case(
        "designer-api-fonts",
        "post",
        P("/api/fonts"),
        (200, 200, 200, 200, 401, 401),  # every signed-in user's browser reports its widths; nobody else's
        data=lambda w: {"table": {"12px sans-serif": {"a": 7.25}}},
        kind="json",
    ),
    Case("designer-api-version-diff", "get", P("/api/versions/{v1}/diff/{v2}"), API_READ),
    Case("designer-api-comment-list", "get", P("/api/versions/{v2}/comments"), API_SHARED),
    Case(
        "designer-api-comment-list",
        "post",
        P("/api/versions/{v2}/comments"),
        (201, 201, 201, 404, 401, 401),
        data=lambda w: {"body": "Ship it", "path": "src-gen/Main.scxml", "line": 5},
        kind="json",
    ),
    Case("designer-api-sharelink-list", "get", P("/api/versions/{v2}/share-links"), API_EDIT),
    Case("designer-api-sharelink-list", "post", P("/api/versions/{v2}/share-links"), (201, 201, 403, 404, 401, 401)),
    Case("designer-api-sharelink-detail", "delete", P("/api/share-links/{link}"), (204, 204, 403, 404, 401, 401)),
    Case("simulator-api-version-batches", "get", P("/api/versions/{v1}/batches"), API_READ),
    Case(
        "simulator-api-version-batches",
        "post",
        P("/api/versions/{v1}/batches"),
        (201, 201, 403, 404, 401, 401),
        data=lambda w: {"count": 5, "vary": {"ani": ["1", "2"]}},
        kind="json",
    ),
    Case("simulator-api-batch-list", "get", P("/api/batches"), (200, 200, 200, 200, 401, 401)),
    Case("simulator-api-batch-detail", "get", lambda w: f"/api/batches/{editor_batch(w)}", API_READ),
    Case(
        "simulator-api-batch-cancel",
        "post",
        lambda w: f"/api/batches/{editor_batch(w)}/cancel",
        (200, 200, 403, 404, 401, 401),
        kind="json",
    ),
    Case("designer-api-authoring-palette", "get", P("/api/authoring/palette"), (200, 200, 200, 200, 401, 401)),
    Case(
        "designer-api-draft-edit",
        "post",
        P("/api/projects/{p}/draft/edit"),
        API_EDIT,
        data=lambda w: {
            "path": "src-gen/Main.scxml",
            "op": "set_attribute",
            "element": "Exit1",
            "name": "_n",
            "value": "1",
        },
        kind="json",
    ),
    Case("designer-api-draft-edit", "get", P("/api/projects/{p}/draft/edit?path=src-gen/Main.scxml"), API_EDIT),
    Case("designer-api-draft-layout", "get", P("/api/projects/{p}/draft/layout"), API_EDIT),
    # ---- Tests tab (scenarios): reading a version's verdicts = reading it; running = any member
    Case("designer-version-tests", "get", P("/versions/{v2}/tests/"), PAGE_SHARED),
    Case("designer-version-tests", "post", P("/versions/{v2}/tests/"), (200, 200, 200, 404, 302, 403)),
    Case(
        "designer-version-replay",
        "get",
        P("/versions/{v2}/tests/replay/?scenario=scenarios/route-to-agent.json"),
        (302, 302, 302, 404, 302, 403),  # members: to their replay in the simulator
    ),
    Case("designer-draft-tests", "get", P("/projects/{p}/draft/tests/"), PAGE_EDIT),
    Case("designer-draft-tests", "post", P("/projects/{p}/draft/tests/"), (200, 200, 403, 404, 302, 302)),
    Case(
        "designer-draft-replay",
        "get",
        P("/projects/{p}/draft/tests/replay/?scenario=scenarios/route-to-agent.json"),
        PAGE_EDIT_POST,
    ),
    Case("designer-api-version-scenarios", "get", P("/api/versions/{v2}/scenarios"), API_SHARED),
    Case(
        "designer-api-version-scenarios",
        "post",
        P("/api/versions/{v2}/scenarios"),
        (200, 200, 200, 404, 401, 403),
        kind="json",
    ),
    Case("designer-api-draft-scenarios", "get", P("/api/projects/{p}/draft/scenarios"), API_EDIT),
    Case("designer-api-draft-scenarios", "post", P("/api/projects/{p}/draft/scenarios"), API_EDIT, kind="json"),
    Case(
        "designer-api-draft-scenario-validate",
        "post",
        P("/api/projects/{p}/draft/scenarios/validate"),
        API_EDIT,
        data=lambda w: {"scenario": {"expect": [{"errors": 0}]}},
        kind="json",
    ),
    Case(
        "designer-api-simulation-scenario",
        "get",
        lambda w: f"/api/simulations/{editor_simulation(w)}/scenario",
        (403, 200, 403, 404, 401, 401),
    ),
    Case(
        "designer-api-simulation-scenario",
        "post",
        lambda w: f"/api/simulations/{editor_simulation(w)}/scenario",
        (403, 201, 403, 404, 401, 401),
        data=lambda w: {"path": "scenarios/saved.json", "scenario": {"expect": [{"errors": 0}]}},
        kind="json",
    ),
    Case(
        "designer-api-draft-layout",
        "put",
        P("/api/projects/{p}/draft/layout"),
        API_EDIT,
        data=lambda w: {"files": {}},
        kind="json",
    ),
]


def all_routes() -> list[tuple[str | None, str | None, str]]:
    """(namespace, name, pattern) of every route of the URL conf."""

    def walk(patterns: list[Any], prefix: str, namespace: str | None) -> Any:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), entry.namespace or namespace)
            elif isinstance(entry, URLPattern):
                yield namespace, entry.name, prefix + str(entry.pattern)

    return list(walk(get_resolver().url_patterns, "", None))


def test_every_route_of_the_url_conf_is_in_the_matrix() -> None:
    covered = {case.route for case in CASES}
    missing = []
    for namespace, name, pattern in all_routes():
        if namespace == "admin":
            continue  # Django admin: staff-only by Django itself
        if name is None or (name not in covered and name not in OTHER_ROUTES):
            missing.append(f"{name} ({pattern})")
    assert not missing, "routes missing from the permission matrix: " + ", ".join(missing)


def test_the_matrix_lists_no_route_that_does_not_exist() -> None:
    names = {name for _, name, _ in all_routes()}
    assert {case.route for case in CASES} <= names
    assert set(OTHER_ROUTES) <= names


def request(client: Any, case: Case, world: World) -> Any:
    url = case.url(world)
    data = case.data(world) if case.data else {}
    method = getattr(client, case.method)
    if case.kind == "json":
        return method(url, data=data, content_type="application/json")
    if case.kind == "multipart" or case.method in {"get", "post"}:
        return method(url, data=data)
    return method(url)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
@pytest.mark.django_db
def test_access(case: Case, actor: str) -> None:
    world = build_world()
    if case.prepare is not None and actor in {"owner", "editor"}:
        case.prepare(world, getattr(world, actor))
    client = world.client_for(actor)

    response = request(client, case, world)

    expected = case.expected[ACTORS.index(actor)]
    assert response.status_code == expected, (
        f"{case.method.upper()} {case.url(world)} as {actor}: {response.status_code} != {expected}\n"
        f"{response.content[:500]!r}"
    )
    if expected == 302 and actor in {"anonymous", "share"} and case.route != "designer-sharelink-open":
        assert response["Location"].startswith(LOGIN_URL)
    if expected == 401:
        assert "WWW-Authenticate" in response
    if case.route.startswith(("designer-api-", "simulator-api-")) and case.route not in {
        "designer-api-schema",
        "designer-api-docs",
    }:
        pattern = next(p for _, name, p in all_routes() if name == case.route)
        assert str(response.status_code) in documented_codes(pattern, case.method), "undocumented status code"


def test_get_version_for_user_is_the_public_check_other_apps_call(world: World) -> None:
    assert get_version_for_user(world.viewer, world.v1.pk) == world.v1
    assert get_version_for_user(world.editor, world.v1.pk, required=Role.EDITOR) == world.v1
    with pytest.raises(PermissionDenied):
        get_version_for_user(world.viewer, world.v1.pk, required=Role.EDITOR)
    with pytest.raises(Http404):
        get_version_for_user(world.outsider, world.v1.pk)
    with pytest.raises(Http404):
        get_version_for_user(world.viewer, 999_999)
    with pytest.raises(AuthenticationRequired):
        get_version_for_user(AnonymousUser(), world.v2.pk)
    # A share token grants viewer access to its version only, whoever holds it.
    assert get_version_for_user(AnonymousUser(), world.v2.pk, [world.link.token]) == world.v2
    assert get_version_for_user(world.outsider, world.v2.pk, [world.link.token]) == world.v2
    with pytest.raises(AuthenticationRequired):
        get_version_for_user(AnonymousUser(), world.v1.pk, [world.link.token])
    world.link.revoke()
    with pytest.raises(Http404):
        get_version_for_user(world.outsider, world.v2.pk, [world.link.token])


def test_a_role_is_read_from_the_membership_table_alone(world: World) -> None:
    # Membership's default ordering (team and user names) would join both tables to a lookup
    # of one row at most.
    with CaptureQueriesContext(connection) as queries:
        assert role_in_team(world.editor, world.team.pk) == Role.EDITOR
        assert role_in_team(world.outsider, world.team.pk) is None

    assert [query["sql"].count("JOIN") for query in queries.captured_queries] == [0, 0]
