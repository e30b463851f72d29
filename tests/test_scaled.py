"""Scaled mode: two Daphne processes on one port (as `orchweb.serve --processes 2` runs them),
sharing Redis and the database: group messages reach each other's clients, and a burst of
websocket handshakes through the port is spread over both and completes.

Runs whenever the suite runs scaled (DATABASE_URL or REDIS_URL set). A fully embedded run (neither
set) deselects `scaled` tests (tests/conftest.py), since there is no Redis to share; .ci/run runs the
suite both ways.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from asyncio import timeout as asyncio_timeout
from collections.abc import Iterator
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import ClientConnection, connect

from designer.models import Membership, Role
from simulator.models import Simulation
from tests.servers import RunningServer, daphne_servers, database_url, live_simulations
from tests.simulator.conftest import SimWorld, build_sim_world, make_user

pytestmark = pytest.mark.scaled


@pytest.fixture(scope="module")
def two_servers(django_db_setup: None) -> Iterator[tuple[RunningServer, RunningServer]]:
    """Two Daphne processes on one port, the test database and the REDIS_URL layer."""
    if not os.environ.get("REDIS_URL"):
        pytest.fail("DATABASE_URL is set but REDIS_URL is not: a scaled run needs both")
    from django.db import connection

    env = {"DATABASE_URL": database_url(connection.settings_dict), "REDIS_URL": os.environ["REDIS_URL"]}
    with daphne_servers("scaled", env, 2) as (first, second):
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
    # Bounded wait: right after the handshake burst above (200 sockets closed at once), the Redis
    # layer's check of one process timed out for 5-8 s while channels-redis cleaned up the closed
    # consumers' receives (docs/performance.md, "Scale-out"); a load balancer's threshold rides it out.
    for server in two_servers:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{server.url}/healthz", timeout=20) as response:
                    checks = json.loads(response.read())["checks"]
            except urllib.error.HTTPError as error:  # 503: the body names the failed check
                checks = json.loads(error.read())["checks"]
            if checks == {"database": "ok", "channel_layer": "ok"} or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert checks == {"database": "ok", "channel_layer": "ok"}


TEAM, SIMULATIONS_EACH = 20, 10  # 200 sockets; the default quota is 10 open simulations per user


@pytest.fixture
def team(transactional_db: None, shared_dir: Path) -> tuple[SimWorld, list[tuple[str, list[int]]]]:
    """The sample project and a team of users, each with the session cookie and simulations of it."""
    from django.test import Client

    world = build_sim_world(shared_dir)
    members = []
    for number in range(TEAM):
        user = make_user(f"member{number}")
        Membership.objects.create(team=world.project.team, user=user, role=Role.EDITOR)
        client = Client()
        client.force_login(user)
        ids = [Simulation.objects.create(owner=user, version=world.version).pk for _ in range(SIMULATIONS_EACH)]
        members.append((f"sessionid={client.cookies['sessionid'].value}", ids))
    return world, members


async def first_snapshot(server: RunningServer, cookie: str, simulation_id: int) -> ClientConnection:
    websocket = await connect(
        f"ws{server.port_url.removeprefix('http')}/ws/simulations/{simulation_id}/",
        origin=server.port_url,
        additional_headers={"Cookie": cookie},
        open_timeout=60,
    )
    while (frame := json.loads(await websocket.recv()))["type"] != "snapshot":
        assert frame["type"] != "error", frame
    return websocket


@pytest.mark.django_db(transaction=True)
async def test_a_burst_of_handshakes_through_the_port_completes_on_both_processes(
    two_servers: tuple[RunningServer, RunningServer], team: tuple[SimWorld, list[tuple[str, list[int]]]]
) -> None:
    # Every socket at once, as after a restart when every page reconnects. Each handshake used to
    # open three database connections one after another on the consumers' one thread; a burst of
    # them outlasted Daphne's 5 s handshake timeout and was dropped before the HTTP answer.
    _, members = team
    first = two_servers[0]
    attempts = [first_snapshot(first, cookie, sim) for cookie, ids in members for sim in ids]

    async with asyncio_timeout(240):
        results = await asyncio.gather(*attempts, return_exceptions=True)

    failures = [repr(result) for result in results if isinstance(result, BaseException)]
    held = [await asyncio.to_thread(live_simulations, server.url) for server in two_servers]
    await asyncio.gather(*(ws.close() for ws in results if isinstance(ws, ClientConnection)))
    assert failures == []
    assert sum(held) == TEAM * SIMULATIONS_EACH and min(held) > 0, held
