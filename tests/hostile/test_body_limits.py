"""Request bodies are refused past settings.MAX_REQUEST_BYTES before Django reads or parses them.

A live Daphne process (the limit sits on the ASGI stream, in front of Django) with a 1 MiB upload
limit, hence the default request limit of 2 MiB.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from tests.hostile.conftest import http as request_http
from tests.hostile.conftest import server_env
from tests.servers import RunningServer, daphne_server

UPLOAD_LIMIT = 1024 * 1024
REQUEST_LIMIT = UPLOAD_LIMIT + 1024 * 1024


@pytest.fixture(scope="module")
def server(django_db_setup: None) -> Iterator[RunningServer]:
    with daphne_server("limits", {**server_env(), "ORCHWEB_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)}) as running:
        yield running


@pytest.fixture
def token(transactional_db: None) -> str:
    """An API token of a fresh user (committed: the server is another process)."""
    user = get_user_model().objects.create_user("limits-user", password="pw-limits-1")
    return Token.objects.create(user=user).key


def post_chunked(
    server: RunningServer, path: str, headers: dict[str, str], chunks: Iterator[bytes]
) -> tuple[int, bytes]:
    """POST `chunks` with Transfer-Encoding: chunked; stop sending when the server stops reading."""
    connection = http.client.HTTPConnection(urlsplit(server.url).hostname, urlsplit(server.url).port, timeout=60)
    connection.putrequest("POST", path)
    for name, value in {**headers, "Transfer-Encoding": "chunked"}.items():
        connection.putheader(name, value)
    connection.endheaders()
    try:
        for chunk in chunks:
            connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        connection.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused before the end: the answer is waiting
    response = connection.getresponse()
    return response.status, response.read()


def test_an_oversized_json_body_is_refused_with_413_not_parsed(server: RunningServer, token: str) -> None:
    # Not even valid JSON: parsing it would answer 400 "JSON parse error".
    body = b"{" * (REQUEST_LIMIT + 1)

    status, headers, answer = request_http(
        f"{server.url}/api/projects",
        method="POST",
        body=body,
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )

    assert status == 413
    assert headers["Content-Type"] == "application/json"
    assert json.loads(answer) == {
        "detail": f"The request body is larger than the {REQUEST_LIMIT}-byte limit.",
        "limit": REQUEST_LIMIT,
    }


def test_a_chunked_body_without_a_length_is_cut_off_at_the_limit(server: RunningServer, token: str) -> None:
    piece = b"{" * 65536
    status, answer = post_chunked(
        server,
        "/api/projects",
        {"Content-Type": "application/json", "Authorization": f"Token {token}"},
        iter([piece] * (REQUEST_LIMIT // len(piece) + 2)),
    )

    assert status == 413
    assert json.loads(answer)["limit"] == REQUEST_LIMIT


def test_a_body_under_the_limit_is_parsed_as_before(server: RunningServer, token: str) -> None:
    status, _, answer = request_http(
        f"{server.url}/api/projects",
        method="POST",
        body=b"{" * 1000,
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )

    assert status == 400
    assert "JSON parse error" in json.loads(answer)["detail"]


def test_a_malformed_multipart_body_reaches_django_and_gets_a_json_400(server: RunningServer, token: str) -> None:
    # Twisted used to parse form bodies first and answer this one with a bare 400 (no JSON).
    status, headers, answer = request_http(
        f"{server.url}/api/projects",
        method="POST",
        body=b"--b--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=b", "Authorization": f"Token {token}"},
    )

    assert status in (400, 415)
    assert headers["Content-Type"] == "application/json"
    assert json.loads(answer)["detail"]


def test_a_browser_form_gets_an_html_413(server: RunningServer) -> None:
    status, headers, body = request_http(
        f"{server.url}/accounts/login/",
        method="POST",
        body=b"x" * (REQUEST_LIMIT + 1),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
    )

    assert status == 413
    assert headers["Content-Type"].startswith("text/html")
    assert b"Request too large" in body
