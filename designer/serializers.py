"""The designer's JSON shapes: request validation and output serializers, shared by pages and API.

Input serializers validate the API's request bodies; their field names are the page forms'
(designer/forms.py), so the two write surfaces take the same spelling. Output serializers are
the one definition of every JSON shape: the API answers with them, the editor/diagram/diff pages
embed them in their `json_script` payloads, and drf-spectacular reads them for /api/schema/.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.core.validators import RegexValidator
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from designer.changes import FILE_CHANGES
from designer.importing import clean_path, text_of
from designer.models import COMMENT_MAX_LENGTH, LINE_MAX, MESSAGE_MAX_LENGTH, NAME_MAX_LENGTH, PATH_MAX_LENGTH
from designer.starters import STARTERS
from simulator.ors import projectfiles

# --------------------------------------------------------------------------------------------
# Request fields: JSON values of one type, as the schema states them
#
# DRF turns 5 into "5" for a CharField and "5" or true into 5 for an IntegerField; the schema says
# string or integer, so a client sending the wrong type gets a 400, not a silent guess. Each
# constraint the server checks is one the schema shows (patterns included), so a request that
# matches the schema is never refused as invalid (schemathesis checks both directions).

#: Text that is not blank once trimmed and has no NUL (PostgreSQL cannot store it).
NOT_BLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
#: Any text without NUL.
NO_NUL_PATTERN = r"^[^\x00]*$"
#: A project-relative file path as the API takes it: no leading or trailing space, no `/` or
#: drive letter first, no backslash or control character, no `..` segment, one name at least
#: (projectfiles.clean_path then normalises `./` and `//`).
PATH_PATTERN = r"^(?![\s/])(?!.:)(?!(?:.*/)?\.\.(?:/|$))(?=.*[^/.])[^\\\x00-\x1f]*(?<=[^\s])$"


class TextField(serializers.CharField):
    """A JSON string (numbers and booleans refused); blank only if `allow_blank`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pattern = NO_NUL_PATTERN if self.allow_blank else NOT_BLANK_PATTERN
        self.validators.append(RegexValidator(pattern, "Text with no null character is required."))

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class PathField(serializers.CharField):
    """A project-relative file path (PATH_PATTERN), normalised by projectfiles.clean_path."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=PATH_MAX_LENGTH, trim_whitespace=False, **kwargs)
        self.validators.append(RegexValidator(PATH_PATTERN, "Not a project-relative file path."))

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)

    def run_validation(self, data: Any = empty) -> Any:
        value = super().run_validation(data)
        return clean_path(value) if isinstance(value, str) else value


class WholeNumberField(serializers.IntegerField):
    """A JSON integer (strings and booleans refused)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


class FlagField(serializers.BooleanField):
    """A JSON boolean (DRF would also take "yes", 1, "on"...)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class NumberField(serializers.FloatField):
    """A JSON number (strings and booleans refused)."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


#: Database ids (BigAutoField): larger numbers name nothing and would overflow the column.
ID_BOUNDS = {"min_value": 1, "max_value": 2**63 - 1}


# --------------------------------------------------------------------------------------------
# Requests


class ProjectCreateSerializer(serializers.Serializer):
    """POST /api/projects"""

    team = WholeNumberField(**ID_BOUNDS)
    name = TextField(max_length=NAME_MAX_LENGTH)
    description = TextField(required=False, allow_blank=True, default="")
    starter = serializers.ChoiceField(choices=list(STARTERS), default="empty")


class VersionUploadSerializer(serializers.Serializer):
    """POST /api/projects/<id>/versions (multipart: every value arrives as text)"""

    file = serializers.FileField(allow_empty_file=True, help_text="A .scxml document or a .zip of a Composer project")
    message = serializers.CharField(max_length=MESSAGE_MAX_LENGTH, validators=[RegexValidator(NOT_BLANK_PATTERN)])
    parent = serializers.IntegerField(required=False, help_text="Version the upload replaces", **ID_BOUNDS)
    entry = serializers.CharField(required=False, allow_blank=True, default="")


class DraftFileWriteSerializer(serializers.Serializer):
    """PUT /api/projects/<id>/draft/files/<path>"""

    content = TextField(allow_blank=True, trim_whitespace=False)


class DraftFileCreateSerializer(DraftFileWriteSerializer):
    """POST /api/projects/<id>/draft/files"""

    path = PathField()


class DraftPathSerializer(serializers.Serializer):
    """POST /api/projects/<id>/draft/entry and /draft/delete: one path of the draft"""

    path = PathField()


