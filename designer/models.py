"""Models of the designer app: teams, projects, immutable versions, drafts, sharing, comments.

Storage is content addressed: a `Blob` holds the bytes of one file once, keyed by its sha256; a
`Version` maps project-relative paths to blobs through `VersionFile` rows and is never edited or
deleted by a normal user. A `Draft` is one user's working copy of a project (same path -> blob
mapping, mutable) and remembers the version it started from, so saving it on top of a newer
version is refused instead of silently overwriting someone else's work.

Fakes profiles and scenarios are ordinary project files (`fakes/*.json`, `scenarios/*.json`): they
travel with the versions, the drafts and the zip export without any special model.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

#: Input limits shared by the model columns, the page forms and the API serializers.
PATH_MAX_LENGTH = 500  # project-relative file paths and entry documents
NAME_MAX_LENGTH = 100  # team and project names
MESSAGE_MAX_LENGTH = 2000  # version messages
COMMENT_MAX_LENGTH = 10000  # review comment bodies
#: the largest line a comment may anchor at: its column is a PositiveIntegerField (PostgreSQL: integer)
LINE_MAX = 2**31 - 1


class Role(models.TextChoices):
    """Team roles, ordered from most to least privileged."""

    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


#: Role -> rank, so `rank(role) >= rank(required)` answers "may this member do that?"
ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}


class Team(models.Model):
    """A group of users owning projects; members have one role each."""

    name = models.CharField(max_length=NAME_MAX_LENGTH, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one team."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="designer_unique_membership")]
        ordering = ["team__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.team}"


class Project(models.Model):
    """A Composer-style multi-file strategy owned by a team."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="projects")
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="designer_unique_project_name")]
        ordering = ["team__name", "name"]

    def __str__(self) -> str:
        return f"{self.team}/{self.name}"

    @property
    def latest_version(self) -> Version | None:
        """The newest version (highest number), or None for a project without versions."""
        return self.versions.order_by("-number").first()

    @property
    def entry(self) -> str:
        """The entry document (IPD) path of the latest version, '' when there is none."""
        latest = self.latest_version
        return latest.entry if latest else ""


class Blob(models.Model):
    """The bytes of one file, stored once whatever the number of versions/paths using them."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.PositiveIntegerField()
    content = models.BinaryField()

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.size} bytes)"

    @classmethod
    def store(cls, content: bytes) -> Blob:
        """The blob holding `content`, created only if these bytes were never stored before."""
        digest = hashlib.sha256(content).hexdigest()
        blob = cls.objects.filter(sha256=digest).only("sha256", "size").first()
        if blob is not None:
            return blob
        try:
            # A savepoint, so a concurrent insert of the same bytes does not break the caller's
            # transaction: the other writer's row is just as good.
            with transaction.atomic():
                return cls.objects.create(sha256=digest, size=len(content), content=content)
        except IntegrityError:
            return cls.objects.get(sha256=digest)

    def data(self) -> bytes:
        """The content as `bytes` (PostgreSQL hands back a memoryview)."""
        return bytes(self.content)


class ImmutableError(Exception):
    """Raised when code tries to change or delete a saved version."""


class FileSet:
    """The file reading shared by versions and drafts: both own `files` rows of (path, blob)."""

    files: Any

    def file_map(self) -> dict[str, str]:
        """Path -> blob sha256 of every file."""
        return dict(self.files.values_list("path", "blob_id"))

    def read_files(self) -> dict[str, bytes]:
        """Path -> content of every file, in path order."""
        rows = self.files.select_related("blob").order_by("path")
        return {row.path: row.blob.data() for row in rows}


class Version(FileSet, models.Model):
    """An immutable snapshot of all the files of a project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    message = models.TextField(blank=True)
    entry = models.CharField(
        max_length=PATH_MAX_LENGTH, blank=True, help_text="Project-relative path of the entry document"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="designer_unique_version_number")]
        ordering = ["project", "-number"]

    def __str__(self) -> str:
        return f"{self.project} {self.label}"

    @property
    def label(self) -> str:
        """Short human label, e.g. `v3`."""
        return f"v{self.number}"

    def save(self, *args: object, **kwargs: object) -> None:
        """Insert only: a saved version is a fact of history."""
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ImmutableError("versions are immutable; save a draft to create a new version")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        """Versions are never deleted by application code (the admin refuses too)."""
        raise ImmutableError("versions cannot be deleted")

    def paths_under(self, folder: str) -> list[str]:
        """Paths of the version's files inside `folder` (e.g. FAKES_FOLDER, SCENARIOS_FOLDER)."""
        prefix = folder.rstrip("/") + "/"
        return list(self.files.filter(path__startswith=prefix).order_by("path").values_list("path", flat=True))


