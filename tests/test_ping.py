"""The ws/ping/ consumer round-trips through the configured channel layer (in-memory or Redis).

Signed-in users' pings are broadcast to the group; an anonymous visitor's pong comes back to them
alone (through the layer all the same), and pings are rate limited per socket.
"""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from orchweb.asgi import application

ORIGIN = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


async def connect(headers: list[tuple[bytes, bytes]] = ORIGIN) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/ping/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def signed_in(username: str = "pinger") -> list[tuple[bytes, bytes]]:
    """Handshake headers of a browser logged in as a new user."""
    user = get_user_model().objects.create(username=username)
    client = Client()
    client.force_login(user)
    return [*ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def receive_pong(communicator: WebsocketCommunicator, ping_id: str) -> dict:
    """Our pong (with Redis, other runs' pings may share the group: skip theirs)."""
    while True:
        message = await communicator.receive_json_from(timeout=5)
        if message.get("id") == ping_id:
            return message


@pytest.mark.django_db(transaction=True)
async def test_a_signed_in_ping_reaches_every_member_of_the_group_as_a_pong() -> None:
    headers = await database_sync_to_async(signed_in)()
    sender, member = await connect(headers), await connect(headers)
    ping_id = uuid.uuid4().hex

    await sender.send_json_to({"type": "ping", "id": ping_id})

    assert await receive_pong(member, ping_id) == {"type": "pong", "id": ping_id}
    assert await receive_pong(sender, ping_id) == {"type": "pong", "id": ping_id}
    await sender.disconnect()
    await member.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_an_anonymous_ping_comes_back_to_the_sender_alone() -> None:
    member = await connect(await database_sync_to_async(signed_in)())
    sender = await connect()
    ping_id = uuid.uuid4().hex

    await sender.send_json_to({"type": "ping", "id": ping_id})

    assert await receive_pong(sender, ping_id) == {"type": "pong", "id": ping_id}
    assert await member.receive_nothing(timeout=0.5)
    await sender.disconnect()
    await member.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_flood_of_pings_is_refused_beyond_the_rate() -> None:
    communicator = await connect(await database_sync_to_async(signed_in)())

    for n in range(20):
        await communicator.send_json_to({"type": "ping", "id": n})
    replies = [await communicator.receive_json_from(timeout=5) for _ in range(20)]

    pongs = [r for r in replies if r["type"] == "pong"]
    refused = [r for r in replies if r["type"] == "error"]
    assert 5 <= len(pongs) <= 6 and len(refused) == 20 - len(pongs)
    assert "too many pings" in refused[0]["message"]
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_it_answers_an_error_to_anything_but_a_ping() -> None:
    communicator = await connect()

    await communicator.send_json_to({"type": "hello"})

    reply = await communicator.receive_json_from(timeout=5)
    assert reply["type"] == "error"
    assert "ping" in reply["message"]
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_it_refuses_a_websocket_from_a_foreign_origin() -> None:
    communicator = WebsocketCommunicator(application, "/ws/ping/", headers=[(b"origin", b"http://evil.example")])

    connected, _ = await communicator.connect()

    assert not connected
