"""/healthz stays green (answers 200 within a load balancer's 3 s) while the process serves a
flood: one signed-in client posting 30 MB JSON bodies from four connections.

Before the body limit, each body was spooled and parsed by Django: health checks waited behind
it for tens of seconds (bench/abuse.py: p50 34 s), which a load balancer reads as a dead process.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from tests.hostile.conftest import http
from tests.servers import RunningServer

FLOOD_SECONDS = 5.0
BALANCER_TIMEOUT = 3.0


def test_healthz_answers_in_time_during_a_flood_of_oversized_bodies(
    live: RunningServer, transactional_db: None
) -> None:
    user = get_user_model().objects.create_user("flooder", password="pw-flooder-1")
    headers = {"Content-Type": "application/json", "Authorization": f"Token {Token.objects.create(user=user).key}"}
    stop = threading.Event()
    body = b'{"name": "' + b"x" * (30 * 1024 * 1024) + b'"}'
    answers: list[int] = []

    def flood() -> None:
        while not stop.is_set():
            status, _, _ = http(f"{live.url}/api/projects", "POST", body, headers, 60)
            answers.append(status)

    health: list[tuple[int, float]] = []
    with ThreadPoolExecutor(4) as pool:
        for _ in range(4):
            pool.submit(flood)
        deadline = time.monotonic() + FLOOD_SECONDS
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                with urllib.request.urlopen(f"{live.url}/healthz", timeout=BALANCER_TIMEOUT) as response:
                    health.append((response.status, time.monotonic() - started))
            except OSError:
                health.append((0, time.monotonic() - started))
            time.sleep(0.25)
        stop.set()

    assert all(status == 200 for status, _ in health), health
    # Probes 0.25 s apart: about ten fit in 5 s when they are answered at once (4 without the limit,
    # each waiting 1-2 s behind the bodies being parsed).
    assert len(health) >= 7, health
    assert answers and set(answers) == {413}
