"""Scaled mode: two Daphne processes sharing Redis deliver group messages to each other's clients.

Runs whenever the suite runs scaled (DATABASE_URL or REDIS_URL set). A fully embedded run (neither
set) deselects `scaled` tests (tests/conftest.py), since there is no Redis to share; .ci/run runs the
suite both ways.
"""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from asyncio import timeout as asyncio_timeout
from collections.abc import Iterator

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import ClientConnection, connect

from tests.servers import RunningServer, daphne_server, database_url

pytestmark = pytest.mark.scaled


@pytest.fixture(scope="module")
def two_servers(django_db_setup: None) -> Iterator[tuple[RunningServer, RunningServer]]:
    """Two Daphne processes on the test database and the REDIS_URL layer."""
    if not os.environ.get("REDIS_URL"):
        pytest.fail("DATABASE_URL is set but REDIS_URL is not: a scaled run needs both")
    from django.db import connection

    env = {"DATABASE_URL": database_url(connection.settings_dict), "REDIS_URL": os.environ["REDIS_URL"]}
    with daphne_server("scaled-a", env) as first, daphne_server("scaled-b", env) as second:
        yield first, second


def session_cookie(username: str) -> str:
    """The session cookie of a new logged-in user (pings are broadcast for signed-in users only)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.create(username=username))
    return f"sessionid={client.cookies['sessionid'].value}"


async def open_ping(server: RunningServer, cookie: str) -> ClientConnection:
    return await connect(
        f"{server.ws_url}/ws/ping/", origin=server.url, additional_headers={"Cookie": cookie}, open_timeout=20
    )


async def receive_pong(websocket: ClientConnection, ping_id: str) -> dict:
    """Our pong (other runs sharing the Redis may ping the same group: skip theirs)."""
    while True:
        message = json.loads(await websocket.recv())
        if message.get("id") == ping_id:
            return message


@pytest.mark.django_db(transaction=True)
async def test_a_ping_through_one_process_reaches_a_member_connected_to_the_other(
    two_servers: tuple[RunningServer, RunningServer],
) -> None:
    first, second = two_servers
    assert first.url != second.url
    cookie = await database_sync_to_async(session_cookie)("pinger")
    async with await open_ping(first, cookie) as sender, await open_ping(second, cookie) as member:
        ping_id = uuid.uuid4().hex

        await sender.send(json.dumps({"type": "ping", "id": ping_id}))

        async with asyncio_timeout(20):
            assert await receive_pong(member, ping_id) == {"type": "pong", "id": ping_id}
            assert await receive_pong(sender, ping_id) == {"type": "pong", "id": ping_id}


def test_both_processes_report_redis_healthy(two_servers: tuple[RunningServer, RunningServer]) -> None:
    for server in two_servers:
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=20) as response:
            assert json.loads(response.read())["checks"] == {"database": "ok", "channel_layer": "ok"}
