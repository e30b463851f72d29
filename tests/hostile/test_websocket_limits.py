"""Hostile websocket clients (issue 11): oversized frames, floods of actions and simulations,
foreign origins, the anonymous ping broadcast, and access taken away from open sockets.

Real ASGI stack (origin check, session cookies), real database and channel layer; every test here
failed before its fix.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings

from designer.models import Membership, ShareLink
from designer.permissions import SESSION_KEY
from orchweb.asgi import application
from simulator.models import Simulation
from tests.simulator.client import TIMEOUT, SimClient
from tests.simulator.conftest import ORIGIN, SimWorld, build_sim_world
from tests.simulator.test_consumer import open_simulation, refusal, start, started_id, stored_simulation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sim_world(transactional_db: None, shared_dir: Path) -> SimWorld:
    return build_sim_world(shared_dir)


async def closed_with(client: SimClient) -> tuple[dict, int]:
    """The fatal error frame a server-side close is announced with, and the close code."""
    frames = []
    while True:
        output = await client.communicator.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            return frames[-1], output["code"]
        frames.append(json.loads(output["text"]))


# ---- frame size ---------------------------------------------------------------------------------


async def test_a_frame_over_the_size_limit_is_refused_unread_and_nothing_is_stored(sim_world):
    client = await start(sim_world)
    huge = {"interaction": {"udata": {"blob": "x" * (2 * 1024 * 1024)}}}

    await client.communicator.send_json_to({"action": "set_fakes", "fakes": huge, "id": 1})
    answer = await client.until("error")
    await client.communicator.send_to(text_data="{" * (1024 * 1024 + 1))  # not JSON either
    unread = await client.until("error")
    after = await client.request("pause")
    row = await database_sync_to_async(stored_simulation)(started_id(client))

    assert answer["message"].startswith("message too large: 2,097,") and "limit is 1,048,576" in answer["message"]
    assert unread["message"].startswith("message too large")  # measured before any JSON parsing
    assert after["fakes"] == {} and row.fakes == {} and row.inputs == []
    await client.close()


async def test_a_binary_frame_is_answered_with_an_error_and_the_socket_carries_on(sim_world):
    client = await start(sim_world)

    await client.communicator.send_to(bytes_data=b"\x00" * 10)
    answer = await client.until("error")

    assert "binary" in answer["message"]
    assert (await client.step())["type"] == "delta"
    await client.close()


# ---- per-user quotas ----------------------------------------------------------------------------


@override_settings(SIMULATION_MAX_OPEN_PER_USER=2)
async def test_a_user_cannot_open_more_simulations_than_the_quota(sim_world):
    first, second = await start(sim_world), await start(sim_world)
    spare = await database_sync_to_async(Simulation.objects.create)(owner=sim_world.owner, version=sim_world.version)
    headers = await database_sync_to_async(sim_world.headers)(sim_world.owner)
    third, _, _ = await SimClient.open("/ws/simulations/", headers)
    await third.receive()

    refused_start = await third.request("start", expect="started", version=sim_world.version.pk)
    refused_open = await refusal(sim_world, spare.pk, sim_world.owner)
    same_again, _, _ = await open_simulation(sim_world, started_id(first), sim_world.owner)  # counts once
    await same_again.until("snapshot")
    await second.close()
    freed, _, _ = await open_simulation(sim_world, spare.pk, sim_world.owner)

    assert refused_start["type"] == "error" and "the limit is 2" in refused_start["message"]
    assert await database_sync_to_async(Simulation.objects.count)() == 3  # nothing was created
    assert refused_open == 4429
    assert (await freed.until("snapshot"))["type"] == "snapshot"
    for client in (first, third, same_again, freed):
        await client.close()


@override_settings(SIMULATION_STEPS_PER_SECOND=5)
async def test_a_flood_of_steps_is_refused_beyond_the_users_rate_and_nothing_is_half_applied(sim_world):
    client = await start(sim_world)
    before = client.snapshot["step"]

    started = time.monotonic()
    for n in range(40):
        await client.communicator.send_json_to({"action": "step", "unit": "microstep", "id": n})
    answers = [await client.until_reply(n) for n in range(40)]
    refilled = math.ceil(5 * (time.monotonic() - started))  # a loaded machine answers slower

    applied = [a for a in answers if a["type"] == "delta"]
    refused = [a for a in answers if a["type"] == "error"]
    assert 9 <= len(applied) <= 9 + refilled + 1  # the burst (twice the rate) less `start`, and what refilled
    assert len(refused) == 40 - len(applied)
    assert "too many actions: at most 5 per second" in refused[0]["message"]
    # Each applied step moved the session by one, in order; a loaded machine lets more through than
    # the sample has microsteps before it waits, and those answer with the step unchanged.
    steps = [a["step"] for a in applied]
    advanced = sorted(set(steps))
    assert advanced == list(range(before + 1, before + 1 + len(advanced)))
    assert steps == advanced + [advanced[-1]] * (len(steps) - len(advanced))
    await client.close()


# ---- origin -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        (b"http://127.0.0.1:8000", True),
        (b"http://127.0.0.1:9999", False),  # another program on the same host
        (b"http://localhost:8000", False),  # an allowed host, but not the one this page came from
        (b"null", False),
    ],
)
async def test_the_websocket_origin_must_be_this_site_including_the_port(origin, accepted):
    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
    communicator = WebsocketCommunicator(application, "/ws/ping/", headers=headers)

    connected, _ = await communicator.connect(timeout=TIMEOUT)

    assert connected is accepted
    await communicator.disconnect()


# ---- access taken away --------------------------------------------------------------------------


async def watched(world: SimWorld, watcher_user=None) -> tuple[SimClient, SimClient]:
    owner = await start(world)
    await owner.request("share", expect="shared", shared=True)
    watcher, connected, _ = await open_simulation(world, started_id(owner), watcher_user or world.teammate)
    assert connected
    await watcher.until("snapshot")
    return owner, watcher


async def test_unsharing_closes_the_watchers_socket_at_once(sim_world):
    owner, watcher = await watched(sim_world)

    await owner.request("share", expect="shared", shared=False)
    frame, code = await closed_with(watcher)

    assert code == 4403 and "withdrawn" in frame["message"]
    assert (await owner.step())["type"] == "delta"
    await owner.close()


async def test_removing_a_member_closes_their_watching_socket_at_once(sim_world):
    owner, watcher = await watched(sim_world)

    await database_sync_to_async(Membership.objects.filter(user=sim_world.teammate).delete)()
    frame, code = await closed_with(watcher)

    assert code == 4404 and frame["fatal"] is True
    assert (await owner.step())["type"] == "delta"  # the owner is still a member
    await owner.close()


async def test_revoking_a_share_link_closes_the_sockets_it_let_in(sim_world):
    link = await database_sync_to_async(ShareLink.objects.create)(version=sim_world.version)

    def headers_with_link() -> list[tuple[bytes, bytes]]:
        client = Client()
        client.force_login(sim_world.outsider)  # not a member: the link alone lets them watch
        session = client.session
        session[SESSION_KEY] = [link.token]
        session.save()
        return [*ORIGIN, (b"cookie", f"sessionid={session.session_key}".encode())]

    owner = await start(sim_world)
    await owner.request("share", expect="shared", shared=True)
    watcher, _, _ = await SimClient.open(
        f"/ws/simulations/{started_id(owner)}/", await database_sync_to_async(headers_with_link)()
    )
    assert (await watcher.until("hello"))["role"] == "watcher"

    await database_sync_to_async(link.revoke)()
    _, code = await closed_with(watcher)

    assert code == 4404
    await owner.close()


async def test_the_inputs_log_has_a_size_cap_and_a_refused_operation_is_not_applied(sim_world):
    client = await start(sim_world)
    blob = "x" * (900 * 1024)  # each frame under the 1 MiB limit

    answers = []
    for n in range(40):
        fakes = {"interaction": {"udata": {"n": n, "blob": blob}}}
        answers.append(await client.request("set_fakes", fakes=fakes))
        if answers[-1]["type"] == "error":
            break
    refused = answers[-1]
    step = await client.request("step", unit="macrostep")
    await client.request("pause")
    row = await database_sync_to_async(stored_simulation)(started_id(client))
    restarted = await client.request("restart")

    assert refused["type"] == "error" and "reached their limit" in refused["message"]
    accepted = len(answers) - 1
    assert 30 <= accepted <= 37
    assert answers[-2]["fakes"]["interaction"]["udata"]["n"] == accepted - 1  # the refused one did not run
    assert step["type"] == "delta"  # smaller operations still fit
    assert len(row.inputs) == accepted + 1 and len(json.dumps(row.inputs)) <= 33 * 1024 * 1024
    assert restarted["type"] == "snapshot" and restarted["inputs"] == 0
    await client.close()
