"""Login/logout pages, the demo user from `manage.py seed`, the admin, and the root redirect."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client, override_settings

from designer.management.commands.seed import DEMO_PASSWORD, DEMO_USERNAME


def seed() -> str:
    """`manage.py seed` as run.sh runs it in development (DEBUG on; pytest-django turns it off)."""
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("seed", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_creates_the_demo_superuser_and_prints_the_credentials() -> None:
    output = seed()

    user = get_user_model().objects.get(username=DEMO_USERNAME)
    assert user.is_superuser and user.is_staff and user.is_active
    assert user.check_password(DEMO_PASSWORD)
    assert "username 'demo', password 'demo-orchweb'" in output


@pytest.mark.django_db
def test_seed_can_run_again_and_keeps_a_changed_demo_password() -> None:
    seed()
    user = get_user_model().objects.get(username=DEMO_USERNAME)
    user.set_password("changed")
    user.save()

    output = seed()

    assert get_user_model().objects.filter(username=DEMO_USERNAME).count() == 1
    assert get_user_model().objects.get(username=DEMO_USERNAME).check_password("changed")
    assert "The demo user exists; its password was left as it is." in output


@pytest.mark.django_db
def test_the_demo_login_lands_on_projects(client: Client) -> None:
    seed()

    response = client.post("/accounts/login/", {"username": DEMO_USERNAME, "password": DEMO_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/projects/"


@pytest.mark.django_db
def test_the_login_page_shows_the_form_and_no_navigation(client: Client) -> None:
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Log in</h1>" in html
    assert 'name="username"' in html and 'name="password"' in html
    assert 'href="/projects/"' not in html
    assert 'data-ws-ping-url="/ws/ping/"' in html


@pytest.mark.django_db
def test_logout_is_a_post_that_returns_to_the_login_page(client: Client) -> None:
    seed()
    client.login(username=DEMO_USERNAME, password=DEMO_PASSWORD)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.get("/projects/")["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_the_root_redirects_to_projects(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/projects/"


@pytest.mark.django_db
def test_the_page_shell_has_the_navigation_and_messages_for_a_logged_in_user(client: Client) -> None:
    seed()
    client.login(username=DEMO_USERNAME, password=DEMO_PASSWORD)

    html = client.get("/projects/").content.decode()

    for link in ('href="/projects/"', 'href="/simulations/"', 'href="/admin/"'):
        assert link in html
    assert "Log out" in html


@pytest.mark.django_db
def test_a_user_who_is_not_staff_sees_no_admin_link(client: Client) -> None:
    get_user_model().objects.create_user("editor", password="pw-editor-1")
    client.login(username="editor", password="pw-editor-1")

    html = client.get("/projects/").content.decode()

    assert 'href="/projects/"' in html
    assert 'href="/admin/"' not in html


@pytest.mark.django_db
def test_the_demo_user_can_open_the_admin(client: Client) -> None:
    seed()
    client.login(username=DEMO_USERNAME, password=DEMO_PASSWORD)

    response = client.get("/admin/")

    assert response.status_code == 200
    assert "Site administration" in response.content.decode()


@pytest.mark.django_db
def test_the_page_shell_shows_messages(rf) -> None:
    request = rf.get("/projects/")
    SessionMiddleware(lambda r: None).process_request(request)
    MessageMiddleware(lambda r: None).process_request(request)
    request.user = AnonymousUser()
    messages.success(request, "Project imported.")
    messages.error(request, "The file is not SCXML.")

    html = render_to_string("base.html", request=request)

    assert '<li class="ow-message ow-message-success">Project imported.</li>' in html
    assert '<li class="ow-message ow-message-error">The file is not SCXML.</li>' in html


def test_static_files_are_served_by_whitenoise(client: Client) -> None:
    response = client.get("/static/orchweb/base.js")

    assert response.status_code == 200
    assert b"wsReady" in b"".join(response.streaming_content)


@pytest.mark.django_db(transaction=True)
def test_seed_waits_for_the_demo_versions_server_layouts() -> None:
    # The layouts are queued on the command's own thread, which would die with it: the demo's
    # first opens would then run ELK in the browser.
    from designer.models import ServerDiagramLayout, Version
    from designer.serverlayouts import BUNDLED_FINGERPRINT

    with override_settings(DIAGRAM_SERVER_LAYOUTS=True, BATCH_EXECUTOR="local"):
        seed()

    versions = set(Version.objects.values_list("pk", flat=True))
    assert len(versions) >= 2
    laid_out = ServerDiagramLayout.objects.filter(fingerprint=BUNDLED_FINGERPRINT)
    assert set(laid_out.values_list("version_id", flat=True)) == versions
