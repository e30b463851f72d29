"""Security settings in scaled mode come from the environment and pass `check --deploy`."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from django.test import Client

from orchweb.security import POLICY
from tests.designer.conftest import World, build_world
from tests.servers import ROOT

# The README's "Running scaled" environment (the database is not contacted by `check`).
README_SCALED = {
    "DATABASE_URL": "postgres://orchweb:secret@db.internal:5432/orchweb",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "DEBUG": "0",
    "SECRET_KEY": "kQ7-vR2_xL9pW4zN8mT3bY6cH1jF5sD0gA" * 2,
    "ALLOWED_HOSTS": "orchweb.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://orchweb.example.com",
}
CONFIG = ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS")


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG and not k.startswith("ORCHWEB_")}
    clean["DJANGO_SETTINGS_MODULE"] = "orchweb.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_readme_scaled_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", **README_SCALED)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_plain_http_can_be_chosen_and_then_check_deploy_says_so() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", **README_SCALED, ORCHWEB_HTTPS="0")

    assert result.returncode != 0
    assert "SESSION_COOKIE_SECURE" in result.stdout + result.stderr


def settings_of(**env: str) -> dict[str, object]:
    script = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        "print(json.dumps({k: getattr(s, k) for k in ('SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE',"
        " 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'CONTENT_SECURITY_POLICY')}))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG and not k.startswith("ORCHWEB_")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "orchweb.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    import json

    return json.loads(result.stdout)


def test_https_settings_follow_debug_and_the_environment() -> None:
    assert settings_of(**README_SCALED) == {
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "CONTENT_SECURITY_POLICY": True,
    }
    embedded = settings_of()
    assert (embedded["SECURE_SSL_REDIRECT"], embedded["SESSION_COOKIE_SECURE"], embedded["SECURE_HSTS_SECONDS"]) == (
        False,
        False,
        0,
    )
    assert settings_of(**README_SCALED, ORCHWEB_HSTS_SECONDS="600", ORCHWEB_CSP="0") | {} == {
        **settings_of(**README_SCALED),
        "SECURE_HSTS_SECONDS": 600,
        "CONTENT_SECURITY_POLICY": False,
    }


@pytest.fixture
def world(db: None) -> World:
    return build_world()


# A json_script data block (type="application/json") is not executed, and the CSP allows it.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def test_pages_carry_the_csp_and_have_no_inline_script(world: World, settings) -> None:
    settings.CONTENT_SECURITY_POLICY = True  # as with DEBUG=0
    client = world.client_for("owner")
    version = world.v2
    pages = [
        "/accounts/login/",
        "/projects/",
        f"/projects/{world.project.pk}/",
        f"/versions/{version.pk}/",
        f"/versions/{version.pk}/diagram/",
        f"/projects/{world.project.pk}/draft/",
        "/simulations/",
        "/batches/",
        f"/teams/{world.team.pk}/",
        "/api/docs/",
    ]
    for path in pages:
        response = client.get(path, follow=True)
        assert response.status_code == 200, path
        assert response["Content-Security-Policy"] == POLICY, path
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), (path, INLINE_SCRIPT.search(html))
        assert not EVENT_HANDLER.search(html), (path, EVENT_HANDLER.search(html))


@pytest.mark.django_db
def test_health_endpoints_are_not_redirected_to_https_for_the_load_balancer(settings) -> None:
    settings.SECURE_SSL_REDIRECT = True

    assert Client().get("/projects/").status_code == 301
    assert Client().get("/healthz").status_code == 200
