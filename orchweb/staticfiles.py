"""Collected static files answered in the event loop, before Django's request handling (DEBUG=0).

Through Django's ASGI handler a static file cost Daphne ~2.2 ms of CPU and a hop to the one thread
that runs sync middleware (all of ours is), where the nine files of a simulation page queued
behind each other and behind the pages; a browser with nothing cached waited ~40-130 ms for them
(docs/performance.md, "A fresh browser's first open"). Here the same answer costs ~0.4 ms and no
thread.

The answer is Django's own: for a GET or HEAD of a file WhiteNoise indexed at start, the
middlewares settings.MIDDLEWARE lists up to and including WhiteNoise's (security headers, CSP,
error pages, WhiteNoise) are built in the same order, as Django chains them, and called right
here on a Django request made from the scope: the same status, headers and body, an HTTPS
redirect included. They do no I/O but reading the (small, collected) file. The rest of the chain
(sessions, CSRF, auth, throttling) never ran for these files anyway: WhiteNoise answered first.
Everything else goes to Django, and so does everything in DEBUG, where WhiteNoise finds files
through the finders on each request (autorefresh). Cost: WhiteNoise's index of the collected files
is built twice per process (Django's chain keeps its own): ~1 MB and ~0.1-0.2 s at start.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.module_loading import import_string

from orchweb.limits import ASGIApp, Receive, Scope, Send

WHITENOISE = "whitenoise.middleware.WhiteNoiseMiddleware"


def _whitenoise_chain() -> tuple[Callable[[HttpRequest], HttpResponseBase], Any] | None:
    """The middlewares up to WhiteNoise's, chained as Django does, and WhiteNoise's instance; None
    when WhiteNoise is not in MIDDLEWARE or finds its files on each request."""
    if WHITENOISE not in settings.MIDDLEWARE:
        return None

    def after_whitenoise(request: HttpRequest) -> HttpResponseBase:
        # Only paths WhiteNoise serves come here; should one not, Django's chain did not run.
        raise RuntimeError(f"WhiteNoise did not serve {request.path_info}")

    handler = convert_exception_to_response(after_whitenoise)
    whitenoise = None
    for path in reversed(settings.MIDDLEWARE[: settings.MIDDLEWARE.index(WHITENOISE) + 1]):
        middleware = import_string(path)(handler)
        whitenoise = whitenoise or middleware  # the first one built is WhiteNoise's
        handler = convert_exception_to_response(middleware)
    if whitenoise is None or whitenoise.autorefresh:
        return None
    return handler, whitenoise


def _body(response: HttpResponseBase) -> bytes:
    """The whole body (a collected file is small: the largest, ELK's worker, is 1.6 MB, 0.5 MB
    gzipped), and the file closed. Not `response.close()`: that sends `request_finished`, the end
    of a request Django handled (database connections cleaned up), which this one is not."""
    if not response.streaming:
        assert isinstance(response, HttpResponse)
        return response.content
    try:
        return b"".join(response.streaming_content)
    finally:
        stream = getattr(response, "file_to_stream", None)
        if stream is not None:
            stream.close()


class StaticFiles:
    """ASGI middleware: answers GET and HEAD of collected static files; passes the rest to `app`."""

    def __init__(self, app: ASGIApp):
        self.app = app
        chain = _whitenoise_chain()
        self.handler = chain[0] if chain else None
        self.files: dict[str, Any] = chain[1].files if chain else {}
        self.prefix: str = chain[1].static_prefix if chain else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.handler is None
            or scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or self.prefix not in scope["path"]
        ):
            return await self.app(scope, receive, send)
        request = ASGIRequest(scope, io.BytesIO())
        if request.path_info not in self.files:
            return await self.app(scope, receive, send)
        response = self.handler(request)
        body = _body(response)
        headers = [(key.encode("ascii"), value.encode("latin1")) for key, value in response.items()]
        headers += [(b"Set-Cookie", c.output(header="").encode("ascii").strip()) for c in response.cookies.values()]
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})
