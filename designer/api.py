"""JSON REST API of the designer (Django REST framework; OpenAPI at /api/schema/).

Token or session authentication (token first, so an anonymous request gets 401 with
`WWW-Authenticate: Token`); session clients send the CSRF token on writes. The access rules are
the pages' (permissions.py): 404 outsider, 403 role too low, read-only access to one version
through a share link (`?share=<token>` or a session that opened `/s/<token>/`).

Every JSON shape is an output serializer of designer/serializers.py (shared with the pages'
payloads), and every operation declares each status code it answers, with its schema, so
/api/schema/ documents the whole API (tests/designer/test_openapi.py checks it).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import urlencode
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    parser_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from designer import history
from designer.analysis import analysed
from designer.importing import NoSuchFile, StateConflict, UploadError, choose_entry, clean_path, read_upload
from designer.layouts import LayoutError, clean_layout, keep_draft_layout, keep_layout
from designer.models import PATH_MAX_LENGTH, Draft, Membership, Project, Role, ShareLink, Team, Version
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
    PATH_PATTERN,
    CommentCreateSerializer,
    CommentListSerializer,
    CommentSerializer,
    ConflictSerializer,
    DiagramLayoutSerializer,
    DiffSerializer,
    DraftEntrySerializer,
    DraftFileCreateSerializer,
    DraftFileWriteSerializer,
    DraftFileWrittenSerializer,
    DraftPathSerializer,
    DraftRenameSerializer,
    DraftSaveSerializer,
    DraftSerializer,
    ErrorSerializer,
    FileContentSerializer,
    FontFingerprintSerializer,
    FontTableSerializer,
    GraphSerializer,
    LintSerializer,
    ProjectCreateSerializer,
    ProjectDetailSerializer,
    ProjectListSerializer,
    ProjectSerializer,
    ShareLinkListSerializer,
    ShareLinkSerializer,
    TeamListSerializer,
    UploadedVersionSerializer,
    VersionCreatedSerializer,
    VersionDetailSerializer,
    VersionListSerializer,
    VersionUploadSerializer,
    diff_data,
    file_api_url,
    file_content,
)
from designer.serverlayouts import MAX_TABLE_BYTES, FontTableError, clean_font_table, keep_font_table
from designer.starters import load_starter
from designer.views import create_comment, zip_response
from orchweb.throttling import RequestRateThrottle, work_throttle

AUTH = [TokenAuthentication, SessionAuthentication]
ANY = [AllowAny]  # access is decided by the permissions.py helpers, share links included

#: The refusals, by status code, with the situation each one documents.
ERRORS = {
    400: "The request does not match the schema: `detail`, or one list of messages per field.",
    401: "Not authenticated (and no share token granting access).",
    403: "Your role in the team is too low for this.",
    404: "No such object, or not visible to you (outsiders get 404, never 403).",
    409: "Conflict with the current state (`detail` says which); nothing was changed.",
    413: "The body is larger than the operation reads (`detail` says the limit).",
    415: "The body is not of the media type the operation reads (JSON; multipart for uploads).",
    422: "The request matches the schema but its content cannot be used (`detail` says why).",
    429: (
        "Too many requests: past your request rate (`Retry-After`: seconds to wait), "
        "or busy (one scenario run at a time per user)."
    ),
}
READ = (401, 404)  # what a read of a team's object may answer besides 200
WRITE = (400, 401, 403, 404)  # a write needing a role
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
PAGE_PARAMETERS = [
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        description=f"Items per page (default {PAGE_SIZE}, at most {MAX_PAGE_SIZE})",
    ),
    OpenApiParameter("offset", {"type": "integer", "minimum": 0}, description="Items to skip (default 0)"),
]
ENTRY_PARAMETER = OpenApiParameter(
    "entry", str, description="Start from this document instead of the entry (an IPD or runnable workflow)"
)


#: 400 bodies: `detail` (one message), or DRF's field errors (one list of messages per field; an
#: object field's errors are an object of the same form).
VALIDATION_ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {
        "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object", "additionalProperties": True}]
    },
}


def responses(ok: dict[Any, Any], errors: tuple[int, ...]) -> dict[Any, Any]:
    """The `responses` of an operation: its successes and each refusal it may answer (a code
    already in `ok` keeps the body given there)."""
    result: dict[Any, Any] = dict(ok)
    for code in errors:
        body = VALIDATION_ERROR if code == 400 else ErrorSerializer
        result.setdefault(code, OpenApiResponse(body, ERRORS[code]))
    return result


#: 409 of a save or upload: `conflict` with the base and latest versions when the work is based
#: on a version that is no longer the latest, `detail` alone when there is nothing to save.
STALE = {409: OpenApiResponse(ConflictSerializer, ERRORS[409])}


def api(
    methods: list[str],
    parsers: list[Any] | None = None,
    work: tuple[str, ...] | None = None,
    **schema_by_method: dict[str, Any],
) -> Any:
    """`@api_view` with the designer's authentication, parsers (JSON unless given), request-rate
    limits and one OpenAPI description per method.

    Every request counts in the user's `requests` rate; the `work` methods (expensive: uploads,
    version creation, analysis, exports, runs) also in the `work` rate (orchweb/throttling.py).
    """

    def decorate(function: Any) -> Any:
        name = function.__name__
        throttles = [RequestRateThrottle] + ([work_throttle(*work)] if work is not None else [])
        function = throttle_classes(throttles)(function)
        function = api_view(methods)(
            authentication_classes(AUTH)(permission_classes(ANY)(parser_classes(parsers or [JSONParser])(function)))
        )
        for method in methods:
            # One operationId per method (function views serving several methods would collide).
            schema = dict(schema_by_method[method])
            if schema.get("request") is not None:  # a body of another media type is refused
                schema["responses"] = {**schema["responses"], 415: OpenApiResponse(ErrorSerializer, ERRORS[415])}
            function = extend_schema(methods=[method], operation_id=f"{name}_{method.lower()}", **schema)(function)
        return function

    return decorate


def _valid(serializer_class: Any, request: Request) -> dict[str, Any]:
    """Validated request data, or 400 with field errors."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def paginate(request: Request, queryset: Any, key: str) -> dict[str, Any]:
    """`{key: items of this page, "count", "next", "previous"}` of a list (`?limit=&offset=`)."""
    try:
        limit = int(request.query_params.get("limit", PAGE_SIZE))
        offset = int(request.query_params.get("offset", 0))
    except ValueError:
        raise ValidationError({"detail": "limit and offset must be integers."}) from None
    if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
        raise ValidationError({"detail": f"limit must be between 1 and {MAX_PAGE_SIZE}, offset at least 0."})
    count = queryset.count()
    offset = min(offset, count)  # past the end: an empty page (and no huge integer reaches the database)
    url = request.build_absolute_uri(request.path)

    def page_url(start: int) -> str:
        return f"{url}?{urlencode({'limit': limit, 'offset': start})}"

    return {
        key: list(queryset[offset : offset + limit]),
        "count": count,
        "next": page_url(offset + limit) if offset + limit < count else None,
        "previous": page_url(max(offset - limit, 0)) if offset > 0 else None,
    }