#: Where fakes profiles and scenarios live in a project (they travel with every version).
FAKES_FOLDER = "fakes"
SCENARIOS_FOLDER = "scenarios"


class VersionFile(models.Model):
    """One path of a version, pointing at its content."""

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=PATH_MAX_LENGTH)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "path"], name="designer_unique_version_path")]
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path

    def save(self, *args: object, **kwargs: object) -> None:
        """Insert only, like the version it belongs to."""
        if self.pk is not None:
            raise ImmutableError("version files are immutable")
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Draft(FileSet, models.Model):
    """One user's working copy of a project, based on a version."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="drafts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drafts")
    base = models.ForeignKey(Version, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    entry = models.CharField(max_length=PATH_MAX_LENGTH, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="designer_unique_draft")]

    def __str__(self) -> str:
        return f"draft of {self.project} by {self.user}"

    def is_stale(self) -> bool:
        """Whether a newer version than the draft's base exists (saving would be refused)."""
        latest = self.project.latest_version
        return latest is not None and (self.base_id is None or latest.pk != self.base_id)

    def is_modified(self) -> bool:
        """Whether the draft differs from its base version (files or entry)."""
        if self.base is None:
            return bool(self.file_map()) or bool(self.entry)
        return self.file_map() != self.base.file_map() or self.entry != self.base.entry


class DraftFile(models.Model):
    """One path of a draft."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=PATH_MAX_LENGTH)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["draft", "path"], name="designer_unique_draft_path")]
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path


def new_share_token() -> str:
    """An unguessable URL-safe token for a share link."""
    return secrets.token_urlsafe(24)


class ShareLink(models.Model):
    """Read-only access to one version for whoever holds the token, until revoked."""

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="share_links")
    token = models.CharField(max_length=64, unique=True, default=new_share_token)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"share link for {self.version}"

    @property
    def is_active(self) -> bool:
        """Whether the link still grants access."""
        return self.revoked_at is None

    def revoke(self) -> None:
        """Stop the link granting access (at once; revoking twice keeps the first time)."""
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class Comment(models.Model):
    """A review comment on a version, optionally anchored at file:line, optionally a reply."""

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    path = models.CharField(max_length=PATH_MAX_LENGTH, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        anchor = f" at {self.path}:{self.line}" if self.path else ""
        return f"comment by {self.author} on {self.version}{anchor}"


class Invitation(models.Model):
    """An owner's invitation of a user into a team; the user becomes a member only by accepting it.

    Inviting a name answers the same whether or not an account has it (nothing reveals which
    usernames exist); only the invitee sees the invitation, on their Teams page.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_invitations")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="designer_unique_invitation")]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"invitation of {self.user} to {self.team} as {self.role}"