class DraftRenameSerializer(DraftPathSerializer):
    """POST /api/projects/<id>/draft/rename (the page form's fields: path -> new_path)"""

    new_path = PathField()


class DraftSaveSerializer(serializers.Serializer):
    """POST /api/projects/<id>/draft/save"""

    message = TextField(max_length=MESSAGE_MAX_LENGTH)


class CommentCreateSerializer(serializers.Serializer):
    """POST /api/versions/<id>/comments"""

    body = TextField(max_length=COMMENT_MAX_LENGTH)
    parent = WholeNumberField(required=False, allow_null=True, **ID_BOUNDS)
    path = TextField(
        max_length=PATH_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="A file of the version ('' for a comment on the whole version)",
    )
    line = WholeNumberField(required=False, allow_null=True, min_value=1, max_value=LINE_MAX, help_text="Needs `path`")


# --------------------------------------------------------------------------------------------
# Output fields


class IsoDateTimeField(serializers.DateTimeField):
    """`datetime.isoformat()` exactly (offset included), as the pages always showed it."""

    def to_representation(self, value: Any) -> str:
        return value.isoformat()


@extend_schema_field({"type": "string", "nullable": True})
class UsernameField(serializers.Field):
    """A user as their username (null once the account is gone)."""

    def to_representation(self, value: Any) -> str | None:
        return value.get_username() if value is not None else None


def urls_field(*names: str, help_text: str = "") -> serializers.DictField:
    """A `{name: url}` object; the names a client may rely on are listed in the description."""
    listed = ", ".join(names)
    return serializers.DictField(child=serializers.CharField(), help_text=f"URLs: {listed}. {help_text}".strip())


# --------------------------------------------------------------------------------------------
# Output: errors


class ErrorSerializer(serializers.Serializer):
    """Every refusal: `detail` says why (400 validation errors add one list of messages per field)."""

    detail = serializers.CharField()


@extend_schema_field({"allOf": [{"$ref": "#/components/schemas/Version"}], "nullable": True})
class VersionOrNullField(serializers.Field):
    """A version as VersionSerializer shows it, or null."""

    def to_representation(self, value: Any) -> dict[str, Any] | None:
        return VersionSerializer(value).data if value else None


class ConflictSerializer(serializers.Serializer):
    """409 of a save or upload: with `conflict` true, the work is based on a version that is no
    longer the latest (`base`, `latest`); `detail` alone when there is nothing to save. Nothing
    was overwritten."""

    detail = serializers.CharField()
    conflict = serializers.BooleanField(required=False)
    base = VersionOrNullField(required=False, help_text="The version the work is based on")
    latest = VersionOrNullField(required=False, help_text="The project's latest version")

    def to_representation(self, exc: Any) -> dict[str, Any]:
        version = VersionOrNullField().to_representation
        return {"detail": str(exc), "conflict": True, "base": version(exc.parent), "latest": version(exc.latest)}


# --------------------------------------------------------------------------------------------
# Output: teams, projects, versions, files


class TeamRoleSerializer(serializers.Serializer):
    """A team of the user with their role in it (a Membership)."""

    id = serializers.IntegerField(source="team_id")
    name = serializers.CharField(source="team.name")
    role = serializers.CharField()


class PageSerializer(serializers.Serializer):
    """A page of a list (`?limit=&offset=`): the total and the URLs of the neighbouring pages."""

    count = serializers.IntegerField(help_text="Items in the whole list")
    next = serializers.CharField(allow_null=True, help_text="URL of the next page (null on the last)")
    previous = serializers.CharField(allow_null=True, help_text="URL of the previous page (null on the first)")


class TeamListSerializer(PageSerializer):
    teams = TeamRoleSerializer(many=True)


class VersionSerializer(serializers.Serializer):
    """Summary of a version, as in every JSON payload."""

    id = serializers.IntegerField(source="pk")
    number = serializers.IntegerField()
    label = serializers.CharField()
    project = serializers.IntegerField(source="project_id")
    parent = serializers.IntegerField(source="parent_id", allow_null=True)
    author = UsernameField()
    created_at = IsoDateTimeField()
    message = serializers.CharField()
    entry = serializers.CharField(help_text="Entry document ('' when the project has none)")


class VersionListSerializer(PageSerializer):
    versions = VersionSerializer(many=True)


