"""Request body size limit, enforced on the ASGI stream before Django reads, parses or stores it.

Django's own DATA_UPLOAD_MAX_MEMORY_SIZE only guards `request.body`/`request.POST`; DRF parses
JSON from the stream and Django's ASGI handler spools the whole body to a temporary file before any
middleware runs, so a 200 MB JSON body used to be read, stored and parsed before a 400. Here:

- a declared `Content-Length` over the limit is answered 413 at once, without reading the body;
- a body without one (chunked) is counted as it arrives; past the limit the application is told
  the client went away (Django then drops the request) and the client gets the same 413.

The answer is JSON (`{"detail": ..., "limit": N}`) for API clients and a short HTML page for
browsers. The limit is settings.MAX_REQUEST_BYTES (ORCHWEB_MAX_REQUEST_BYTES, README).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def wants_json(path: str, accept: str) -> bool:
    """Whether a client is an API client: an /api/ path, or JSON accepted and HTML not."""
    return path.startswith("/api/") or ("json" in accept and "html" not in accept)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def too_large_body(limit: int, as_json: bool) -> tuple[bytes, bytes]:
    """(content type, body) of the 413 answer."""
    message = f"The request body is larger than the {limit}-byte limit."
    if as_json:
        return b"application/json", json.dumps({"detail": message, "limit": limit}).encode()
    page = f"<!doctype html><title>Request too large</title><h1>Request too large</h1><p>{message}</p>"
    return b"text/html; charset=utf-8", page.encode()


class BodySizeLimit:
    """ASGI middleware for HTTP: refuse bodies over `limit` bytes (settings.MAX_REQUEST_BYTES)."""

    def __init__(self, app: ASGIApp, limit: int | None = None):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit if self.limit is not None else int(settings.MAX_REQUEST_BYTES)
        as_json = wants_json(scope.get("path", ""), _header(scope, b"accept"))
        declared = _header(scope, b"content-length")
        if declared.strip().isdigit() and int(declared) > limit:
            await self._refuse(send, limit, as_json)
            return

        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the 413 below answers; drop whatever the app says about an aborted request
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, tracking_send)
        if exceeded and not started:
            await self._refuse(send, limit, as_json)

    @staticmethod
    async def _refuse(send: Send, limit: int, as_json: bool) -> None:
        content_type, body = too_large_body(limit, as_json)
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            # the rest of the body is never read: the connection cannot be reused
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