class ScenarioSuiteRun(models.Model):
    """The verdicts of a version's scenarios (``scenarios/*.json``), run once and kept.

    Keyed by version and the hash of its content (designer.scenario_suite.files_hash): a version
    is immutable, so are its results; the row is insert-only like the version.
    """

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="scenario_runs")
    files_hash = models.CharField(max_length=64)
    #: designer.scenario_suite.run_suite's report (results without traces, coverage, heat)
    report = models.JSONField(default=dict)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    transitions_percent = models.FloatField(null=True, blank=True)
    ran_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "files_hash"], name="designer_unique_scenario_suite_run")
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"scenarios of {self.version}: {self.summary}"

    @property
    def summary(self) -> str:
        """ "12/12 scenarios pass, 87% of transitions covered"."""
        return str(self.report.get("summary", f"{self.passed}/{self.passed + self.failed} scenarios pass"))

    @property
    def all_passed(self) -> bool:
        return self.failed == 0 and not self.report.get("not_run")

    def save(self, *args: object, **kwargs: object) -> None:
        """Insert only: the verdicts of an immutable version do not change."""
        if self.pk is not None:
            raise ImmutableError("scenario results of a version are immutable")
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class DiagramLayout(models.Model):
    """One user's ELK layout of a version's diagram (one entry document), laid out in their browser
    and posted back (designer/layouts.py cleans it), so their next open of the version draws it at
    once instead of running ELK again.

    The server cannot check a layout against ELK (a hostile one could misplace states, edges or
    labels), so whose layout a page is served follows trust: the user's own, else one posted by a
    user who may write the project now (editor, owner: they could change the strategy itself, so
    their layout misleads no more than their content could); a reader's layout is shown to that
    reader only (designer.layouts.layout_store). `key` is
    the hash of ELK's input (static/orchweb/diagram.js): the browser uses the layout only when
    its own input hashes the same (same graph, same text widths). One row per (user, version,
    entry): a new layout replaces the old one; a user keeps their latest few (designer/layouts.py).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="+")
    entry = models.CharField(max_length=PATH_MAX_LENGTH)
    key = models.CharField(max_length=64)
    layout = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "version", "entry"], name="designer_unique_diagram_layout")
        ]

    def __str__(self) -> str:
        return f"layout of {self.version} {self.entry} for {self.user}"


class DraftDiagramLayout(models.Model):
    """The ELK layout the draft's diagram editor last drew (of one document of the draft, whole
    chart), posted back like a version's (designer/layouts.py cleans it). When the draft is saved
    with the same content (`content`: designer.analysis.content_digest when posted), it becomes
    the author's DiagramLayout of the new version, so the version's first simulation, the author's
    or a reader's, draws it instead of running ELK. One row per draft: each layout replaces it.
    """

    draft = models.OneToOneField(Draft, on_delete=models.CASCADE, related_name="+")
    entry = models.CharField(max_length=PATH_MAX_LENGTH)
    content = models.CharField(max_length=64)
    key = models.CharField(max_length=64)
    layout = models.JSONField()

    def __str__(self) -> str:
        return f"layout of {self.draft} {self.entry}"


class FontTable(models.Model):
    """A browser's character widths for the diagram's fonts ({font: {char: px}}, posted by
    static/orchweb/diagram.js's reportFonts and checked by designer.serverlayouts.clean_font_table),
    so the server can build the ELK input that browser builds and lay out a new version for it
    before it is opened (ServerDiagramLayout). `fingerprint` is the SHA-256 of the table's
    canonical JSON: the browser keeps it in a cookie, and the page serves the layout computed for
    it. A user keeps their few latest tables (one per browser or font set); `seen` is when the
    user last reported it (the server lays out for tables seen recently)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=64)
    table = models.JSONField()
    seen = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "fingerprint"], name="designer_unique_font_table")]

    def __str__(self) -> str:
        return f"font table {self.fingerprint[:12]} of {self.user}"


class ServerDiagramLayout(models.Model):
    """ELK's layout of a version's document computed by the server for one font table
    (designer/elk.py: the diagram's own ELK-input builder and elkjs, in QuickJS), stored under the
    key the browser checks. Served to a user whose browser reported that table (its fingerprint in
    the cookie): it is the layout that browser's ELK would make of the same input, whoever made
    the version, so no trust in a poster is needed. One row per (version, entry, fingerprint)."""

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="+")
    entry = models.CharField(max_length=PATH_MAX_LENGTH)
    fingerprint = models.CharField(max_length=64)
    key = models.CharField(max_length=64)
    layout = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "entry", "fingerprint"], name="designer_unique_server_diagram_layout"
            )
        ]

    def __str__(self) -> str:
        return f"server layout of {self.version} {self.entry} for {self.fingerprint[:12]}"