def conflict_response(exc: history.StaleParentError) -> Response:
    """409 for a save/upload on a stale parent."""
    return Response(ConflictSerializer(exc).data, status=status.HTTP_409_CONFLICT)


def _error(message: str, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"detail": message}, status=code)


def _refused(exc: UploadError, missing: int = status.HTTP_422_UNPROCESSABLE_ENTITY) -> Response:
    """409 when the draft's state refuses the request, 422 for content that cannot be used (the
    schema already refused malformed requests with 400). A file the body names but the draft does
    not have is 422 too, so 404 always means the URL's object; `missing=404` when the URL names the
    file."""
    if isinstance(exc, NoSuchFile):
        return _error(str(exc), missing)
    if isinstance(exc, StateConflict):
        return _error(str(exc), status.HTTP_409_CONFLICT)
    return _error(str(exc), status.HTTP_422_UNPROCESSABLE_ENTITY)


# --------------------------------------------------------------------------------------------
# Teams, projects and versions


LIST = (400, 401)  # a list of the user's own objects: bad page parameters, anonymous


@api(["GET"], GET={"parameters": PAGE_PARAMETERS, "responses": responses({200: TeamListSerializer}, LIST)})
def team_list(request: Request) -> Response:
    """The user's teams with their role (paginated)."""
    require_user(request)
    memberships = Membership.objects.filter(user=request.user).select_related("team").order_by("team__name", "pk")
    return Response(TeamListSerializer(paginate(request, memberships, "teams")).data)


