"""A batch outlives no server process: a Daphne process stopped with SIGTERM marks the runs it
drives `interrupted` on its way out; one killed with SIGKILL leaves them `running`, and the
heartbeat rule marks them once the process has missed enough beats (never before).

A real Daphne process on the test database (tests/servers.py), started per test.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from pytest_django.fixtures import SettingsWrapper
from rest_framework.authtoken.models import Token

from designer import history
from designer.models import Membership, Project, Role, Team
from designer.starters import load_starter
from simulator import batches
from simulator.models import BatchRun
from tests.hostile.conftest import http, server_env
from tests.servers import RunningServer, daphne_server

pytestmark = pytest.mark.django_db(transaction=True)

#: one run in process, a heartbeat every second: the test sees a beat without waiting long
SERVER_ENV = {"ORCHWEB_BATCH_POOL_WORKERS": "1", "ORCHWEB_BATCH_HEARTBEAT_SECONDS": "1"}
DEADLINE = 120  # seconds to wait for the server to pick the run up (the machine is shared)


@pytest.fixture
def server(transactional_db: None) -> Iterator[RunningServer]:
    with daphne_server("batch-restart", {**server_env(), **SERVER_ENV}) as running:
        yield running


def start_running_batch(server: RunningServer) -> BatchRun:
    """An editor's batch of 1,000,000 started through the server's API, once it runs there."""
    user = get_user_model().objects.create_user("editor", password="pw-editor-1")
    team = Team.objects.create(name="Routing")
    Membership.objects.create(team=team, user=user, role=Role.EDITOR)
    project = Project.objects.create(team=team, name="Starter", created_by=user)
    files, entry = load_starter("basic")
    version = history.create_version(project, files, author=user, message="starter", parent=None, entry=entry)
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}", "Content-Type": "application/json"}
    status, _, body = http(
        f"{server.url}/api/versions/{version.pk}/batches", "POST", json.dumps({"count": 1_000_000}).encode(), headers
    )
    assert status == 201, body
    run = BatchRun.objects.get(pk=json.loads(body)["id"])
    deadline = time.monotonic() + DEADLINE
    while run.done == 0 and time.monotonic() < deadline:  # waiting for the server, not timing it
        time.sleep(0.2)
        run.refresh_from_db()
    assert run.status == "running" and run.done > 0, server.log_tail()
    return run


def test_a_server_stopped_with_sigterm_marks_its_runs_interrupted(server: RunningServer) -> None:
    run = start_running_batch(server)

    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=60)

    run.refresh_from_db()
    assert run.status == "interrupted", server.log_tail()
    assert 0 < run.done < run.count and "stopped" in run.error


def test_the_runs_of_a_killed_server_are_marked_once_its_heartbeat_is_stale(
    server: RunningServer, settings: SettingsWrapper
) -> None:
    run = start_running_batch(server)

    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=60)
    run.refresh_from_db()
    beat = run.heartbeat
    assert run.status == "running" and beat is not None
    settings.BATCH_HEARTBEAT_SECONDS = 1  # as the server's
    stale = timedelta(seconds=batches.STALE_HEARTBEATS)

    early = batches.mark_interrupted(beat + stale - timedelta(seconds=1))
    late = batches.mark_interrupted(beat + stale + timedelta(seconds=1))

    assert early == [] and late == [run.pk]
    run.refresh_from_db()
    assert run.status == "interrupted" and run.done > 0


def test_a_failed_heartbeat_leaves_no_connection_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """A beat whose update fails still closes its connection: the thread would otherwise hold a
    database session until its next beat (and a test database being dropped waits for it)."""
    from django.db import DatabaseError, connection

    def failing_filter(*args: object, **kwargs: object) -> None:
        with connection.cursor() as cursor:  # the update's connection, opened before it fails
            cursor.execute("SELECT 1")
        raise DatabaseError("the update failed")

    monkeypatch.setitem(batches._LOCAL, -1, threading.Event())
    monkeypatch.setattr(BatchRun.objects, "filter", failing_filter)

    batches._beat()

    assert connection.connection is None
