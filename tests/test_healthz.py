"""/healthz checks the database and a channel-layer round trip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
# Nothing listens on port 1: connecting fails at once, a real outage without waiting for a timeout.
UNREACHABLE_REDIS = {
    "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}
}


@pytest.mark.django_db
def test_it_answers_200_when_the_database_and_channel_layer_work(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "channel_layer": "ok"}, "failed": []}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_it_needs_no_login(client: Client) -> None:
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_it_answers_503_naming_an_unreachable_channel_layer(client: Client, settings) -> None:
    settings.CHANNEL_LAYERS = UNREACHABLE_REDIS

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["failed"] == ["channel_layer"]
    assert body["checks"]["database"] == "ok"
    assert "Error" in body["checks"]["channel_layer"]


@pytest.mark.parametrize(
    ("pool_size", "reason"),
    [
        # Without a pool the driver's refusal comes at once: its class is the answer.
        ("0", "OperationalError: unreachable"),
        # A pooled connection is awaited (orchweb.env.POOL_WAIT_SECONDS) longer than a check may take.
        ("10", "timed out"),
    ],
)
def test_it_answers_503_naming_an_unreachable_database(pool_size: str, reason: str) -> None:
    # A separate process, because this process's database connection is the test database.
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz'); print(json.dumps({'status': r.status_code, 'body': r.json()}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/x",
        "ORCHWEB_DB_POOL_SIZE": pool_size,
    }
    env.pop("REDIS_URL", None)

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert answer["body"]["failed"] == ["database"]
    assert answer["body"]["checks"]["channel_layer"] == "ok"
    assert answer["body"]["checks"]["database"] == reason  # never the driver's text: it names hosts and ports
