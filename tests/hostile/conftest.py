"""Fixtures of the hostile-input tests: a live Daphne process on the test database."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.servers import RunningServer, daphne_server, database_url


def server_env() -> dict[str, str]:
    """The test database (and Redis when the run is scaled) for a server process."""
    import os

    from django.db import connection

    env = {"DATABASE_URL": database_url(connection.settings_dict)}
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return env


@pytest.fixture(scope="module")
def live(django_db_setup: None) -> Iterator[RunningServer]:
    """One Daphne process serving the test database for the module's tests."""
    with daphne_server("hostile", server_env()) as server:
        yield server


def http(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one request; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def json_of(body: bytes) -> Any:
    return json.loads(body)
