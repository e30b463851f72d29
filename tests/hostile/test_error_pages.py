"""Expected refusals show the site's own pages (DEBUG on too), logged in one line; API errors are JSON."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from django.test import override_settings
from django.utils import timezone

from tests.designer.conftest import World, build_world
from tests.servers import ROOT

OWN_404 = "There is nothing here, or it belongs to a team you are not a member of."


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    noisy = [record for record in caplog.records if record.exc_info]
    assert noisy == [], [record.getMessage() for record in noisy]


@override_settings(DEBUG=True)
@pytest.mark.parametrize("path", ["/projects/999999/", "/no/such/page/"])
def test_a_404_is_the_site_page_even_in_debug(world: World, path: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    response = world.client_for("owner").get(path)

    assert response.status_code == 404
    page = response.content.decode()
    assert OWN_404 in page and "ow-topbar" in page
    assert "URLconf" not in page and "technical" not in page.lower()
    no_tracebacks(caplog)
    assert [r.getMessage() for r in caplog.records if r.name == "django.request"] == [f"Not Found: {path}"]


@override_settings(DEBUG=True)
def test_a_revoked_share_link_is_the_site_404_page_in_one_log_line(world: World, caplog) -> None:
    world.link.revoked_at = timezone.now()
    world.link.save()
    caplog.set_level(logging.INFO)

    response = world.client_for("anonymous").get(f"/s/{world.link.token}/")

    assert response.status_code == 404
    assert OWN_404 in response.content.decode()
    no_tracebacks(caplog)


@override_settings(DEBUG=True)
def test_a_403_is_the_site_page_with_the_reason_and_no_traceback(world: World, caplog) -> None:
    caplog.set_level(logging.INFO)

    response = world.client_for("viewer").get("/projects/new/")

    assert response.status_code == 403
    assert "Creating a project needs the editor role in a team." in response.content.decode()
    no_tracebacks(caplog)
    assert [r.getMessage() for r in caplog.records if r.name == "django.request"] == ["Forbidden: /projects/new/"]


@override_settings(DEBUG=True)
def test_an_api_client_gets_json_for_an_unknown_url(world: World) -> None:
    response = world.client_for("owner").get("/api/no-such-thing", HTTP_ACCEPT="application/json")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_the_api_answers_json_503_when_the_database_is_down() -> None:
    # A separate process whose database is unreachable (nothing listens on port 1).
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client(raise_request_exception=False).get('/api/projects', HTTP_AUTHORIZATION='Token abc',"
        " HTTP_ACCEPT='application/json');"
        "print(json.dumps({'status': r.status_code, 'type': r['Content-Type'], 'body': r.content.decode()}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": "postgres://nobody@db-host.invalid:1/x",
        "DEBUG": "1",
    }
    env.pop("REDIS_URL", None)

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert (answer["status"], answer["type"]) == (503, "application/json")
    assert json.loads(answer["body"]) == {"detail": "The database is not reachable; try again shortly."}
    assert "db-host.invalid" not in answer["body"]
    assert "Traceback" not in result.stderr


def test_an_api_client_gets_json_for_an_error_django_answers_with_an_empty_page(world: World) -> None:
    # Django's View answers a method it does not serve with an empty text/html 405.
    response = world.client_for("owner").post("/api/docs/")

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Method Not Allowed."}
    assert response["Allow"] == "GET, HEAD, OPTIONS"
