"""Static files are served by Daphne itself (WhiteNoise) in both modes, including DEBUG=0; with DEBUG=0
the collected files are answered before Django's request handling, with Django's own answer."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.handlers.asgi import ASGIHandler

from orchweb.staticfiles import StaticFiles
from tests.asgi import http_scope
from tests.servers import ROOT, daphne_server, database_url


def fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=20) as response:
        return response.status, response.headers.get("Cache-Control", ""), response.read()


def test_a_debug_0_server_serves_the_collected_hashed_static_files(django_db_setup: None) -> None:
    from django.db import connection

    # Plain HTTP on loopback: without ORCHWEB_HTTPS=0, DEBUG=0 redirects pages to https.
    production = {
        "DEBUG": "0",
        "ORCHWEB_HTTPS": "0",
        "SECRET_KEY": "s" * 60,
        "DATABASE_URL": database_url(connection.settings_dict),
    }
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, **production},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collect.returncode == 0, collect.stderr

    with daphne_server("debug0", production) as server:
        _, _, page = fetch(f"{server.url}/accounts/login/")
        [stylesheet] = re.findall(rb'href="(/static/orchweb/base\.[0-9a-f]{12}\.css)"', page)
        status, cache_control, body = fetch(server.url + stylesheet.decode())

    assert status == 200
    assert b".ow-topbar" in body
    # Hashed names never change content, so WhiteNoise lets browsers cache them for good.
    assert "max-age=315360000" in cache_control


# ---- collected files answered before Django's handler (orchweb/staticfiles.py) ----

SITE_CSS = b".ow-topbar { color: #123456; }\n" * 40


@pytest.fixture
def collected(tmp_path: Path, settings: Any) -> Path:
    """A STATIC_ROOT of two files (one with a gzipped copy), served as with DEBUG=0."""
    (tmp_path / "orchweb").mkdir()
    (tmp_path / "orchweb" / "site.css").write_bytes(SITE_CSS)
    (tmp_path / "orchweb" / "site.css.gz").write_bytes(gzip.compress(SITE_CSS))
    (tmp_path / "orchweb" / "app.js").write_bytes(b"console.log(1);\n")
    settings.STATIC_ROOT = tmp_path
    settings.WHITENOISE_AUTOREFRESH = False
    settings.WHITENOISE_USE_FINDERS = False
    settings.CONTENT_SECURITY_POLICY = True
    return tmp_path


class Spy:
    """An ASGI app standing for Django: counts its calls, answers 404."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def call(
    app: Any, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, list[Any], bytes]:
    scope = http_scope(path, method, headers)
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(5)
    body = b""
    while True:
        message = await communicator.receive_output(5)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(5)
    return start["status"], start["headers"], body


# Django's own handler, the reference, consumes the file's iterator in a thread and says so.
pytestmark = pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")

REQUESTS = [
    ("/static/orchweb/site.css", "GET", {}),
    ("/static/orchweb/site.css", "GET", {"Accept-Encoding": "gzip, deflate, br"}),
    ("/static/orchweb/site.css", "HEAD", {"Accept-Encoding": "gzip"}),
    ("/static/orchweb/app.js", "GET", {"Range": "bytes=0-6"}),
]


@pytest.mark.parametrize(("path", "method", "headers"), REQUESTS)
async def test_a_collected_file_gets_djangos_own_answer_without_django_handling_the_request(
    collected: Path, path: str, method: str, headers: dict[str, str]
) -> None:
    spy = Spy()
    fast = await call(StaticFiles(spy), path, method, headers)
    assert spy.calls == 0  # answered before Django's handler: no thread hop, no request signals
    assert fast == await call(ASGIHandler(), path, method, headers)
    status, answer_headers, body = fast
    assert status in (200, 206)
    names = {key.lower() for key, _ in answer_headers}
    assert {b"content-security-policy", b"x-content-type-options", b"referrer-policy"} <= names
    if method == "GET" and "gzip" in headers.get("Accept-Encoding", ""):
        assert gzip.decompress(body) == SITE_CSS


async def test_revalidation_and_the_https_redirect_are_djangos_too(collected: Path, settings: Any) -> None:
    _, headers, _ = await call(ASGIHandler(), "/static/orchweb/site.css")
    etag = dict(headers)[b"ETag"].decode()
    spy = Spy()
    revalidated = await call(StaticFiles(spy), "/static/orchweb/site.css", headers={"If-None-Match": etag})
    assert revalidated[0] == 304
    assert revalidated == await call(ASGIHandler(), "/static/orchweb/site.css", headers={"If-None-Match": etag})
    settings.SECURE_SSL_REDIRECT = True
    redirected = await call(StaticFiles(spy), "/static/orchweb/site.css")
    assert redirected[0] == 301
    assert redirected == await call(ASGIHandler(), "/static/orchweb/site.css")
    assert spy.calls == 0


async def test_everything_else_goes_to_django(collected: Path, settings: Any) -> None:
    spy = Spy()
    fast = StaticFiles(spy)
    for path, method in [
        ("/static/orchweb/site.css", "POST"),
        ("/static/orchweb/missing.css", "GET"),
        ("/projects/", "GET"),
        ("/static/", "GET"),
    ]:
        await call(fast, path, method)
    assert spy.calls == 4
    settings.WHITENOISE_AUTOREFRESH = True  # DEBUG: WhiteNoise finds files on each request, in Django
    await call(StaticFiles(spy), "/static/orchweb/site.css")
    assert spy.calls == 5