@api(
    ["GET", "POST"],
    work=("POST",),
    GET={"parameters": PAGE_PARAMETERS, "responses": responses({200: ProjectListSerializer}, LIST)},
    POST={
        "request": ProjectCreateSerializer,
        "responses": responses({201: ProjectSerializer}, (400, 401, 403, 409, 422)),
    },
)
def project_list(request: Request) -> Response:
    """GET: projects of the user's teams (paginated). POST: create a project (editor role in the team)."""
    require_user(request)
    roles = dict(Membership.objects.filter(user=request.user).values_list("team_id", "role"))
    if request.method == "GET":
        projects = Project.objects.filter(team_id__in=roles).select_related("team").order_by("team__name", "name")
        page = paginate(request, projects, "projects")
        context = {"roles": roles, "latest": history.latest_versions(page["projects"])}
        return Response(ProjectListSerializer(page, context=context).data)
    data = _valid(ProjectCreateSerializer, request)
    team = Team.objects.filter(pk=data["team"]).first()
    role = role_in_team(request.user, team.pk) if team else None
    if role is None:  # the same answer whether the team exists or not
        return _error("No such team among yours.", status.HTTP_422_UNPROCESSABLE_ENTITY)
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
        return _error(f"The team already has a project named {data['name']!r}.", status.HTTP_409_CONFLICT)
    return Response(ProjectSerializer(project, context={"roles": roles}).data, status=status.HTTP_201_CREATED)


@api(["GET"], GET={"responses": responses({200: ProjectDetailSerializer}, READ)})
def project_detail(request: Request, project_id: int) -> Response:
    """One project with its versions, newest first."""
    project = _get_project_for_user(request, project_id)
    roles = {project.team_id: role_in_team(request.user, project.team_id)}
    return Response(ProjectDetailSerializer(project, context={"roles": roles}).data)


@api(
    ["GET", "POST"],
    work=("POST",),
    parsers=[MultiPartParser, FormParser],  # the upload of a file
    GET={"parameters": PAGE_PARAMETERS, "responses": responses({200: VersionListSerializer}, (400, *READ))},
    POST={
        "request": {"multipart/form-data": VersionUploadSerializer},
        "responses": responses({201: UploadedVersionSerializer, **STALE}, (*WRITE, 422)),
    },
)
def version_list(request: Request, project_id: int) -> Response:
    """GET: the versions, newest first (paginated). POST: upload a .scxml/zip as the next version (editor).

    `parent` must name the latest version when the project has versions (otherwise 409), so an
    upload never silently replaces work saved in the meantime. The answer says which entry
    document the upload starts from and why (`entry_choice`).
    """
    if request.method == "GET":
        project = _get_project_for_user(request, project_id)
        versions = project.versions.select_related("author").order_by("-number")
        return Response(VersionListSerializer(paginate(request, versions, "versions")).data)
    project = _get_project_for_user(request, project_id, Role.EDITOR)
    data = _valid(VersionUploadSerializer, request)
    parent = None
    if data.get("parent"):
        parent = project.versions.filter(pk=data["parent"]).first()
        if parent is None:
            return _error("No such version in this project.", status.HTTP_422_UNPROCESSABLE_ENTITY)
    upload = data["file"]
    try:
        files = read_upload(upload.name, upload.read())
        version = history.create_version(
            project, files, author=request.user, message=data["message"], parent=parent, entry=data["entry"]
        )
    except UploadError as exc:
        return _error(str(exc), status.HTTP_422_UNPROCESSABLE_ENTITY)
    except history.StaleParentError as exc:
        return conflict_response(exc)
    version.entry_choice = choose_entry(files)
    return Response(UploadedVersionSerializer(version).data, status=status.HTTP_201_CREATED)


