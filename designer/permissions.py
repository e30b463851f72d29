"""Access checks shared by the pages and the API.

Rules: an outsider (not a member of the project's team) gets 404, as if the object did not exist;
a member whose role is too low gets 403; an anonymous visitor must log in, unless a share link
grants read-only access to one version. A share link is presented either once (opening
`/s/<token>/` remembers it in the session) or per request with `?share=<token>` (API clients).

Role ladder: viewer (read, comment) < editor (drafts, new versions, uploads, share links)
< owner (everything an editor can do, and the team's members: owners invite users, who join by
accepting the invitation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from rest_framework.exceptions import NotAuthenticated

from designer.models import ROLE_RANK, Membership, Project, Role, ShareLink, Team, Version

SESSION_KEY = "designer_share_tokens"


class AuthenticationRequired(NotAuthenticated):
    """Anonymous visitor without a share link: pages redirect to login, the API answers 401/403."""


def role_in_team(user: object, team_id: int) -> str | None:
    """The user's role in the team, or None if not a member (or anonymous)."""
    if not getattr(user, "is_authenticated", False):
        return None
    # One row at most (a team and a user are unique): without Membership's default ordering,
    # whose joins to the team and the user (for their names) cost more than the lookup itself.
    return Membership.objects.filter(team_id=team_id, user=user).order_by().values_list("role", flat=True).first()


def has_role(role: str | None, required: str) -> bool:
    """Whether `role` is at least `required`."""
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(required)]


def teams_for_user(user: object, required: str = Role.VIEWER) -> list[Team]:
    """Teams where the user has at least the `required` role."""
    if not getattr(user, "is_authenticated", False):
        return []
    roles = [role for role in Role if has_role(role, required)]
    return list(Team.objects.filter(memberships__user=user, memberships__role__in=roles).distinct())


def remember_share_token(request: HttpRequest, token: str) -> None:
    """Keep a share token in the session so the version's pages and API work while browsing."""
    tokens = list(request.session.get(SESSION_KEY, []))
    if token not in tokens:
        tokens.append(token)
    request.session[SESSION_KEY] = tokens[-20:]


def session_share_tokens(session: Mapping[str, Any] | None) -> list[str]:
    """Share tokens remembered in a (page or websocket) session by opening `/s/<token>/`."""
    return list((session or {}).get(SESSION_KEY, []))


def request_share_tokens(request: HttpRequest) -> list[str]:
    """Share tokens a page or API request holds: the session's plus `?share=<token>`."""
    tokens = session_share_tokens(getattr(request, "session", None))
    query_token = request.GET.get("share")
    if query_token:
        tokens.append(query_token)
    return tokens


def shared_version_ids(share_tokens: Iterable[str]) -> set[int]:
    """Versions readable through the active share links among `share_tokens`."""
    tokens = [token for token in share_tokens if token]
    if not tokens:
        return set()
    return set(ShareLink.objects.filter(token__in=tokens, revoked_at__isnull=True).values_list("version_id", flat=True))


def _is_authenticated(user: object) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def require_user(request: HttpRequest) -> None:
    """Raise AuthenticationRequired for an anonymous visitor (pages redirect to login, the API 401s)."""
    if not _is_authenticated(request.user):
        raise AuthenticationRequired()


def refuse(request: HttpRequest, error: Exception) -> NoReturn:
    """Raise `error` (Http404 / PermissionDenied), unless the visitor is anonymous: they log in first."""
    _refuse_user(request.user, error)


def _refuse_user(user: object, error: Exception) -> NoReturn:
    if not _is_authenticated(user):
        raise AuthenticationRequired()
    raise error


def _check_role(request: HttpRequest, team_id: int, required: str) -> str:
    """The member's role if sufficient; AuthenticationRequired / Http404 / PermissionDenied otherwise."""
    return _check_user_role(request.user, team_id, required)


def _check_user_role(user: object, team_id: int, required: str) -> str:
    if not _is_authenticated(user):
        raise AuthenticationRequired()
    role = role_in_team(user, team_id)
    if role is None:
        raise Http404("No such project.")
    if not has_role(role, required):
        raise PermissionDenied(f"This needs the {required} role in the team; you are {role}.")
    return role


def _get_project_for_user(request: HttpRequest, project_id: int, required: str = Role.VIEWER) -> Project:
    """The project if the user's role in its team is at least `required`."""
    project = Project.objects.select_related("team").filter(pk=project_id).first()
    if project is None:
        refuse(request, Http404("No such project."))
    _check_role(request, project.team_id, required)
    return project


def get_version_for_user(
    user: object, version_id: int, share_tokens: Iterable[str] = (), required: str = Role.VIEWER
) -> Version:
    """The version if `user` may access it with `required`; the public check other apps call.

    `share_tokens` (see request_share_tokens / session_share_tokens) grant viewer access to the
    versions they share. Raises AuthenticationRequired (anonymous, no valid token), Http404
    (no such version, or not a member of its team) or PermissionDenied (role too low).
    """
    version = Version.objects.select_related("project__team", "author").filter(pk=version_id).first()
    if version is None:
        _refuse_user(user, Http404("No such version."))
    check_version_access(user, version, share_tokens, required)
    return version


def check_version_access(
    user: object, version: Version, share_tokens: Iterable[str] = (), required: str = Role.VIEWER
) -> None:
    """get_version_for_user's check of a version the caller loaded already (with its project): a
    simulation's page and socket load it with the simulation, and each query is ~1-2 ms of the
    ORM compiling it. Raises as get_version_for_user does."""
    if required == Role.VIEWER and version.pk in shared_version_ids(share_tokens):
        return
    _check_user_role(user, version.project.team_id, required)


def _get_version_for_user(request: HttpRequest, version_id: int, required: str = Role.VIEWER) -> Version:
    """get_version_for_user for a page or API request (its user and share tokens)."""
    return get_version_for_user(request.user, version_id, request_share_tokens(request), required)


def _get_share_link_for_user(request: HttpRequest, link_id: int) -> ShareLink:
    """A share link the user may revoke (editor of the version's team)."""
    link = ShareLink.objects.select_related("version__project").filter(pk=link_id).first()
    if link is None:
        refuse(request, Http404("No such share link."))
    _check_role(request, link.version.project.team_id, Role.EDITOR)
    return link


def version_role(request: HttpRequest, version: Version) -> str | None:
    """The requester's team role for a version's project (None for share-link visitors)."""
    return role_in_team(request.user, version.project.team_id)


def _get_team_for_user(request: HttpRequest, team_id: int, required: str = Role.VIEWER) -> Team:
    """The team if the user's role in it is at least `required` (404 for non-members)."""
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        refuse(request, Http404("No such team."))
    _check_role(request, team.pk, required)
    return team
