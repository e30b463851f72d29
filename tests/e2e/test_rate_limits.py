"""A page whose request is refused for the user's request rate shows the server's reason: the
editor's lint panel says the lint was throttled and when to retry. The live server here allows
one expensive request (graph, lint, export, ...) per minute and user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from designer import history
from designer.management.commands.seed import DEMO_USERNAME
from designer.models import Membership, Project, Role, Team
from designer.starters import load_starter
from orchweb import throttling
from tests.servers import daphne_server, database_url


@pytest.fixture(scope="module")
def server_url(django_db_setup: None) -> Iterator[str]:
    """A live server allowing one expensive request per minute and user."""
    from django.db import connection

    env = {"DATABASE_URL": database_url(connection.settings_dict), "ORCHWEB_RATE_WORK": "1/minute"}
    with daphne_server("live-rates", env) as server:
        yield server.url


def test_the_editor_shows_why_its_lint_was_refused(logged_in_page: Page) -> None:
    page = logged_in_page
    demo = get_user_model().objects.get(username=DEMO_USERNAME)
    throttling.forget(user_pk=demo.pk)  # scaled, Redis keeps the windows of earlier tests' servers
    team = Team.objects.create(name="Rates")
    Membership.objects.create(team=team, user=demo, role=Role.OWNER)
    project = Project.objects.create(team=team, name="Rates", created_by=demo)
    files, entry = load_starter("basic")
    version = history.create_version(project, files, author=demo, message="v1", parent=None, entry=entry)

    page.goto(f"/versions/{version.pk}/editor/")
    page.wait_for_function("document.body.dataset.lintReady === '1'")
    expect(page.locator("#lint-panel")).not_to_contain_text("unavailable")

    page.reload()
    page.wait_for_function("document.body.dataset.lintReady === '1'")
    refused = "Lint unavailable: Request was throttled. Expected available in"
    expect(page.locator("#lint-panel")).to_contain_text(refused)