def file_api_url(name: str, owner_id: int, path: str) -> str:
    """The API URL of a version's or draft's file, its path one URL segment (`/` as `%2F`), as
    OpenAPI sends a path parameter: a client reading the URL's segments gets the whole path."""
    return reverse(name, args=[owner_id, "-"]).removesuffix("-") + quote(path, safe="")


class FileSerializer(serializers.Serializer):
    """One file of a version or draft (without its content)."""

    path = serializers.CharField()
    size = serializers.IntegerField(source="blob.size")
    sha256 = serializers.CharField(source="blob_id")
    url = serializers.SerializerMethodField(help_text="API URL of the file's content")

    def get_url(self, row: Any) -> str:
        if hasattr(row, "version_id"):
            return file_api_url("designer-api-version-file", row.version_id, row.path)
        return file_api_url("designer-api-draft-file", row.draft.project_id, row.path)


class VersionFileSerializer(FileSerializer):
    page = serializers.SerializerMethodField(help_text="Page showing the file with line numbers")

    def get_page(self, row: Any) -> str:
        return reverse("designer-version-file", args=[row.version_id, row.path])


def version_urls(version: Any) -> dict[str, str]:
    """URLs of a version's page and API endpoints."""
    vid = version.pk
    return {
        "page": reverse("designer-version-detail", args=[vid]),
        "editor": reverse("designer-version-editor", args=[vid]),
        "diagram": reverse("designer-version-diagram", args=[vid]),
        "export": reverse("designer-version-export", args=[vid]),
        "api": reverse("designer-api-version-detail", args=[vid]),
        "graph": reverse("designer-api-version-graph", args=[vid]),
        "lint": reverse("designer-api-version-lint", args=[vid]),
        "comments": reverse("designer-api-comment-list", args=[vid]),
    }


VERSION_URLS = ("page", "editor", "diagram", "export", "api", "graph", "lint", "comments")


class EntryChoiceSerializer(serializers.Serializer):
    """Which entry document the project-files rule chooses, and why (simulator.ors.projectfiles)."""

    path = serializers.CharField(help_text="'' when no document can be chosen")
    reason = serializers.CharField()
    candidates = serializers.ListField(child=serializers.CharField(), help_text="IPDs and runnable workflows")
    warnings = serializers.ListField(child=serializers.CharField())
    workflows = serializers.ListField(child=serializers.CharField(), help_text="Composer *.workflow sources")


class VersionDetailSerializer(VersionSerializer):
    """A version with its files, fakes profiles, scenarios, entry candidates and URLs."""

    files = serializers.SerializerMethodField()
    fakes = serializers.SerializerMethodField(help_text="Paths of the fakes profiles (fakes/*.json)")
    scenarios = serializers.SerializerMethodField(help_text="Paths of the scenarios (scenarios/*.json)")
    entries = serializers.SerializerMethodField(help_text="Documents a simulation or diagram may start from")
    urls = serializers.SerializerMethodField()

    @extend_schema_field(VersionFileSerializer(many=True))
    def get_files(self, version: Any) -> Any:
        return VersionFileSerializer(version.files.select_related("blob").order_by("path"), many=True).data

    def get_fakes(self, version: Any) -> list[str]:
        from designer.models import FAKES_FOLDER

        return version.paths_under(FAKES_FOLDER)

    def get_scenarios(self, version: Any) -> list[str]:
        from designer.models import SCENARIOS_FOLDER

        return version.paths_under(SCENARIOS_FOLDER)

    def get_entries(self, version: Any) -> list[str]:
        return entry_candidates(version)

    @extend_schema_field(urls_field(*VERSION_URLS))
    def get_urls(self, version: Any) -> dict[str, str]:
        return version_urls(version)


def entry_candidates(file_set: Any) -> list[str]:
    """Documents of a version or draft a user may start from (projectfiles.entry_candidates)."""
    return projectfiles.entry_candidates(file_set.read_files(), file_set.entry)


class VersionCreatedSerializer(VersionSerializer):
    """A version just saved from a draft, with its URLs (`url`: its page)."""

    urls = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    @extend_schema_field(urls_field(*VERSION_URLS))
    def get_urls(self, version: Any) -> dict[str, str]:
        return version_urls(version)

    def get_url(self, version: Any) -> str:
        return reverse("designer-version-detail", args=[version.pk])


class UploadedVersionSerializer(VersionSerializer):
    """A version created by an upload, with the entry the project-files rule chose and why."""

    entry_choice = EntryChoiceSerializer()


class TeamRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()