@api(["GET"], GET={"responses": responses({200: VersionDetailSerializer}, READ)})
def version_detail(request: Request, version_id: int) -> Response:
    """A version with its files, fakes profiles, scenarios, entry candidates and URLs."""
    version = _get_version_for_user(request, version_id)
    return Response(VersionDetailSerializer(version).data)


@api(["GET"], GET={"responses": responses({200: FileContentSerializer}, READ)})
def version_file(request: Request, version_id: int, path: str) -> Response:
    """One file of a version: text content (null for binary files)."""
    version = _get_version_for_user(request, version_id)
    row = get_object_or_404(version.files.select_related("blob"), path=path)
    return Response(file_content(row.path, row.blob_id, row.blob.data()))


@api(
    ["GET"],
    work=("GET",),
    GET={"responses": responses({(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, "The zip")}, READ)},
)
def version_export(request: Request, version_id: int) -> HttpResponse:
    """The version as a zip (project layout, exact bytes)."""
    version = _get_version_for_user(request, version_id)
    return zip_response(version)


def _analysed(request: Request, kind: str, file_set: Any) -> Response:
    """Graph or lint of a version or draft (cached by content).

    `?entry=<path>` analyses another document of the file set (any IPD or workflow the user
    picks on the diagram page) without changing the stored entry.
    """
    file_map = file_set.file_map()
    entry = request.query_params.get("entry") or file_set.entry
    if not entry:
        return _error("The project has no entry document; choose one in the draft.", status.HTTP_404_NOT_FOUND)
    if entry not in file_map:
        return _error(f"{entry}: no such document in this project.", status.HTTP_404_NOT_FOUND)
    return Response(analysed(kind, file_set, entry))


GRAPH = {"parameters": [ENTRY_PARAMETER], "responses": responses({200: GraphSerializer}, READ)}
LINT = {"parameters": [ENTRY_PARAMETER], "responses": responses({200: LintSerializer}, READ)}
DRAFT_GRAPH = {"parameters": [ENTRY_PARAMETER], "responses": responses({200: GraphSerializer}, (401, 403, 404))}
DRAFT_LINT = {"parameters": [ENTRY_PARAMETER], "responses": responses({200: LintSerializer}, (401, 403, 404))}


@api(["GET"], work=("GET",), GET=GRAPH)
def version_graph(request: Request, version_id: int) -> Response:
    """Graph JSON of the version's entry document (states, transitions, extension calls, lines)."""
    version = _get_version_for_user(request, version_id)
    return _analysed(request, "graph", version)


@api(
    ["POST"],
    POST={"request": DiagramLayoutSerializer, "responses": responses({204: None}, (400, 401, 404, 422))},
)
def version_layout(request: Request, version_id: int) -> Response:
    """Keep your browser's ELK layout of the version's diagram (document `entry`): your next
    simulation page of the version draws it at once. Posted by an editor or owner of the project,
    it is also served to every reader of the version who has no layout of their own (while the
    poster keeps that role); a viewer's is served back to them only (designer.models.DiagramLayout).
    422 when it is not a layout of that document's graph or is too large (designer/layouts.py)."""
    version = _get_version_for_user(request, version_id)
    require_user(request)
    data = _valid(DiagramLayoutSerializer, request)
    layout = _posted_layout(data, version)
    if isinstance(layout, Response):
        return layout
    keep_layout(request.user, version, data["entry"], data["key"], layout)
    return Response(status=status.HTTP_204_NO_CONTENT)


