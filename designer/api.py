"""JSON REST API of the designer (Django REST framework; OpenAPI at /api/schema/).

Token or session authentication (token first, so an anonymous request gets 401 with
`WWW-Authenticate: Token`); session clients send the CSRF token on writes. The access rules are
the pages' (permissions.py): 404 outsider, 403 role too low, read-only access to one version
through a share link (`?share=<token>` or a session that opened `/s/<token>/`).

JSON shapes (see also the payloads in views.py):
  version   {"id", "number", "label", "project", "parent", "author", "created_at", "message", "entry"}
            (GET /api/versions/<id> adds "files", "fakes" and "scenarios" (paths), "urls")
  project   {"id", "name", "description", "team": {"id", "name"}, "role", "latest": version|null, "urls"}
  file      {"path", "size", "sha256", "url"}           (lists)
  content   {"path", "size", "sha256", "binary", "content": text|null}
  diff      {"a": version, "b": version, "files": [{"path", "status", "diff", "binary"}]}
  graph     the Graph JSON of the team brief;  lint: {"findings": [...lint JSON...]}
  conflict  409 {"detail": message, "conflict": true, "base": version|null, "latest": version}
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import api_view, authentication_classes, parser_classes, permission_classes
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from designer import history
from designer.analysis import AnalysisUnavailable, project_graph, project_lint
from designer.importing import UploadError, clean_path, read_upload
from designer.models import FAKES_FOLDER, SCENARIOS_FOLDER, Draft, Membership, Project, Role, ShareLink, Team
from designer.permissions import (
    _get_project_for_user,
    _get_share_link_for_user,
    _get_version_for_user,
    has_role,
    refuse,
    require_user,
    role_in_team,
    version_role,
)
from designer.serializers import (
    CommentCreateSerializer,
    DraftEntrySerializer,
    DraftFileCreateSerializer,
    DraftFileWriteSerializer,
    DraftRenameSerializer,
    DraftSaveSerializer,
    ProjectCreateSerializer,
    VersionUploadSerializer,
)
from designer.starters import load_starter
from designer.views import create_comment, draft_json, version_files_json, version_json, version_urls, zip_response

AUTH = [TokenAuthentication, SessionAuthentication]
ANY = [AllowAny]  # access is decided by the permissions.py helpers, share links included
GRAPH_CACHE_SECONDS = 3600


def api(methods: list[str], **schema: Any) -> Any:
    """`@api_view` with the designer's authentication, parsers and an OpenAPI description."""

    def decorate(function: Any) -> Any:
        name = function.__name__
        function = api_view(methods)(
            authentication_classes(AUTH)(
                permission_classes(ANY)(parser_classes([JSONParser, MultiPartParser, FormParser])(function))
            )
        )
        for method in methods:
            # One operationId per method (function views serving several methods would collide).
            function = extend_schema(methods=[method], operation_id=f"{name}_{method.lower()}", **schema)(function)
        return function

    return decorate


def _valid(serializer_class: Any, request: Request) -> dict[str, Any]:
    """Validated request data, or 400 with field errors."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def project_json(project: Project, role: str | None) -> dict[str, Any]:
    """JSON of a project for the API."""
    latest = project.latest_version
    return {
        "id": project.pk,
        "name": project.name,
        "description": project.description,
        "team": {"id": project.team_id, "name": project.team.name},
        "role": role,
        "latest": version_json(latest) if latest else None,
        "urls": {
            "page": reverse("designer-project-detail", args=[project.pk]),
            "api": reverse("designer-api-project-detail", args=[project.pk]),
            "versions": reverse("designer-api-version-list", args=[project.pk]),
            "draft": reverse("designer-api-draft", args=[project.pk]),
        },
    }


def conflict_response(exc: history.StaleParentError) -> Response:
    """409 for a save/upload on a stale parent."""
    return Response(
        {
            "detail": str(exc),
            "conflict": True,
            "base": version_json(exc.parent) if exc.parent else None,
            "latest": version_json(exc.latest) if exc.latest else None,
        },
        status=status.HTTP_409_CONFLICT,
    )


# --------------------------------------------------------------------------------------------
# Teams, projects and versions


@api(["GET"], responses=OpenApiTypes.OBJECT)
def team_list(request: Request) -> Response:
    """The user's teams with their role: `{"teams": [{"id", "name", "role"}]}`."""
    require_user(request)
    memberships = Membership.objects.filter(user=request.user).select_related("team").order_by("team__name")
    return Response({"teams": [{"id": m.team_id, "name": m.team.name, "role": m.role} for m in memberships]})