class ProjectSerializer(serializers.Serializer):
    """A project with the requester's role (in `context["roles"]`: team id -> role) and latest version."""

    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    description = serializers.CharField()
    team = TeamRefSerializer()
    role = serializers.SerializerMethodField()
    latest = serializers.SerializerMethodField()
    urls = serializers.SerializerMethodField()

    @extend_schema_field({"type": "string", "enum": ["owner", "editor", "viewer"], "nullable": True})
    def get_role(self, project: Any) -> str | None:
        return self.context.get("roles", {}).get(project.team_id)

    @extend_schema_field({"allOf": [{"$ref": "#/components/schemas/Version"}], "nullable": True})
    def get_latest(self, project: Any) -> dict[str, Any] | None:
        # A list passes every project's latest version in `context["latest"]` (one query, not one each).
        latest_of = self.context.get("latest")
        latest = latest_of.get(project.pk) if latest_of is not None else project.latest_version
        return VersionSerializer(latest).data if latest else None

    @extend_schema_field(urls_field("page", "api", "versions", "draft"))
    def get_urls(self, project: Any) -> dict[str, str]:
        return {
            "page": reverse("designer-project-detail", args=[project.pk]),
            "api": reverse("designer-api-project-detail", args=[project.pk]),
            "versions": reverse("designer-api-version-list", args=[project.pk]),
            "draft": reverse("designer-api-draft", args=[project.pk]),
        }


class ProjectListSerializer(PageSerializer):
    projects = ProjectSerializer(many=True)


class ProjectDetailSerializer(ProjectSerializer):
    versions = serializers.SerializerMethodField()

    @extend_schema_field(VersionSerializer(many=True))
    def get_versions(self, project: Any) -> Any:
        return VersionSerializer(project.versions.select_related("author").order_by("-number"), many=True).data


class FileContentSerializer(serializers.Serializer):
    """One file's content (`content` is null for binary files)."""

    path = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    binary = serializers.BooleanField()
    content = serializers.CharField(allow_null=True)


def file_content(path: str, sha256: str, content: bytes) -> dict[str, Any]:
    """FileContentSerializer data of one file."""
    text = text_of(content)
    return {"path": path, "size": len(content), "sha256": sha256, "binary": text is None, "content": text}


# --------------------------------------------------------------------------------------------
# Output: analysis and diff


class ProblemSerializer(serializers.Serializer):
    file = serializers.CharField(allow_null=True)
    line = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()


class GraphSerializer(serializers.Serializer):
    """The statechart of the entry document (includes resolved), as the diagram draws it.

    `states`: {id, kind, parent, children, initial, file, line, actions, ...}; `transitions`:
    {id, source, targets, event, cond, type, file, line, actions, ...} (simulator.scxml.graph).
    """

    entry = serializers.CharField()
    root = serializers.CharField(allow_null=True)
    states = serializers.ListField(child=serializers.DictField())
    transitions = serializers.ListField(child=serializers.DictField())
    errors = ProblemSerializer(many=True)


class FindingSerializer(serializers.Serializer):
    rule = serializers.CharField()
    severity = serializers.ChoiceField(choices=["error", "warning", "info"])
    file = serializers.CharField(allow_null=True)
    line = serializers.IntegerField(allow_null=True)
    column = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()


class LintSerializer(serializers.Serializer):
    findings = FindingSerializer(many=True)


class DiagramLayoutSerializer(serializers.Serializer):
    """An ELK layout of a version's diagram, as the browser laid it out (designer/layouts.py)."""

    entry = PathField(help_text="The document laid out")
    key = serializers.RegexField(
        r"^[0-9a-z.]{1,64}$", help_text="Hash of ELK's input (static/orchweb/diagram.js): the layout's cache key"
    )
    # An object, not any JSON value: the schema then says null or a list is not a layout (422 needs a valid request).
    layout = serializers.DictField(help_text="ELK's result: nodes `n:<state>`, edges `e:<transition>:<i>`")


class FontTableSerializer(serializers.Serializer):
    """A browser's character widths for the diagram's fonts (designer/serverlayouts.py)."""

    table = serializers.DictField(help_text="{font: {character: width in px}}, as Diagram.fontTable() measures them")


class FontFingerprintSerializer(serializers.Serializer):
    fingerprint = serializers.CharField(help_text="SHA-256 of the table: the `orchweb_fonts` cookie's value")


class FileDiffSerializer(serializers.Serializer):
    path = serializers.CharField()
    status = serializers.ChoiceField(choices=FILE_CHANGES)
    diff = serializers.CharField(allow_null=True, help_text="Unified diff (null when binary or unchanged)")
    binary = serializers.BooleanField()


