"""Fixtures of the simulator tests: named users around one team and the sample Composer project.

`sim_world` builds team "Routing" with an owner and a viewer (`teammate`), an `outsider` in a
team of their own, and project "CRD" whose v1 holds ``ors-samples/crd-gvp-wf`` plus two fakes
files (`fakes/manual-submit.json`: the queue:submit waits for a user answer; `fakes/broken.json`:
invalid). `cookies(user)` gives the websocket headers of a logged-in browser of that user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from designer import history
from designer.models import Membership, Project, Role, Team, Version
from simulator.ors.project import load_project

ORIGIN = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
MANUAL_SUBMIT = {"rules": [{"module": "queue", "action": "submit", "manual": True}]}


@dataclass
class SimWorld:
    owner: AbstractBaseUser
    teammate: AbstractBaseUser
    outsider: AbstractBaseUser
    project: Project
    version: Version

    def headers(self, user: AbstractBaseUser | None) -> list[tuple[bytes, bytes]]:
        """Websocket handshake headers of a browser logged in as `user` (None: anonymous)."""
        if user is None:
            return list(ORIGIN)
        client = Client()
        client.force_login(user)
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        return [*ORIGIN, (b"cookie", cookie.encode())]


def make_user(username: str) -> AbstractBaseUser:
    user = get_user_model().objects.create(username=username)
    user.set_unusable_password()
    user.save()
    return user


def sample_files(shared_dir: Path) -> dict[str, bytes]:
    """The sample project with two fakes files added."""
    files = dict(load_project(shared_dir / "ors-samples" / "crd-gvp-wf"))
    files["fakes/manual-submit.json"] = json.dumps(MANUAL_SUBMIT).encode()
    files["fakes/broken.json"] = b'{"queue": {"delay": "soon"}}'
    return files


def build_sim_world(shared_dir: Path) -> SimWorld:
    owner, teammate, outsider = (make_user(name) for name in ("owner", "teammate", "outsider"))
    team = Team.objects.create(name="Routing")
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    Membership.objects.create(team=team, user=teammate, role=Role.VIEWER)
    other = Team.objects.create(name="Elsewhere")
    Membership.objects.create(team=other, user=outsider, role=Role.OWNER)
    project = Project.objects.create(team=team, name="CRD", created_by=owner)
    version = history.create_version(
        project,
        sample_files(shared_dir),
        author=owner,
        message="Sample",
        parent=None,
        entry="src-gen/IPD_default_MainWorkflow.scxml",
    )
    return SimWorld(owner, teammate, outsider, project, version)


@pytest.fixture
def sim_world(transactional_db: None, shared_dir: Path) -> SimWorld:
    return build_sim_world(shared_dir)


HOSTILE = b"""<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="idle">
  <state id="idle"><transition event="interaction" target="spin"/></state>
  <state id="spin">
    <onentry><script>while (true) {}</script></onentry>
    <transition event="error" target="stopped"/>
  </state>
  <final id="stopped"/>
</scxml>
"""


@pytest.fixture
def hostile_version(sim_world: SimWorld) -> Version:
    """A version whose strategy spins forever in a script once it receives any event."""
    project = Project.objects.create(team=sim_world.project.team, name="Hostile", created_by=sim_world.owner)
    return history.create_version(
        project, {"hostile.scxml": HOSTILE}, author=sim_world.owner, message="spin", parent=None, entry="hostile.scxml"
    )
