"""Websocket handshakes only from this site's own pages (cross-site websocket hijacking guard).

Channels' ``AllowedHostsOriginValidator`` compares the Origin's host name with ALLOWED_HOSTS and
ignores the port, so a page served by another program on the same host (``http://127.0.0.1:9999``)
could drive a user's simulations with their cookie. Here the Origin must name the same host *and
port* as the request's Host header (itself one of ALLOWED_HOSTS), as a same-origin check does, or
be one of CSRF_TRUSTED_ORIGINS (a proxy that rewrites Host). No Origin header: refused.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import is_same_domain, split_domain_port, validate_host

DEFAULT_PORTS = {"http": "80", "https": "443"}


def _host_port(netloc: str, scheme: str) -> tuple[str, str]:
    """(host, port) with the scheme's default port made explicit, lowercased."""
    host, port = split_domain_port(netloc.lower())
    return host, port or DEFAULT_PORTS.get(scheme, "")


def origin_allowed(origin: str, host_header: str) -> bool:
    """Whether a handshake with this Origin and Host comes from this site's own pages."""
    parts = urlsplit(origin)
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc:
        return False
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        allowed = urlsplit(trusted)
        if allowed.scheme == parts.scheme and (
            allowed.netloc.lower() == parts.netloc.lower()
            or (allowed.netloc.startswith("*.") and is_same_domain(parts.netloc.lower(), allowed.netloc[1:].lower()))
        ):
            return True
    host, port = _host_port(host_header, parts.scheme)
    if not host or not validate_host(host, settings.ALLOWED_HOSTS):
        return False
    return (host, port) == _host_port(parts.netloc, parts.scheme)


class SameOriginValidator:
    """ASGI middleware: websocket handshakes whose Origin is not this site's are denied (HTTP 403)."""

    def __init__(self, application: Any):
        self.application = application

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        headers = {name: value.decode("latin1") for name, value in scope.get("headers", [])}
        if origin_allowed(headers.get(b"origin", ""), headers.get(b"host", "")):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