@api(
    ["POST"],
    work=("POST",),
    POST={
        "request": FontTableSerializer,
        "responses": responses({200: FontFingerprintSerializer}, (400, 401, 413, 422)),
    },
)
def font_table(request: Request) -> Response:
    """Report your browser's character widths for the diagram's fonts (a page does, once a session,
    after its first view): the server then lays out the new versions of your projects for them,
    and, for a table new to you, the latest versions of your most recently changed projects, so
    your first open of a version draws at once (designer/serverlayouts.py). Answers the table's
    fingerprint (the `orchweb_fonts` cookie). Counts in your `work` rate. 413 for a body over
    256 KiB; 422 when it is not a table of widths within the bounds: at most 4 fonts of 1,024
    characters each, every width a number from 0 to 1,000 px."""
    require_user(request)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0  # Django reads no body then, and neither does the parser
    if length > MAX_TABLE_BYTES:  # refused before parsing: a table within the bounds is far smaller
        return _error(f"The table is larger than {MAX_TABLE_BYTES} bytes.", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    data = _valid(FontTableSerializer, request)
    try:
        table = clean_font_table(data["table"])
    except FontTableError as exc:
        return _error(str(exc), status.HTTP_422_UNPROCESSABLE_ENTITY)
    return Response({"fingerprint": keep_font_table(request.user, table)})


def _posted_layout(data: dict[str, Any], file_set: Version | Draft) -> dict[str, Any] | Response:
    """The cleaned layout of a valid DiagramLayoutSerializer body, or its 422 answer."""
    if data["entry"] not in file_set.file_map():
        return _error(f"{data['entry']}: no such document here.", status.HTTP_422_UNPROCESSABLE_ENTITY)
    try:
        return clean_layout(data["layout"], analysed("graph", file_set, data["entry"]))
    except LayoutError as exc:
        return _error(str(exc), status.HTTP_422_UNPROCESSABLE_ENTITY)


@api(["GET"], work=("GET",), GET=LINT)
def version_lint(request: Request, version_id: int) -> Response:
    """Lint findings of the version."""
    version = _get_version_for_user(request, version_id)
    return _analysed(request, "lint", version)


@api(["GET"], work=("GET",), GET={"responses": responses({200: DiffSerializer}, READ)})
def version_diff(request: Request, version_a: int, version_b: int) -> Response:
    """Per-file unified diff from version a to version b, and the change of entry document."""
    a = _get_version_for_user(request, version_a)
    b = _get_version_for_user(request, version_b)
    return Response(diff_data(a, b, history.diff_versions(a, b)))


# --------------------------------------------------------------------------------------------
# Comments and share links


@api(
    ["GET", "POST"],
    GET={"parameters": PAGE_PARAMETERS, "responses": responses({200: CommentListSerializer}, (400, *READ))},
    POST={"request": CommentCreateSerializer, "responses": responses({201: CommentSerializer}, (*WRITE, 422))},
)
def comment_list(request: Request, version_id: int) -> Response:
    """GET: the version's comments in time order (threads via `parent`). POST: comment (members)."""
    version = _get_version_for_user(request, version_id)
    if request.method == "GET":
        comments = version.comments.select_related("author").order_by("created_at", "pk")
        return Response(CommentListSerializer(paginate(request, comments, "comments")).data)
    if version_role(request, version) is None:
        refuse(request, PermissionDenied("Only team members can comment; a share link is read-only."))
    data = _valid(CommentCreateSerializer, request)
    try:
        comment = create_comment(version, request.user, data)
    except UploadError as exc:
        return _refused(exc)
    return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


@api(
    ["GET", "POST"],
    GET={"parameters": PAGE_PARAMETERS, "responses": responses({200: ShareLinkListSerializer}, (400, 401, 403, 404))},
    POST={"request": None, "responses": responses({201: ShareLinkSerializer}, (401, 403, 404))},
)
def sharelink_list(request: Request, version_id: int) -> Response:
    """GET: the version's share links. POST: create one (editor role)."""
    version = _get_version_for_user(request, version_id, Role.EDITOR)
    context = {"request": request}
    if request.method == "GET":
        links = version.share_links.order_by("-created_at", "-pk")
        return Response(ShareLinkListSerializer(paginate(request, links, "share_links"), context=context).data)
    link = ShareLink.objects.create(version=version, created_by=request.user)
    return Response(ShareLinkSerializer(link, context=context).data, status=status.HTTP_201_CREATED)


@api(["DELETE"], DELETE={"responses": responses({204: None}, (401, 403, 404))})
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


def _written(draft: Draft, row: Any) -> dict[str, Any]:
    return DraftFileWrittenSerializer(
        {
            "path": row.path,
            "sha256": row.blob_id,
            "size": row.blob.size,
            "url": file_api_url("designer-api-draft-file", draft.project_id, row.path),
            "stale": draft.is_stale(),
            "entry": draft.entry,
        }
    ).data


@api(["GET"], GET={"responses": responses({200: DraftSerializer}, (401, 403, 404))})
def draft_detail(request: Request, project_id: int) -> Response:
    """The user's draft (started from the latest version if missing)."""
    return Response(DraftSerializer(_draft(request, project_id)).data)


@api(["POST"], POST={"request": None, "responses": responses({204: None}, (401, 403, 404))})
def draft_discard(request: Request, project_id: int) -> Response:
    """Discard the user's draft: the next use starts a fresh one from the latest version.

    An action rather than DELETE of the draft: a draft always exists for an editor (reading it
    starts it), so it is reset, never gone."""
    project = _get_project_for_user(request, project_id, Role.EDITOR)
    Draft.objects.filter(project=project, user=request.user).delete()
    return Response(status=status.HTTP_204_NO_CONTENT)


@api(
    ["POST"],
    POST={
        "request": DraftFileCreateSerializer,
        "responses": responses({200: DraftFileWrittenSerializer, 201: DraftFileWrittenSerializer}, (*WRITE, 422)),
    },
)
def draft_files(request: Request, project_id: int) -> Response:
    """Write a draft file `{"path", "content"}`: 201 when created, 200 when replaced."""
    draft = _draft(request, project_id)
    data = _valid(DraftFileCreateSerializer, request)
    try:
        path = data["path"]
        existed = draft.files.filter(path=path).exists()
        row = history.write_draft_file(draft, path, data["content"].encode("utf-8"))
    except UploadError as exc:
        return _refused(exc)
    return Response(_written(draft, row), status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


@api(["POST"], POST={"request": DraftPathSerializer, "responses": responses({204: None}, (*WRITE, 422))})
def draft_delete(request: Request, project_id: int) -> Response:
    """Delete a draft file `{"path"}`."""
    draft = _draft(request, project_id)
    data = _valid(DraftPathSerializer, request)
    try:
        history.delete_draft_file(draft, data["path"])
    except UploadError as exc:
        return _refused(exc)
    return Response(status=status.HTTP_204_NO_CONTENT)


DRAFT_PATH = OpenApiParameter(
    "path",
    {"type": "string", "pattern": PATH_PATTERN, "maxLength": PATH_MAX_LENGTH},
    OpenApiParameter.PATH,
    description="A file of the draft (its `/` may be sent as `%2F`)",
)


@api(
    ["GET", "PUT", "DELETE"],
    GET={"parameters": [DRAFT_PATH], "responses": responses({200: FileContentSerializer}, (400, 401, 403, 404))},
    PUT={
        "parameters": [DRAFT_PATH],
        "request": DraftFileWriteSerializer,
        "responses": responses({200: DraftFileWrittenSerializer}, (*WRITE, 422)),
    },
    DELETE={"parameters": [DRAFT_PATH], "responses": responses({204: None}, WRITE)},
)
def draft_file(request: Request, project_id: int, path: str) -> Response:
    """GET the content of a draft file, PUT new text content (creates it if needed), DELETE it."""
    draft = _draft(request, project_id)
    if len(path) > PATH_MAX_LENGTH or not re.search(PATH_PATTERN, path):
        return _error(f"{path[:60]!r}: not a project-relative file path.")
    path = clean_path(path)
    try:
        if request.method == "GET":
            row = get_object_or_404(draft.files.select_related("blob"), path=path)
            return Response(file_content(row.path, row.blob_id, row.blob.data()))
        if request.method == "DELETE":
            history.delete_draft_file(draft, path)
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = _valid(DraftFileWriteSerializer, request)
        row = history.write_draft_file(draft, path, data["content"].encode("utf-8"))
    except UploadError as exc:
        return _refused(exc, missing=status.HTTP_404_NOT_FOUND)
    return Response(_written(draft, row))


@api(
    ["POST"],
    POST={
        "request": DraftRenameSerializer,
        "responses": responses({200: DraftFileWrittenSerializer}, (*WRITE, 409, 422)),
    },
)
def draft_rename(request: Request, project_id: int) -> Response:
    """Rename a draft file `{"path", "new_path"}` (the page form's fields); answers the renamed file."""
    draft = _draft(request, project_id)
    data = _valid(DraftRenameSerializer, request)
    try:
        row = history.rename_draft_file(draft, data["path"], data["new_path"])
    except UploadError as exc:
        return _refused(exc)
    return Response(_written(draft, row))


@api(
    ["POST"], POST={"request": DraftPathSerializer, "responses": responses({200: DraftEntrySerializer}, (*WRITE, 422))}
)
def draft_entry(request: Request, project_id: int) -> Response:
    """Choose the draft's entry document."""
    draft = _draft(request, project_id)
    data = _valid(DraftPathSerializer, request)
    try:
        history.set_draft_entry(draft, data["path"])
    except UploadError as exc:
        return _refused(exc)
    return Response(DraftEntrySerializer({"entry": draft.entry}).data)


@api(
    ["POST"],
    work=("POST",),
    POST={
        "request": DraftSaveSerializer,
        "responses": responses({201: VersionCreatedSerializer, **STALE}, (*WRITE, 422)),
    },
)
def draft_save(request: Request, project_id: int) -> Response:
    """Save the draft as a new version (201); 409 if another version was saved meanwhile or
    nothing changed, 422 if a document of the draft is not well-formed."""
    draft = _draft(request, project_id)
    data = _valid(DraftSaveSerializer, request)
    try:
        version = history.save_draft(draft, data["message"])
    except history.StaleParentError as exc:
        return conflict_response(exc)
    except UploadError as exc:
        return _refused(exc)
    return Response(VersionCreatedSerializer(version).data, status=status.HTTP_201_CREATED)


@api(["POST"], work=("POST",), POST={"request": None, "responses": responses({200: DraftSerializer}, (401, 403, 404))})
def draft_rebase(request: Request, project_id: int) -> Response:
    """Base the draft on the latest version, keeping its files (after a 409)."""
    draft = history.rebase_draft(_draft(request, project_id))
    return Response(DraftSerializer(draft).data)


@api(["GET"], work=("GET",), GET=DRAFT_GRAPH)
def draft_graph(request: Request, project_id: int) -> Response:
    """Graph JSON of the draft's entry document."""
    return _analysed(request, "graph", _draft(request, project_id))


@api(["GET"], work=("GET",), GET=DRAFT_LINT)
def draft_lint(request: Request, project_id: int) -> Response:
    """Lint findings of the draft."""
    return _analysed(request, "lint", _draft(request, project_id))


@api(
    ["POST"],
    POST={"request": DiagramLayoutSerializer, "responses": responses({204: None}, (*WRITE, 422))},
)
def draft_diagram_layout(request: Request, project_id: int) -> Response:
    """Keep your browser's ELK layout of your draft's diagram (document `entry`, as the draft is
    now; the diagram editor posts one after each edit): the draft's diagram draws it at once, and
    the version you save from the same content starts with it as your layout of the version.
    422 as for a version's layout (designer/layouts.py)."""
    draft = _draft(request, project_id)
    data = _valid(DiagramLayoutSerializer, request)
    layout = _posted_layout(data, draft)
    if isinstance(layout, Response):
        return layout
    keep_draft_layout(draft, data["entry"], data["key"], layout)
    return Response(status=status.HTTP_204_NO_CONTENT)
