"""Static files are served by Daphne itself (WhiteNoise) in both modes, including DEBUG=0."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request

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