@api(["GET", "POST"], request=ProjectCreateSerializer, responses=OpenApiTypes.OBJECT)
def project_list(request: Request) -> Response:
    """GET: projects of the user's teams. POST: create a project (editor role in the team)."""
    require_user(request)
    if request.method == "GET":
        roles = dict(Membership.objects.filter(user=request.user).values_list("team_id", "role"))
        projects = Project.objects.filter(team_id__in=roles).select_related("team").order_by("team__name", "name")
        return Response({"projects": [project_json(p, roles[p.team_id]) for p in projects]})
    data = _valid(ProjectCreateSerializer, request)
    team = Team.objects.filter(pk=data["team"]).first()
    role = role_in_team(request.user, team.pk) if team else None
    if role is None:
        raise ValidationError({"team": ["You are not a member of this team."]})
    if not has_role(role, Role.EDITOR):
        raise PermissionDenied("Creating projects needs the editor role in the team.")
    files, entry = load_starter(data["starter"])
    try:
        with transaction.atomic():
            project = Project.objects.create(
                team=team, name=data["name"].strip(), description=data["description"], created_by=request.user
            )
            if files:
                history.create_version(
                    project,
                    files,
                    author=request.user,
                    message="Created from the starter template",
                    parent=None,
                    entry=entry,
                )
    except IntegrityError:
        raise ValidationError({"name": [f"The team already has a project named {data['name']!r}."]})
    return Response(project_json(project, role), status=status.HTTP_201_CREATED)


@api(["GET"], responses=OpenApiTypes.OBJECT)
def project_detail(request: Request, project_id: int) -> Response:
    """One project with its versions."""
    project = _get_project_for_user(request, project_id)
    data = project_json(project, role_in_team(request.user, project.team_id))
    data["versions"] = [version_json(v) for v in project.versions.select_related("author").order_by("-number")]
    return Response(data)


@api(["GET", "POST"], request={"multipart/form-data": VersionUploadSerializer}, responses=OpenApiTypes.OBJECT)
def version_list(request: Request, project_id: int) -> Response:
    """GET: the versions, newest first. POST: upload a .scxml/zip as the next version (editor).

    `parent` must name the latest version when the project has versions (otherwise 409), so an
    upload never silently replaces work saved in the meantime.
    """
    if request.method == "GET":
        project = _get_project_for_user(request, project_id)
        versions = project.versions.select_related("author").order_by("-number")
        return Response({"versions": [version_json(v) for v in versions]})
    project = _get_project_for_user(request, project_id, Role.EDITOR)
    data = _valid(VersionUploadSerializer, request)
    parent = None
    if data.get("parent"):
        parent = project.versions.filter(pk=data["parent"]).first()
        if parent is None:
            raise ValidationError({"parent": ["That version does not belong to this project."]})
    upload = data["file"]
    try:
        files = read_upload(upload.name, upload.read())
        version = history.create_version(
            project, files, author=request.user, message=data["message"], parent=parent, entry=data["entry"]
        )
    except UploadError as exc:
        raise ValidationError({"file": [str(exc)]})
    except history.StaleParentError as exc:
        return conflict_response(exc)
    return Response(version_json(version), status=status.HTTP_201_CREATED)


@api(["GET"], responses=OpenApiTypes.OBJECT)
def version_detail(request: Request, version_id: int) -> Response:
    """A version with its file list and URLs."""
    version = _get_version_for_user(request, version_id)
    return Response(
        {
            **version_json(version),
            "files": version_files_json(version),
            "fakes": version.paths_under(FAKES_FOLDER),
            "scenarios": version.paths_under(SCENARIOS_FOLDER),
            "urls": version_urls(version),
        }
    )


@api(["GET"], responses=OpenApiTypes.OBJECT)
def version_file(request: Request, version_id: int, path: str) -> Response:
    """One file of a version: text content (null for binary files)."""
    version = _get_version_for_user(request, version_id)
    row = get_object_or_404(version.files.select_related("blob"), path=path)
    return Response(content_json(row.path, row.blob_id, row.blob.data()))


def content_json(path: str, sha256: str, content: bytes) -> dict[str, Any]:
    """JSON of one file's content."""
    text = None
    if b"\x00" not in content:
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    return {"path": path, "size": len(content), "sha256": sha256, "binary": text is None, "content": text}


@extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
@api(["GET"])
def version_export(request: Request, version_id: int) -> HttpResponse:
    """The version as a zip (project layout, exact bytes)."""
    version = _get_version_for_user(request, version_id)
    return zip_response(version)


def _analysis_key(kind: str, entry: str, file_map: dict[str, str]) -> str:
    digest = hashlib.sha256(repr((entry, sorted(file_map.items()))).encode()).hexdigest()
    return f"designer-{kind}:{digest}"


