"""Server-rendered designer pages: creating projects, drafts, share links, comments, bad input."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client, override_settings

from designer.models import Comment, Draft, Invitation, Membership, Project, Role, ShareLink, Team
from tests.designer.conftest import World, make_user


@pytest.mark.django_db
def test_a_new_project_from_the_starter_gets_a_first_version(world: World) -> None:
    response = world.client_for("editor").post(
        "/projects/new/", {"team": world.team.pk, "name": "Sales line", "starter": "basic"}
    )

    project = Project.objects.get(name="Sales line")
    assert response["Location"] == f"/projects/{project.pk}/"
    version = project.latest_version
    assert version.label == "v1" and version.author == world.editor
    assert set(version.file_map()) == {
        "src-gen/IPD_default_Starter.scxml",
        "src-gen/Main.scxml",
        "include/starter.js",
        "fakes/default.json",
        "scenarios/route-to-agent.json",
    }


@pytest.mark.django_db
def test_an_empty_project_is_authored_from_scratch_in_a_draft(world: World) -> None:
    client = world.client_for("editor")
    client.post("/projects/new/", {"team": world.team.pk, "name": "Blank", "starter": "empty"})
    project = Project.objects.get(name="Blank")
    assert project.latest_version is None

    client.post(
        f"/projects/{project.pk}/draft/add/",
        {"path": "src-gen/IPD_Blank.scxml", "content": '<scxml xmlns="http://www.w3.org/2005/07/scxml"/>'},
    )
    saved = client.post(f"/projects/{project.pk}/draft/save/", {"message": "First document"})

    version = project.latest_version
    assert saved["Location"] == f"/versions/{version.pk}/"
    assert version.entry == "src-gen/IPD_Blank.scxml"


@pytest.mark.django_db
def test_a_duplicate_project_name_is_refused_with_400(world: World) -> None:
    response = world.client_for("owner").post(
        "/projects/new/", {"team": world.team.pk, "name": "Support line", "starter": "empty"}
    )

    assert response.status_code == 400
    assert "already has a project named" in response.content.decode()


@pytest.mark.django_db
def test_the_draft_page_adds_renames_and_deletes_files(world: World) -> None:
    client = world.client_for("editor")
    base = f"/projects/{world.project.pk}/draft"

    client.post(f"{base}/add/", {"path": "include/user/extra.js", "content": "var extra;\n"})
    client.post(
        f"{base}/add/", {"path": "fakes/busy.json", "upload": SimpleUploadedFile("busy.json", b'{"rules": []}')}
    )
    client.post(f"{base}/rename/", {"path": "include/user/extra.js", "new_path": "include/user/more.js"})
    client.post(f"{base}/delete/", {"path": "scenarios/route-to-agent.json"})
    page = client.get(f"{base}/").content.decode()

    files = Draft.objects.get(user=world.editor).read_files()
    assert files["include/user/more.js"] == b"var extra;\n"
    assert files["fakes/busy.json"] == b'{"rules": []}'
    assert "include/user/extra.js" not in files and "scenarios/route-to-agent.json" not in files
    assert "include/user/more.js" in page and "modified" in page


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("add", {"path": "../escape.js", "content": "x"}, "would leave the project folder"),
        ("add", {"path": "", "content": "x"}, "This field is required"),
        ("rename", {"path": "missing.js", "new_path": "b.js"}, "no such file in the draft"),
        ("delete", {"path": "/abs.js"}, "absolute paths are not allowed"),
        ("entry", {"path": "nope.scxml"}, "no such file in the draft"),
        ("save", {"message": ""}, "This field is required"),
        ("save", {"message": "nothing changed"}, "Nothing to save"),
        ("start", {"base": "999999"}, "does not belong to this project"),
    ],
)
@pytest.mark.django_db
def test_bad_draft_input_answers_400_with_the_reason(world: World, action: str, data: dict, message: str) -> None:
    response = world.client_for("editor").post(f"/projects/{world.project.pk}/draft/{action}/", data)

    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.django_db
def test_comparing_with_a_non_version_answers_400(world: World) -> None:
    response = world.client_for("viewer").get(f"/versions/{world.v2.pk}/compare/?other=latest")

    assert response.status_code == 400


@pytest.mark.django_db
def test_the_compare_form_redirects_to_the_diff_oldest_first(world: World) -> None:
    response = world.client_for("viewer").get(f"/versions/{world.v2.pk}/compare/?other={world.v1.pk}")

    assert response["Location"] == f"/versions/{world.v1.pk}/diff/{world.v2.pk}/"


@pytest.mark.django_db
def test_an_empty_comment_answers_400(world: World) -> None:
    response = world.client_for("viewer").post(f"/versions/{world.v2.pk}/comments/", {"body": ""})

    assert response.status_code == 400
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_a_share_link_created_on_the_page_opens_the_version_for_anyone(world: World) -> None:
    world.client_for("editor").post(f"/versions/{world.v1.pk}/share/")
    link = ShareLink.objects.get(version=world.v1)
    visitor = Client()
    opened = visitor.get(f"/s/{link.token}/")
    page = visitor.get(f"/versions/{world.v1.pk}/")

    assert opened["Location"] == f"/versions/{world.v1.pk}/"
    assert page.status_code == 200
    assert "shared read-only" in page.content.decode()
    assert visitor.get(f"/versions/{world.v2.pk}/").status_code == 302  # only the shared version


@pytest.mark.django_db
def test_the_version_file_page_numbers_lines_for_anchors(world: World) -> None:
    page = world.client_for("viewer").get(f"/versions/{world.v1.pk}/files/src-gen/Main.scxml").content.decode()

    assert 'id="L1"' in page and 'id="L20"' in page


@pytest.mark.django_db
def test_a_missing_file_of_a_version_is_404(world: World) -> None:
    assert world.client_for("viewer").get(f"/versions/{world.v1.pk}/files/nope.js").status_code == 404


@pytest.mark.django_db
def test_a_user_in_several_teams_sees_each_teams_projects_with_the_role() -> None:
    user = make_user("multi")
    for name, role in (("Alpha", Role.VIEWER), ("Beta", Role.OWNER)):
        team = Team.objects.create(name=name)
        Membership.objects.create(team=team, user=user, role=role)
        Project.objects.create(team=team, name=f"{name} project")
    client = Client()
    client.force_login(user)
    page = client.get("/projects/").content.decode()

    assert "Alpha project" in page and "Beta project" in page
    assert "you are viewer" in page and "you are owner" in page


@pytest.mark.django_db
@override_settings(DEBUG=True)  # seed's demo user is for development (DEBUG off refuses it)
def test_the_seed_command_creates_the_demo_team_and_projects_once() -> None:
    call_command("seed", stdout=StringIO())
    call_command("seed", stdout=StringIO())

    team = Team.objects.get(name="Demo team")
    assert team.memberships.get(user__username="demo").role == "owner"
    projects = {p.name: p for p in team.projects.all()}
    assert set(projects) == {"Starter strategy", "VIP routing"}
    vip = projects["VIP routing"]
    assert [v.label for v in vip.versions.order_by("number")] == ["v1", "v2"]
    assert vip.latest_version.comments.count() == 1
    assert vip.latest_version.share_links.filter(revoked_at__isnull=True).count() == 1
    assert b"CheckVip" in vip.latest_version.read_files()["src-gen/Main.scxml"]


@pytest.mark.django_db
def test_an_owner_invites_a_user_who_sees_the_project_once_they_accept(world: World) -> None:
    invited = world.client_for("owner").post(
        f"/teams/{world.team.pk}/members/", {"username": "outsider", "role": "viewer"}
    )
    outsider = world.client_for("outsider")
    before = outsider.get(f"/projects/{world.project.pk}/").status_code
    teams_page = outsider.get("/teams/").content.decode()
    invitation = Invitation.objects.get(team=world.team, user=world.outsider)

    accepted = outsider.post(f"/invitations/{invitation.pk}/accept/")

    assert invited.status_code == 302 and before == 404  # an invitation is not a membership
    assert "Routing as viewer, from owner" in teams_page
    assert accepted.status_code == 302 and accepted["Location"] == f"/teams/{world.team.pk}/"
    assert outsider.get(f"/projects/{world.project.pk}/").status_code == 200
    assert outsider.get(f"/projects/{world.project.pk}/draft/").status_code == 403
    assert not Invitation.objects.filter(pk=invitation.pk).exists()


@pytest.mark.django_db
def test_a_declined_invitation_grants_nothing(world: World) -> None:
    viewer = world.client_for("viewer")

    declined = viewer.post(f"/invitations/{world.invitation.pk}/decline/")

    assert declined.status_code == 302
    assert not world.other_team.memberships.filter(user=world.viewer).exists()
    assert viewer.get(f"/teams/{world.other_team.pk}/").status_code == 404


@pytest.mark.django_db
def test_the_last_owner_can_be_neither_demoted_nor_removed(world: World) -> None:
    client = world.client_for("owner")

    demoted = client.post(f"/teams/{world.team.pk}/members/", {"username": "owner", "role": "editor"})
    removed = client.post(f"/teams/{world.team.pk}/members/remove/", {"username": "owner"})

    assert demoted.status_code == 400 and removed.status_code == 400
    assert "at least one owner" in demoted.content.decode()
    assert world.team.memberships.get(user=world.owner).role == "owner"


@pytest.mark.django_db
def test_inviting_a_name_answers_the_same_whether_or_not_an_account_has_it(world: World) -> None:
    client = world.client_for("owner")

    def answer(name: str) -> tuple[int, str]:
        response = client.post(f"/teams/{world.team.pk}/members/", {"username": name, "role": "viewer"}, follow=True)
        page = response.content.decode().replace(name, "NAME")
        return response.status_code, page.split('<ul class="ow-messages"', 1)[1].split("</ul>", 1)[0]

    assert answer("ghost") == answer("outsider")
    assert "they are invited to Routing as viewer" in answer("ghost")[1]
    assert Invitation.objects.filter(team=world.team).count() == 1  # the outsider's; no account for ghost


@pytest.mark.django_db
def test_a_new_team_is_owned_by_its_creator(world: World) -> None:
    world.client_for("viewer").post("/teams/", {"name": "Night shift"})

    team = Team.objects.get(name="Night shift")
    assert team.memberships.get().user == world.viewer and team.memberships.get().role == "owner"
    teams = world.client_for("viewer").get("/api/teams").json()["teams"]
    assert {(t["name"], t["role"]) for t in teams} == {("Routing", "viewer"), ("Night shift", "owner")}


@pytest.mark.django_db
def test_the_project_page_links_the_latest_versions_diagram_source_and_simulation(world: World) -> None:
    client = world.client_for("editor")
    client.post("/projects/new/", {"team": world.team.pk, "name": "Quick", "starter": "basic"})
    project = Project.objects.get(name="Quick")
    latest = project.latest_version

    html = client.get(f"/projects/{project.pk}/").content.decode()

    assert f'href="/versions/{latest.pk}/diagram/"' in html
    assert f'href="/versions/{latest.pk}/editor/"' in html
    assert f'href="/simulations/new/?version={latest.pk}"' in html


@pytest.mark.django_db
def test_a_user_without_a_team_is_told_why_creating_a_project_is_refused_in_the_site_page() -> None:
    client = Client()
    client.force_login(make_user("loner"))

    response = client.get("/projects/new/")

    assert response.status_code == 403
    html = response.content.decode()
    assert "Creating a project needs the editor role in a team." in html
    assert 'href="/teams/"' in html  # where to start a team, inside the usual navigation


@pytest.mark.django_db
def test_a_share_link_visitor_can_find_the_log_in_link_back_to_the_same_page(world: World) -> None:
    world.client_for("editor").post(f"/versions/{world.v1.pk}/share/")
    visitor = Client()
    visitor.get(f"/s/{ShareLink.objects.get(version=world.v1).token}/")

    html = visitor.get(f"/versions/{world.v1.pk}/").content.decode()
    login_page = visitor.get("/accounts/login/").content.decode()

    assert f'href="/accounts/login/?next=/versions/{world.v1.pk}/"' in html
    assert "ow-login-link" not in login_page  # not on the login page itself


@pytest.mark.django_db
def test_creating_or_importing_a_project_says_so_on_the_project_page(world: World) -> None:
    client = world.client_for("editor")
    scxml = b'<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"><final id="f"/></scxml>'

    created = client.post(
        "/projects/new/", {"team": world.team.pk, "name": "Fresh", "starter": "basic"}, follow=True
    ).content.decode()
    imported = client.post(
        "/projects/upload/",
        {"team": world.team.pk, "name": "Uploaded", "file": SimpleUploadedFile("Flow.scxml", scxml)},
        follow=True,
    ).content.decode()

    assert "Created Fresh." in created
    assert "Imported Flow.scxml: 1 file(s), entry src-gen/Flow.scxml." in imported


@pytest.mark.django_db
def test_the_admin_and_the_site_pages_name_the_favicon(admin_client: Client) -> None:
    admin = admin_client.get("/admin/").content.decode()
    site = admin_client.get("/projects/").content.decode()

    for html in (admin, site):
        assert '<link rel="icon" href="/static/orchweb/favicon' in html
    assert "Site administration" in admin  # the admin's own page is intact


@pytest.mark.django_db
def test_inviting_offers_the_least_privileged_role_and_a_refused_request_keeps_the_typed_name(world: World) -> None:
    client = world.client_for("owner")

    page = client.get(f"/teams/{world.team.pk}/").content.decode()
    refused = client.post(f"/teams/{world.team.pk}/members/", {"username": "nobody-here", "role": "emperor"})

    assert '<option value="viewer" selected>' in page
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "Select a valid choice" in html
    assert 'value="nobody-here"' in html


@pytest.mark.django_db
def test_a_refused_comment_says_why_on_the_version_page_and_keeps_what_was_typed(world: World) -> None:
    response = world.client_for("viewer").post(
        f"/versions/{world.v2.pk}/comments/", {"body": "Why 7100 here?", "path": "", "line": "12"}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "Your comment was not posted: A line number needs a file path." in page
    assert ">Why 7100 here?</textarea>" in page and 'value="12"' in page
    assert "<h1>" in page  # the site's page, not a bare 400 text


@pytest.mark.django_db
def test_the_first_document_of_an_empty_project_becomes_the_draft_entry(world: World) -> None:
    client = world.client_for("editor")
    project = client.post(
        "/api/projects", {"team": world.team.pk, "name": "Blank", "starter": "empty"}, content_type="application/json"
    ).json()
    files = f"/api/projects/{project['id']}/draft/files"

    js = client.post(files, {"path": "include/a.js", "content": "var a;"}, content_type="application/json").json()
    flow = client.post(
        files,
        {"path": "src-gen/Flow.scxml", "content": '<scxml xmlns="http://www.w3.org/2005/07/scxml"/>'},
        content_type="application/json",
    ).json()

    assert js["entry"] == "" and flow["entry"] == "src-gen/Flow.scxml"
    assert client.get(f"/api/projects/{project['id']}/draft/lint").status_code == 200


@pytest.mark.django_db
def test_the_project_list_page_of_a_thousand_projects_costs_a_fixed_number_of_queries(
    world: World, django_assert_max_num_queries: Any
) -> None:
    Project.objects.bulk_create(
        Project(team=world.team, name=f"Line {i:04}", created_by=world.owner) for i in range(1000)
    )
    client = world.client_for("viewer")

    with django_assert_max_num_queries(12):
        page = client.get("/projects/").content.decode()

    assert page.count("none yet") == 1000
    assert f'href="/versions/{world.v2.pk}/">v2</a>' in page
