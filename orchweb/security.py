"""Content-Security-Policy header (Django 5.2 has none built in).

The pages load scripts only from /static/ (no inline <script>, no event-handler attributes, no
eval), so `script-src 'self'` holds; a tests/hostile test checks the pages for inline scripts.
Styles keep 'unsafe-inline': the editor and diagram libraries set style attributes, and a style
cannot run code. Websockets are same-origin ('self' covers ws:/wss: to this host).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Add POLICY to every response that has none (settings.CONTENT_SECURITY_POLICY turns it off)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault("Content-Security-Policy", POLICY)
        return response