class EntryChangeSerializer(serializers.Serializer):
    a = serializers.CharField()
    b = serializers.CharField()
    changed = serializers.BooleanField()


class DiffSerializer(serializers.Serializer):
    """Per-file unified diff from version a to version b, and the change of entry document."""

    a = VersionSerializer()
    b = VersionSerializer()
    entry = EntryChangeSerializer()
    files = FileDiffSerializer(many=True)


def diff_data(a: Any, b: Any, files: list[Any]) -> dict[str, Any]:
    """DiffSerializer data of two versions and their history.FileDiff list."""
    return DiffSerializer(
        {"a": a, "b": b, "entry": {"a": a.entry, "b": b.entry, "changed": a.entry != b.entry}, "files": files}
    ).data


# --------------------------------------------------------------------------------------------
# Output: comments and share links


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    parent = serializers.IntegerField(source="parent_id", allow_null=True)
    author = UsernameField()
    path = serializers.SerializerMethodField()
    line = serializers.IntegerField(allow_null=True)
    body = serializers.CharField()
    created_at = IsoDateTimeField()

    @extend_schema_field({"type": "string", "nullable": True})
    def get_path(self, comment: Any) -> str | None:
        return comment.path or None


class CommentListSerializer(PageSerializer):
    comments = CommentSerializer(many=True)


class ShareLinkSerializer(serializers.Serializer):
    """A share link (`context["request"]` builds its absolute URL)."""

    id = serializers.IntegerField(source="pk")
    version = serializers.IntegerField(source="version_id")
    url = serializers.SerializerMethodField()
    token = serializers.CharField()
    active = serializers.BooleanField(source="is_active")
    created_at = IsoDateTimeField()
    revoked_at = IsoDateTimeField(allow_null=True)

    def get_url(self, link: Any) -> str:
        return self.context["request"].build_absolute_uri(reverse("designer-sharelink-open", args=[link.token]))


class ShareLinkListSerializer(PageSerializer):
    share_links = ShareLinkSerializer(many=True)


# --------------------------------------------------------------------------------------------
# Output: drafts


def draft_api_urls(pid: int) -> dict[str, str]:
    """API URLs of a draft."""
    return {
        "writeFile": reverse("designer-api-draft-files", args=[pid]),
        "renameFile": reverse("designer-api-draft-rename", args=[pid]),
        "deleteFile": reverse("designer-api-draft-delete", args=[pid]),
        "setEntry": reverse("designer-api-draft-entry", args=[pid]),
        "saveVersion": reverse("designer-api-draft-save", args=[pid]),
        "rebase": reverse("designer-api-draft-rebase", args=[pid]),
        "graph": reverse("designer-api-draft-graph", args=[pid]),
        "lint": reverse("designer-api-draft-lint", args=[pid]),
    }


DRAFT_URLS = ("writeFile", "renameFile", "deleteFile", "setEntry", "saveVersion", "rebase", "graph", "lint")


class DraftSerializer(serializers.Serializer):
    """The user's draft: base, entry, staleness and files."""

    project = serializers.IntegerField(source="project_id")
    base = serializers.SerializerMethodField()
    entry = serializers.CharField()
    stale = serializers.BooleanField(source="is_stale")
    modified = serializers.BooleanField(source="is_modified")
    files = serializers.SerializerMethodField()
    urls = serializers.SerializerMethodField()

    @extend_schema_field({"allOf": [{"$ref": "#/components/schemas/Version"}], "nullable": True})
    def get_base(self, draft: Any) -> dict[str, Any] | None:
        return VersionSerializer(draft.base).data if draft.base else None

    @extend_schema_field(FileSerializer(many=True))
    def get_files(self, draft: Any) -> Any:
        return FileSerializer(draft.files.select_related("blob", "draft").order_by("path"), many=True).data

    @extend_schema_field(urls_field(*DRAFT_URLS))
    def get_urls(self, draft: Any) -> dict[str, str]:
        return draft_api_urls(draft.project_id)


class DraftFileWrittenSerializer(serializers.Serializer):
    """A draft file just written (`stale`: a newer version exists than the draft's base)."""

    path = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.CharField()
    stale = serializers.BooleanField()
    entry = serializers.CharField(help_text="The draft's entry document (its first runnable document if it had none)")


class DraftEntrySerializer(serializers.Serializer):
    entry = serializers.CharField()
