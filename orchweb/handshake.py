"""ASGI middleware: answer a websocket handshake before the user and session are looked up.

The simulation and batch consumers accept unconditionally and refuse afterwards with a close code
the page can read (docs/simulation-protocol.md), so waiting for them to accept only delays the HTTP answer
behind the session and user queries, which Channels runs on one thread per process. A burst of
handshakes (every page reconnecting after a restart) queued there outlasted Daphne's 5 s
handshake timeout, and the late ones were dropped before any answer. The origin check stays in
front of this middleware: a cross-site handshake is still denied with HTTP 403 before acceptance.
Other routes keep their order (the ping consumer joins its group before it accepts, so a page that
is open receives the next broadcast).
"""

from __future__ import annotations

from typing import Any


class AcceptFirst:
    """Accept a websocket as soon as it connects; the application's own accept is then a no-op
    (the consumers accept without a subprotocol or headers, so nothing is lost)."""

    def __init__(self, application: Any, paths: tuple[str, ...]):
        self.application = application
        #: path prefixes whose consumers accept before any check
        self.paths = paths

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket" or not scope["path"].startswith(self.paths):
            return await self.application(scope, receive, send)
        first = await receive()
        if first["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        pending = [first]

        async def replay() -> dict:
            return pending.pop() if pending else await receive()

        async def send_accepted(message: dict) -> None:
            if message["type"] != "websocket.accept":
                await send(message)

        return await self.application(scope, replay, send_accepted)
