"""Per-user quota of concurrent batch jobs (issue 11) across processes: one user firing batch
starts at two Daphne processes at once gets exactly BATCH_MAX_CONCURRENT_PER_USER of them; the
rest are refused with 429, because the count is taken in the database under a lock of the
user's row, not in a process's memory.

Scaled pass: two processes sharing PostgreSQL (SQLite has no row locks between processes).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from designer import history
from designer.models import Membership, Project, Role, Team
from designer.starters import load_starter
from tests.hostile.conftest import http, json_of, server_env
from tests.servers import RunningServer, daphne_server

pytestmark = [pytest.mark.scaled, pytest.mark.django_db(transaction=True)]

ATTEMPTS = 8
#: each process drives one run at a time in its own thread (the others wait queued and count too)
SERVER_ENV = {"ORCHWEB_BATCH_POOL_WORKERS": "1", "ORCHWEB_BATCH_RUNNING_PER_PROCESS": "1"}


@pytest.fixture(scope="module")
def two_servers(django_db_setup: None) -> Iterator[tuple[RunningServer, RunningServer]]:
    if not os.environ.get("DATABASE_URL"):
        pytest.fail("the scaled run needs DATABASE_URL (PostgreSQL shared by both processes)")
    env = {**server_env(), **SERVER_ENV}
    with daphne_server("batch-quota-a", env) as first, daphne_server("batch-quota-b", env) as second:
        yield first, second


def editor_token() -> tuple[str, int]:
    """A user owning a team and a project with one version: their API token and the version id."""
    user = get_user_model().objects.create_user("flooder", password="pw-flooder-1")
    team = Team.objects.create(name="Flood")
    Membership.objects.create(team=team, user=user, role=Role.OWNER)
    project = Project.objects.create(team=team, name="Starter", created_by=user)
    files, entry = load_starter("basic")
    version = history.create_version(project, files, author=user, message="starter", parent=None, entry=entry)
    return Token.objects.create(user=user).key, version.pk


def test_concurrent_starts_at_two_processes_get_exactly_the_per_user_limit(
    two_servers: tuple[RunningServer, RunningServer],
) -> None:
    token, version_id = editor_token()
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    body = json.dumps({"count": 1_000_000, "seed": 1}).encode()

    def attempt(index: int) -> tuple[int, dict]:
        server = two_servers[index % 2]
        status, _, content = http(f"{server.url}/api/versions/{version_id}/batches", "POST", body, headers)
        return status, json_of(content)

    with ThreadPoolExecutor(ATTEMPTS) as pool:
        answers = list(pool.map(attempt, range(ATTEMPTS)))

    statuses = sorted(status for status, _ in answers)
    limit = 2  # ORCHWEB_BATCH_MAX_CONCURRENT_PER_USER's default
    assert statuses == [201] * limit + [429] * (ATTEMPTS - limit), answers
    assert all("limit is 2" in answer["detail"] for status, answer in answers if status == 429)
    # Stop them (any process can): nothing keeps running after the test.
    for status, answer in answers:
        if status == 201:
            cancelled, _, content = http(
                f"{two_servers[0].url}/api/batches/{answer['id']}/cancel", "POST", b"", headers
            )
            assert cancelled == 200, content
