"""ASGI messages for tests that call an application directly (no server)."""

from __future__ import annotations

from typing import Any


def http_scope(path: str, method: str = "GET", headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The scope of an HTTP/1.1 request from 127.0.0.1 to `path` (headers lower-cased)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "localhost", **(headers or {})}.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