def _analysed(kind: str, entry: str, file_map: dict[str, str], files_loader: Any) -> Response:
    """Graph or lint of a file set (cached by content), or 503 while the engine code is missing."""
    if not entry:
        return Response(
            {"detail": "The project has no entry document; choose one in the draft."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    key = _analysis_key(kind, entry, file_map)
    result = cache.get(key)
    if result is None:
        try:
            files = files_loader()
            result = project_graph(files, entry) if kind == "graph" else {"findings": project_lint(files, entry)}
        except AnalysisUnavailable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        cache.set(key, result, GRAPH_CACHE_SECONDS)
    return Response(result)


@api(["GET"], responses=OpenApiTypes.OBJECT)
def version_graph(request: Request, version_id: int) -> Response:
    """Graph JSON of the version's entry document (states, transitions, extension calls, lines)."""
    version = _get_version_for_user(request, version_id)
    return _analysed("graph", version.entry, version.file_map(), version.read_files)


@api(["GET"], responses=OpenApiTypes.OBJECT)
def version_lint(request: Request, version_id: int) -> Response:
    """Lint findings of the version: `{"findings": [...]}`."""
    version = _get_version_for_user(request, version_id)
    return _analysed("lint", version.entry, version.file_map(), version.read_files)


@api(["GET"], responses=OpenApiTypes.OBJECT)
def version_diff(request: Request, version_a: int, version_b: int) -> Response:
    """Per-file unified diff from version a to version b."""
    a = _get_version_for_user(request, version_a)
    b = _get_version_for_user(request, version_b)
    files = history.diff_versions(a, b)
    return Response({"a": version_json(a), "b": version_json(b), "files": [f.as_json() for f in files]})


# --------------------------------------------------------------------------------------------
# Comments and share links


def comment_json(comment: Any) -> dict[str, Any]:
    """JSON of one comment."""
    return {
        "id": comment.pk,
        "parent": comment.parent_id,
        "author": comment.author.get_username() if comment.author else None,
        "path": comment.path or None,
        "line": comment.line,
        "body": comment.body,
        "created_at": comment.created_at.isoformat(),
    }


@api(["GET", "POST"], request=CommentCreateSerializer, responses=OpenApiTypes.OBJECT)
def comment_list(request: Request, version_id: int) -> Response:
    """GET: the version's comments in time order (threads via `parent`). POST: comment (members)."""
    version = _get_version_for_user(request, version_id)
    if request.method == "GET":
        comments = version.comments.select_related("author")
        return Response({"comments": [comment_json(c) for c in comments]})
    if version_role(request, version) is None:
        refuse(request, PermissionDenied("Only team members can comment; a share link is read-only."))
    data = _valid(CommentCreateSerializer, request)
    try:
        comment = create_comment(version, request.user, data)
    except UploadError as exc:
        raise ValidationError({"detail": [str(exc)]})
    return Response(comment_json(comment), status=status.HTTP_201_CREATED)


def share_json(request: HttpRequest, link: ShareLink) -> dict[str, Any]:
    """JSON of a share link."""
    return {
        "id": link.pk,
        "version": link.version_id,
        "url": request.build_absolute_uri(reverse("designer-sharelink-open", args=[link.token])),
        "token": link.token,
        "active": link.is_active,
        "created_at": link.created_at.isoformat(),
        "revoked_at": link.revoked_at.isoformat() if link.revoked_at else None,
    }


@api(["GET", "POST"], request=None, responses=OpenApiTypes.OBJECT)
def sharelink_list(request: Request, version_id: int) -> Response:
    """GET: the version's share links. POST: create one (editor role)."""
    version = _get_version_for_user(request, version_id, Role.EDITOR)
    if request.method == "GET":
        return Response({"share_links": [share_json(request, link) for link in version.share_links.all()]})
    link = ShareLink.objects.create(version=version, created_by=request.user)
    return Response(share_json(request, link), status=status.HTTP_201_CREATED)


@api(["DELETE"], responses={204: None})
def sharelink_detail(request: Request, link_id: int) -> Response:
    """Revoke a share link (editor role)."""
    link = _get_share_link_for_user(request, link_id)
    link.revoke()
    return Response(status=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------------------------
# Drafts (editor role; one per user and project)


def _draft(request: Request, project_id: int) -> Draft:
    project = _get_project_for_user(request, project_id, Role.EDITOR)
    return history.get_or_start_draft(project, request.user)


def _upload_error(exc: UploadError) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)


@api(["GET", "DELETE"], responses=OpenApiTypes.OBJECT)
def draft_detail(request: Request, project_id: int) -> Response:
    """GET: the user's draft (started from the latest version if missing). DELETE: discard it."""
    if request.method == "DELETE":
        project = _get_project_for_user(request, project_id, Role.EDITOR)
        Draft.objects.filter(project=project, user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(draft_json(_draft(request, project_id)))


@api(["POST"], request=DraftFileCreateSerializer, responses=OpenApiTypes.OBJECT)
def draft_files(request: Request, project_id: int) -> Response:
    """Write a draft file `{"path", "content"}`: 201 when created, 200 when replaced."""
    draft = _draft(request, project_id)
    data = _valid(DraftFileCreateSerializer, request)
    try:
        path = clean_path(data["path"])
        existed = draft.files.filter(path=path).exists()
        row = history.write_draft_file(draft, path, data["content"].encode("utf-8"))
    except UploadError as exc:
        return _upload_error(exc)
    return Response(
        {
            "path": row.path,
            "sha256": row.blob_id,
            "size": row.blob.size,
            "url": reverse("designer-api-draft-file", args=[project_id, row.path]),
        },
        status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
    )


@api(["POST"], request=DraftEntrySerializer, responses={204: None})
def draft_delete(request: Request, project_id: int) -> Response:
    """Delete a draft file `{"path"}`."""
    draft = _draft(request, project_id)
    data = _valid(DraftEntrySerializer, request)
    try:
        history.delete_draft_file(draft, data["path"])
    except UploadError as exc:
        return _upload_error(exc)
    return Response(status=status.HTTP_204_NO_CONTENT)


@api(["GET", "PUT", "DELETE"], request=DraftFileWriteSerializer, responses=OpenApiTypes.OBJECT)
def draft_file(request: Request, project_id: int, path: str) -> Response:
    """GET the content of a draft file, PUT new text content (creates it if needed), DELETE it."""
    draft = _draft(request, project_id)
    try:
        if request.method == "GET":
            row = get_object_or_404(draft.files.select_related("blob"), path=path)
            return Response(content_json(row.path, row.blob_id, row.blob.data()))
        if request.method == "DELETE":
            history.delete_draft_file(draft, path)
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = _valid(DraftFileWriteSerializer, request)
        row = history.write_draft_file(draft, path, data["content"].encode("utf-8"))
    except UploadError as exc:
        return _upload_error(exc)
    return Response({"path": row.path, "sha256": row.blob_id, "size": row.blob.size, "stale": draft.is_stale()})


@api(["POST"], request=DraftRenameSerializer, responses=OpenApiTypes.OBJECT)
def draft_rename(request: Request, project_id: int) -> Response:
    """Rename a draft file; answers the new file URL."""
    draft = _draft(request, project_id)
    data = _valid(DraftRenameSerializer, request)
    try:
        row = history.rename_draft_file(draft, data["old"], data["new"])
    except UploadError as exc:
        return _upload_error(exc)
    return Response({"path": row.path, "url": reverse("designer-api-draft-file", args=[project_id, row.path])})


@api(["POST"], request=DraftEntrySerializer, responses=OpenApiTypes.OBJECT)
def draft_entry(request: Request, project_id: int) -> Response:
    """Choose the draft's entry document."""
    draft = _draft(request, project_id)
    data = _valid(DraftEntrySerializer, request)
    try:
        history.set_draft_entry(draft, data["path"])
    except UploadError as exc:
        return _upload_error(exc)
    return Response({"entry": draft.entry})


@api(["POST"], request=DraftSaveSerializer, responses=OpenApiTypes.OBJECT)
def draft_save(request: Request, project_id: int) -> Response:
    """Save the draft as a new version (201), or 409 if another version was saved meanwhile."""
    draft = _draft(request, project_id)
    data = _valid(DraftSaveSerializer, request)
    try:
        version = history.save_draft(draft, data["message"])
    except history.StaleParentError as exc:
        return conflict_response(exc)
    except UploadError as exc:
        return _upload_error(exc)
    body = version_json(version)
    body["urls"] = version_urls(version)
    body["url"] = body["urls"]["page"]
    return Response(body, status=status.HTTP_201_CREATED)


@api(["POST"], request=None, responses=OpenApiTypes.OBJECT)
def draft_rebase(request: Request, project_id: int) -> Response:
    """Base the draft on the latest version, keeping its files (after a 409)."""
    draft = history.rebase_draft(_draft(request, project_id))
    return Response(draft_json(draft))


@api(["GET"], responses=OpenApiTypes.OBJECT)
def draft_graph(request: Request, project_id: int) -> Response:
    """Graph JSON of the draft's entry document."""
    draft = _draft(request, project_id)
    return _analysed("graph", draft.entry, draft.file_map(), draft.read_files)


@api(["GET"], responses=OpenApiTypes.OBJECT)
def draft_lint(request: Request, project_id: int) -> Response:
    """Lint findings of the draft: `{"findings": [...]}`."""
    draft = _draft(request, project_id)
    return _analysed("lint", draft.entry, draft.file_map(), draft.read_files)
