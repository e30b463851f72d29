"""A small test client of the simulation websocket protocol over WebsocketCommunicator."""

from __future__ import annotations

import itertools
from typing import Any

from channels.testing import WebsocketCommunicator

from orchweb.asgi import application
from simulator.frames import ClientState

TIMEOUT = 20  # generous: the CI machine's two cores are shared


#: frames that carry the state: a whole snapshot, or what changed since the last one
STATE_FRAMES = ("snapshot", "delta")


class SimClient:
    """Tracks the frames of one socket: the trace and the state, rebuilt from snapshot and delta
    frames (``simulator.frames.ClientState``). ``snapshot`` is the state now, as a snapshot frame
    would give it; a state frame received is returned as that state (with its `type` and
    `reply_to`), so callers read `step`, `pending`, `datamodel`... whichever frame carried them."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.communicator = communicator
        self.client = ClientState()
        self.snapshot: dict | None = None
        self.frames: list[dict] = []
        self._ids = itertools.count(1)

    @property
    def records(self) -> list[dict]:
        return self.client.records

    @classmethod
    async def open(cls, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[SimClient, bool, Any]:
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await communicator.connect(timeout=TIMEOUT)
        return cls(communicator), connected, code

    @classmethod
    async def refusal(cls, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, dict]:
        """(close code, error frame) of a socket the server refuses.

        The server accepts the handshake, sends a fatal error frame and closes with its code: a
        close before the handshake would reach a browser as an HTTP 403 (code 1006).
        """
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected, "the handshake itself was refused"
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        closed = await communicator.receive_output(timeout=TIMEOUT)
        assert closed["type"] == "websocket.close", closed
        return closed["code"], frame

    async def receive(self) -> dict:
        frame = await self.communicator.receive_json_from(timeout=TIMEOUT)
        self.frames.append(frame)
        assert self.client.apply(frame), f"a delta that does not apply to the state held: {frame}"
        if frame["type"] in STATE_FRAMES:
            extra = {k: frame[k] for k in ("type", "reply_to", "running") if k in frame}
            self.snapshot = {**self.client.snapshot(), "reply_to": None, **extra}
            return self.snapshot
        return frame

    async def until(self, type_: str, **fields: Any) -> dict:
        """Frames until one of `type_` ("state": a snapshot or delta) whose fields equal `fields`."""
        types = _types(type_)
        while True:
            frame = await self.receive()
            if frame["type"] in types and all(frame.get(k) == v for k, v in fields.items()):
                return frame

    async def request(self, action: str, expect: str = "state", **fields: Any) -> dict:
        """Send an action and return its answer (`expect` frame or an error, matched by id); the
        answer of an operation is the state after it ("state": a snapshot or delta frame)."""
        message_id = next(self._ids)
        await self.communicator.send_json_to({"action": action, "id": message_id, **fields})
        return await self.until_reply(message_id, expect)

    async def until_reply(self, message_id: Any, expect: str = "state") -> dict:
        """The frame answering `message_id` (`expect`, the state by default, or an error)."""
        types = (*_types(expect), "error")
        while True:
            frame = await self.receive()
            if frame.get("reply_to") == message_id and frame["type"] in types:
                return frame

    async def step(self, unit: str = "macrostep") -> dict:
        frame = await self.request("step", unit=unit)
        assert frame["type"] in STATE_FRAMES, frame
        return frame

    async def step_until(self, predicate: Any, unit: str = "macrostep", limit: int = 200) -> dict:
        """Step until `predicate(snapshot)` holds."""
        for _ in range(limit):
            snapshot = await self.step(unit)
            if predicate(snapshot):
                return snapshot
        raise AssertionError(f"not reached in {limit} steps; last snapshot: {self.snapshot}")

    async def close(self) -> None:
        """Disconnect and wait for the server's disconnect handler (save, runtime closed) to end:
        the communicator's default 1 s would cancel it half-way on a loaded machine."""
        await self.communicator.disconnect(timeout=TIMEOUT)


def _types(type_: str) -> tuple[str, ...]:
    return STATE_FRAMES if type_ in ("state", "snapshot") else (type_,)


def pending(snapshot: dict, module: str, action: str) -> list[dict]:
    return [r for r in snapshot["pending"] if (r["module"], r["action"]) == (module, action)]


def entered(records: list[dict]) -> list[str]:
    return [s for r in records if r["type"] == "macrostep" for s in r["entered"]]
