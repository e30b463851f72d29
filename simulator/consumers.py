"""Websocket consumers: thin JSON protocols over the simulator's session manager."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class PingConsumer(AsyncJsonWebsocketConsumer):
    """Proves the channel layer end to end: a ping is broadcast to a group and echoed as a pong.

    Going through the group (not replying directly) is what makes it a channel-layer test: with
    Redis, a member connected to another Daphne process receives the same message.
    """

    group = "ping"

    async def connect(self) -> None:
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: dict, **kwargs) -> None:
        if not isinstance(content, dict) or content.get("type") != "ping":
            await self.send_json({"type": "error", "message": 'expected {"type": "ping", "id": ...}'})
            return
        await self.channel_layer.group_send(self.group, {"type": "ping.broadcast", "id": content.get("id")})

    async def ping_broadcast(self, event: dict) -> None:
        await self.send_json({"type": "pong", "id": event.get("id")})
