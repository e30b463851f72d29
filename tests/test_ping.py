"""The ws/ping/ consumer round-trips through the configured channel layer (in-memory or Redis)."""

from __future__ import annotations

import uuid

import pytest
from channels.testing import WebsocketCommunicator

from orchweb.asgi import application

ORIGIN = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


async def connect(headers: list[tuple[bytes, bytes]] = ORIGIN) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/ping/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive_pong(communicator: WebsocketCommunicator, ping_id: str) -> dict:
    """Our pong (with Redis, other runs' pings may share the group: skip theirs)."""
    while True:
        message = await communicator.receive_json_from(timeout=5)
        if message.get("id") == ping_id:
            return message


@pytest.mark.django_db(transaction=True)
async def test_a_ping_reaches_every_member_of_the_group_as_a_pong() -> None:
    sender, member = await connect(), await connect()
    ping_id = uuid.uuid4().hex

    await sender.send_json_to({"type": "ping", "id": ping_id})

    assert await receive_pong(member, ping_id) == {"type": "pong", "id": ping_id}
    assert await receive_pong(sender, ping_id) == {"type": "pong", "id": ping_id}
    await sender.disconnect()
    await member.disconnect()


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
