"""Form bodies are parsed by Django only, not also by Twisted under Daphne.

Twisted's HTTP request parses every POST form body (multipart or urlencoded) into `request.args`,
which Daphne never reads: a second copy of each upload in memory, and a multipart body Twisted
cannot parse is answered with a bare `400` (no headers, no body) before the application sees it,
so an API client got no JSON error. Daphne does not expose Twisted's switch for this; it is set
here, when the ASGI application is loaded.
"""

from __future__ import annotations

from typing import Any

from daphne.http_protocol import WebRequest

_twisted_init = WebRequest.__init__


def _init_without_form_parsing(self: WebRequest, *args: Any, **kwargs: Any) -> None:
    _twisted_init(self, *args, **{**kwargs, "parsePOSTFormSubmission": False})


def leave_form_bodies_to_django() -> None:
    WebRequest.__init__ = _init_without_form_parsing  # type: ignore[method-assign]
