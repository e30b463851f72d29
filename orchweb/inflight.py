"""The HTTP requests this process is handling now, for /readyz.

A process being drained, or a test waiting for the live server to go quiet before it empties the
database, needs to know that no request is still writing: a request whose client went away goes on
until its view returns (Django's sync views finish in their thread). Counted on the event loop's
thread, where every ASGI call starts and ends, so no lock is needed.
"""

from __future__ import annotations

from orchweb.limits import ASGIApp, Receive, Scope, Send

_count = 0


def requests_in_flight() -> int:
    """HTTP requests started and not yet answered in full (the caller's own included)."""
    return _count


class CountRequests:
    """ASGI middleware: counts the HTTP requests under way (`requests_in_flight`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        global _count
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        _count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            _count -= 1
