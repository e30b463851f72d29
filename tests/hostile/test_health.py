"""Liveness (/healthz) and readiness (/readyz): cheap, honest, and naming no host."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading

import pytest
from django.test import AsyncClient

from simulator import sessions
from tests.asgi import http_scope
from tests.servers import ROOT

JSON_HEADERS = {"host": "127.0.0.1:8000", "content-type": "application/json"}


def health_in_a_process_with(**env: str) -> dict:
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz'); print(json.dumps({'status': r.status_code, 'body': r.json()}))"
    )
    full = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **env}
    full.pop("REDIS_URL", None) if "REDIS_URL" not in env else None
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=full, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_failed_check_names_no_host_port_or_user() -> None:
    answer = health_in_a_process_with(
        DATABASE_URL="postgres://secretuser@db-host.invalid:5999/x", REDIS_URL="redis://redis-host.invalid:6999/0"
    )

    assert answer["status"] == 503
    assert set(answer["body"]["failed"]) == {"database", "channel_layer"}
    text = json.dumps(answer["body"])
    for secret in ("db-host", "redis-host", "5999", "6999", "secretuser"):
        assert secret not in text


@pytest.mark.django_db(transaction=True)
async def test_readiness_says_busy_when_the_simulation_pool_is_saturated_while_liveness_stays_green(settings) -> None:
    settings.READY_MAX_BACKLOG_PER_WORKER = 1
    client = AsyncClient()
    assert (await client.get("/readyz")).status_code == 200

    release = threading.Event()
    workers, _ = sessions.pool_load()
    jobs = [asyncio.ensure_future(sessions.execute(None, release.wait, 30)) for _ in range(workers * 2 + 1)]
    try:
        await asyncio.sleep(0.2)
        ready = await client.get("/readyz")
        live = await client.get("/healthz")
    finally:
        release.set()
        await asyncio.gather(*jobs)

    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "busy" and body["failed"] == ["simulation_pool"]
    assert body["pool"] == {
        "workers": workers,
        "busy": workers,
        "queued": workers + 1,
        "max_queued": workers,
    }
    assert live.status_code == 200
    assert (await client.get("/readyz")).json()["pool"]["queued"] == 0


async def ready_through_the_application() -> dict:
    from asgiref.testing import ApplicationCommunicator

    from orchweb.asgi import application

    ready = ApplicationCommunicator(application, http_scope("/readyz", headers=JSON_HEADERS))
    await ready.send_input({"type": "http.request", "body": b""})
    start = await ready.receive_output(timeout=10)
    body = await ready.receive_output(timeout=10)
    await ready.wait(timeout=10)
    assert start["status"] in (200, 503), start
    return json.loads(body["body"])


@pytest.mark.django_db(transaction=True)
async def test_readiness_counts_the_other_requests_under_way() -> None:
    """A request whose body is still coming is under way: /readyz counts it (not itself), so a
    draining process, or a test about to empty the database, waits for it."""
    from asgiref.testing import ApplicationCommunicator

    from orchweb.asgi import application

    assert (await ready_through_the_application())["requests"] == 0
    upload = ApplicationCommunicator(application, http_scope("/api/projects", "POST", JSON_HEADERS))
    await upload.send_input({"type": "http.request", "body": b'{"name": ', "more_body": True})
    await asyncio.sleep(0.05)  # the request has started: Django reads its body to the end first

    under_way = (await ready_through_the_application())["requests"]
    await upload.send_input({"type": "http.request", "body": b'"x"}', "more_body": False})
    answered = await upload.receive_output(timeout=10)
    await upload.wait(timeout=10)

    assert under_way == 1
    assert answered["type"] == "http.response.start" and answered["status"] in (401, 403), answered  # anonymous
    assert (await ready_through_the_application())["requests"] == 0
