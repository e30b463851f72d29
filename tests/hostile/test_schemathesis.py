"""schemathesis (`--checks all`) against a live server's /api/schema/: the API does what its
OpenAPI schema says, for generated valid and invalid requests, with 0 failures.

A Daphne process on the test database, a user with an API token owning one project; schemathesis
runs in a subprocess, bounded in examples and time (deterministic seed).

Phases: the schema's examples and fuzzing (generated requests, valid and invalid, at most
MAX_EXAMPLES per operation). The coverage phase is left out: it enumerates boundary cases with no
per-operation bound (503 requests for each layout operation, whose body combines two patterns
and a free object), and schemathesis checks `--max-time` only between operations, so on a busy
2-core machine one operation's generation took minutes and the run overran every bound.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from designer import history
from designer.models import Membership, Project, Role, Team
from designer.starters import load_starter
from tests.hostile.conftest import server_env
from tests.servers import ARTIFACTS, daphne_server

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = "5"
MAX_SECONDS = "90"


def owner_token() -> str:
    """A user owning a team and a project with one version; their API token."""
    user = get_user_model().objects.create_user("schema-owner", password="pw-schema-owner-1")
    team = Team.objects.create(name="Schema")
    Membership.objects.create(team=team, user=user, role=Role.OWNER)
    project = Project.objects.create(team=team, name="Starter", created_by=user)
    files, entry = load_starter("basic")
    history.create_version(project, files, author=user, message="starter", parent=None, entry=entry)
    return Token.objects.create(user=user).key


def test_schemathesis_finds_no_failure(transactional_db: None) -> None:
    if not SCHEMATHESIS.exists():
        pytest.fail("schemathesis is not installed: pip install -r requirements-dev.txt")
    token = owner_token()
    ARTIFACTS.mkdir(exist_ok=True)
    report = ARTIFACTS / f"schemathesis-{os.getpid()}.txt"
    # The batches schemathesis starts run in the server while the test goes on: keep them small.
    with daphne_server("schemathesis", {**server_env(), "ORCHWEB_BATCH_MAX_COUNT": "20"}) as server:
        try:
            result = subprocess.run(
                [
                    str(SCHEMATHESIS),
                    "--config-file",
                    str(CONFIG),
                    "run",
                    f"{server.url}/api/schema/",
                    "--checks",
                    "all",
                    "--header",
                    f"Authorization: Token {token}",
                    "--max-examples",
                    MAX_EXAMPLES,
                    "--max-time",
                    MAX_SECONDS,
                    "--phases",
                    "examples,fuzzing",
                    "--seed",
                    "1",
                    "--workers",
                    "1",
                    "--request-timeout",
                    "30",
                ],
                capture_output=True,
                text=True,
                cwd=ARTIFACTS,  # schemathesis keeps a .schemathesis/ folder in its working directory
                timeout=int(MAX_SECONDS) + 120,
                env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"},
            )
            output, status = result.stdout + result.stderr, result.returncode
        except subprocess.TimeoutExpired as expired:  # keep what it printed: which phase, how far
            partial = expired.stdout or b""
            output = partial.decode(errors="replace") if isinstance(partial, bytes) else partial
            output, status = output + f"\n(killed after {expired.timeout} s)", None
    report.write_text(output)
    tail = "\n".join(output.splitlines()[-60:])
    assert status == 0, f"schemathesis failed (full output in {report}):\n{tail}"
