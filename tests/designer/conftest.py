"""Fixtures of the designer tests: named users around one team and project.

`world` builds: team "Routing" with owner / editor / viewer members, an outsider who owns a team
of their own, project "Support line" (from the starter template) with versions v1 and v2, and an
active share link on v2.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from designer import history
from designer.models import Invitation, Membership, Project, Role, ShareLink, Team, Version
from designer.starters import load_starter
from simulator.sessions import _FILES_CACHE


@dataclass
class World:
    team: Team
    other_team: Team
    owner: AbstractBaseUser
    editor: AbstractBaseUser
    viewer: AbstractBaseUser
    outsider: AbstractBaseUser
    project: Project
    v1: Version
    v2: Version
    link: ShareLink
    invitation: Invitation

    def client_for(self, actor: str) -> Client:
        """A test client acting as owner/editor/viewer/outsider/anonymous/share."""
        client = Client()
        if actor in {"owner", "editor", "viewer", "outsider"}:
            client.force_login(getattr(self, actor))
        elif actor == "share":
            response = client.get(f"/s/{self.link.token}/")
            assert response.status_code == 302
        else:
            assert actor == "anonymous"
        return client


def make_user(username: str) -> AbstractBaseUser:
    user = get_user_model().objects.create(username=username)
    user.set_unusable_password()
    user.save()
    return user


def build_world() -> World:
    owner, editor, viewer, outsider = (make_user(name) for name in ("owner", "editor", "viewer", "outsider"))
    team = Team.objects.create(name="Routing")
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    Membership.objects.create(team=team, user=editor, role=Role.EDITOR)
    Membership.objects.create(team=team, user=viewer, role=Role.VIEWER)
    other_team = Team.objects.create(name="Elsewhere")
    Membership.objects.create(team=other_team, user=outsider, role=Role.OWNER)
    project = Project.objects.create(team=team, name="Support line", created_by=owner)
    files, entry = load_starter("basic")
    v1 = history.create_version(project, files, author=owner, message="Starter", parent=None, entry=entry)
    changed = dict(files)
    changed["include/starter.js"] = files["include/starter.js"].replace(b"'7000'", b"'7100'")
    v2 = history.create_version(project, changed, author=editor, message="New default route", parent=v1, entry=entry)
    link = ShareLink.objects.create(version=v2, created_by=owner)
    invitation = Invitation.objects.create(team=other_team, user=viewer, role=Role.EDITOR, invited_by=outsider)
    return World(team, other_team, owner, editor, viewer, outsider, project, v1, v2, link, invitation)


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def zip_folder(folder: Path) -> bytes:
    """A zip of every file under `folder`, with paths relative to it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def make_zip(entries: dict[str, bytes]) -> bytes:
    """A zip with the given member names and contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}


@pytest.fixture(autouse=True)
def _forget_cached_version_files() -> Iterator[None]:
    """simulator.sessions caches version files by id (versions are immutable); a test database
    reuses ids, so a designer test that builds a simulation runtime must not leak its files."""
    yield
    _FILES_CACHE.clear()
