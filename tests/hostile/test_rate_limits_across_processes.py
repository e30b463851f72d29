"""Request rates hold across processes: with REDIS_URL the windows live in Redis (Django's cache),
so a user spreading a flood over two Daphne processes on one port gets the rate once, not once
per process (two real Daphne processes on the test database and Redis)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from tests.hostile.conftest import http, json_of, server_env
from tests.servers import RunningServer, daphne_servers

pytestmark = [pytest.mark.scaled, pytest.mark.django_db(transaction=True)]

RATE = 4  # requests per minute and user


@pytest.fixture(scope="module")
def two_servers(django_db_setup: None) -> Iterator[list[RunningServer]]:
    with daphne_servers("rates", {**server_env(), "ORCHWEB_RATE_REQUESTS": f"{RATE}/minute"}) as servers:
        yield servers


def token_of(name: str) -> str:
    user = get_user_model().objects.create_user(name, password="pw-rate-horse-2")
    return Token.objects.create(user=user).key


def get(server: RunningServer, token: str) -> tuple[int, dict[str, str], bytes]:
    return http(f"{server.url}/api/teams", headers={"Authorization": f"Token {token}"})


def test_a_users_requests_on_two_processes_count_in_one_window(two_servers):
    first, second = two_servers
    flooder, other = token_of("flooder"), token_of("other")

    served = [get(first if n % 2 else second, flooder)[0] for n in range(RATE)]
    refused = [get(server, flooder) for server in (first, second)]
    others = [get(server, other)[0] for server in (first, second)]

    assert served == [200] * RATE
    assert [status for status, _, _ in refused] == [429, 429]
    assert all(int(headers["Retry-After"]) >= 1 for _, headers, _ in refused)
    assert "throttled" in json_of(refused[1][2])["detail"]
    assert others == [200, 200]
