"""Server-rendered pages of the designer app.

Views are short: access goes through the `_get_<obj>_for_user` helpers of permissions.py (404 for
outsiders, 403 for a too-low role, login redirect for anonymous visitors without a share link),
bad input is answered 400 with the form re-rendered, and every write goes through history.py.
The editor and diagram pages (templates owned by the frontend) receive their data through one
`json_script` payload each, with every URL they may call spelled out (JS never builds URLs).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from designer import history, scenario_suite
from designer.forms import (
    CommentForm,
    DraftAddFileForm,
    DraftPathForm,
    DraftRenameFileForm,
    DraftSaveForm,
    DraftStartForm,
    MembershipForm,
    NewProjectForm,
    TeamForm,
    UploadProjectForm,
    UploadVersionForm,
)
from designer.importing import NoSuchFile, UploadError, choose_entry, export_zip, read_upload, text_of
from designer.layouts import draft_layout_store, layout_store
from designer.models import Comment, Draft, Invitation, Membership, Project, Role, ShareLink, Team, Version
from designer.permissions import (
    AuthenticationRequired,
    _get_project_for_user,
    _get_share_link_for_user,
    _get_team_for_user,
    _get_version_for_user,
    has_role,
    refuse,
    remember_share_token,
    role_in_team,
    teams_for_user,
    version_role,
)
from designer.serializers import VersionSerializer, draft_api_urls, entry_candidates
from designer.serverlayouts import FONTS_COOKIE, known_fingerprint, schedule_catch_up
from designer.starters import load_starter
from orchweb.throttling import rate_limited, work_throttle
from simulator import batches

View = Callable[..., HttpResponse]


def page(view: View) -> View:
    """Turn AuthenticationRequired from the access helpers into a redirect to the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except AuthenticationRequired:
            return redirect_to_login(request.get_full_path())

    return wrapper


# --------------------------------------------------------------------------------------------
# Payloads of the editor, diagram and diff pages (their JSON shapes are designer/serializers.py's)


def _texts(files: dict[str, bytes]) -> dict[str, str | None]:
    """Path -> text for the editor (None for binary files, which it shows read-only)."""
    return {path: text_of(content) for path, content in files.items()}


def version_page_data(version: Version, can_edit: bool, with_texts: bool = True) -> dict[str, Any]:
    """`payload` of the editor and diagram pages of a stored version (read-only).

    Shape (shared with draft_page_data): {"mode": "version"|"draft", "readOnly", "label", "entry",
    "project": {"id", "name"}, "version": version JSON|null, "files": {path: text|null} (empty on diagram pages),
    "urls": {"self", "editor", "diagram", "graph", "lint", "edit"?, "writeFile"?, "renameFile"?,
    "deleteFile"?, "saveVersion"?, "setEntry"?, "page"}}. `edit` (editors only) opens the
    user's draft editor; the write URLs exist only for drafts (POST JSON, see designer/api.py).
    """
    urls = {
        "self": reverse("designer-version-editor", args=[version.pk]),
        "editor": reverse("designer-version-editor", args=[version.pk]),
        "diagram": reverse("designer-version-diagram", args=[version.pk]),
        "graph": reverse("designer-api-version-graph", args=[version.pk]),
        "lint": reverse("designer-api-version-lint", args=[version.pk]),
        "page": reverse("designer-version-detail", args=[version.pk]),
        "export": reverse("designer-version-export", args=[version.pk]),
    }
    if can_edit:
        urls["edit"] = reverse("designer-draft-editor", args=[version.project_id])
    return {
        "mode": "version",
        "readOnly": True,
        "label": f"{version.label} (read-only)",
        "entry": version.entry,
        "project": {"id": version.project_id, "name": version.project.name},
        "version": VersionSerializer(version).data,
        "entries": entry_candidates(version),
        "files": _texts(version.read_files()) if with_texts else {},
        "urls": urls,
    }


def draft_page_data(draft: Draft, with_texts: bool = True) -> dict[str, Any]:
    """`payload` of the editor and diagram pages of the user's draft (editable); see version_page_data."""
    pid = draft.project_id
    base = draft.base
    return {
        "mode": "draft",
        "readOnly": False,
        "label": f"draft based on {base.label}" if base else "draft (no version yet)",
        "entry": draft.entry,
        "stale": draft.is_stale(),
        "project": {"id": pid, "name": draft.project.name},
        "version": VersionSerializer(base).data if base else None,
        "entries": entry_candidates(draft),
        "files": _texts(draft.read_files()) if with_texts else {},
        "urls": {
            "self": reverse("designer-draft-editor", args=[pid]),
            "editor": reverse("designer-draft-editor", args=[pid]),
            "diagram": reverse("designer-draft-diagram", args=[pid]),
            "page": reverse("designer-draft-detail", args=[pid]),
            "palette": reverse("designer-api-authoring-palette"),
            **draft_api_urls(pid),
        },
    }


# --------------------------------------------------------------------------------------------
# Projects


@login_required
@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    """The projects of every team the user belongs to, grouped by team."""
    memberships = Membership.objects.filter(user=request.user).select_related("team").order_by("team__name")
    projects = list(Project.objects.filter(team__in=[m.team_id for m in memberships]).order_by("name"))
    latest = history.latest_versions(projects)
    teams = []
    for membership in memberships:
        mine = [p for p in projects if p.team_id == membership.team_id]
        for project in mine:
            project.latest = latest.get(project.pk)
        teams.append({"team": membership.team, "role": membership.role, "projects": mine})
    can_create = any(has_role(m.role, Role.EDITOR) for m in memberships)
    return render(request, "designer/project_list.html", {"teams": teams, "can_create": can_create})


@login_required
@require_http_methods(["GET", "POST"])
@rate_limited(work_throttle("POST"))
def project_new(request: HttpRequest) -> HttpResponse:
    """Create a project from a starter template (or empty)."""
    _require_creator(request)
    form = NewProjectForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            files, entry = load_starter(form.cleaned_data["starter"])
            try:
                project = _create_project(request, form, files, entry, "Created from the starter template")
            except UploadError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Created {project.name}.")
                return redirect("designer-project-detail", project.pk)
        return render(request, "designer/project_new.html", {"form": form}, status=400)
    return render(request, "designer/project_new.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
@rate_limited(work_throttle("POST"))
def project_upload(request: HttpRequest) -> HttpResponse:
    """Create a project from an uploaded .scxml or Composer project zip."""
    _require_creator(request)
    form = UploadProjectForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                files = read_upload(upload.name, upload.read())
                project = _create_project(request, form, files, "", f"Imported from {upload.name}")
            except UploadError as exc:
                form.add_error("file", str(exc))
            else:
                messages.success(request, f"Imported {upload.name}: {import_summary(files)}")
                return redirect("designer-project-detail", project.pk)
        return render(request, "designer/project_upload.html", {"form": form}, status=400)
    return render(request, "designer/project_upload.html", {"form": form})


def import_summary(files: dict[str, bytes]) -> str:
    """What an import found: file count, the entry chosen and why (or why there is none)."""
    choice = choose_entry(files)
    if choice.path:
        return f"{len(files)} file(s), entry {choice.path}. {choice.reason}"
    return f"{len(files)} file(s), no entry document. {' '.join([choice.reason, *choice.warnings])}"


def _require_creator(request: HttpRequest) -> None:
    """403 unless the user is editor or owner in at least one team (where projects can be created)."""
    if not teams_for_user(request.user, Role.EDITOR):
        raise PermissionDenied("Creating a project needs the editor role in a team.")


def _create_project(request: HttpRequest, form: Any, files: dict[str, bytes], entry: str, message: str) -> Project:
    """The new project (and its first version when there are files); UploadError on bad input."""
    data = form.cleaned_data
    try:
        with transaction.atomic():
            project = Project.objects.create(
                team=data["team"],
                name=data["name"].strip(),
                description=data.get("description", ""),
                created_by=request.user,
            )
            if files:
                history.create_version(project, files, author=request.user, message=message, parent=None, entry=entry)
    except IntegrityError as exc:
        raise UploadError(f"The team already has a project named {data['name']!r}.") from exc
    return project


@page
@require_GET
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    """Project page: versions timeline (who/when/message), draft status, upload form."""
    project = _get_project_for_user(request, project_id)
    role = role_in_team(request.user, project.team_id)
    versions = list(project.versions.select_related("author").prefetch_related("scenario_runs").order_by("-number"))
    draft = Draft.objects.filter(project=project, user=request.user).first()
    context = {
        "entry_choice": choose_entry(versions[0].read_files()) if versions else None,
        "project": project,
        "role": role,
        "can_edit": has_role(role, Role.EDITOR),
        "versions": versions,
        "latest": versions[0] if versions else None,
        "draft": draft,
        "upload_form": UploadVersionForm(initial={"parent": versions[0].pk if versions else None}),
    }
    return render(request, "designer/project_detail.html", context)


@page
@require_http_methods(["GET", "POST"])
@rate_limited(work_throttle("POST"))
def version_upload(request: HttpRequest, project_id: int) -> HttpResponse:
    """Upload a .scxml/zip as the next version of a project (refused if the project moved on)."""
    project = _get_project_for_user(request, project_id, Role.EDITOR)
    latest = project.latest_version
    initial = {"parent": latest.pk if latest else None}
    form = UploadVersionForm(request.POST or None, request.FILES or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            parent_id = form.cleaned_data["parent"]
            parent = project.versions.filter(pk=parent_id).first() if parent_id else None
            try:
                files = read_upload(upload.name, upload.read())
                version = history.create_version(
                    project, files, author=request.user, message=form.cleaned_data["message"], parent=parent
                )
            except UploadError as exc:
                form.add_error("file", str(exc))
            except history.StaleParentError as exc:
                form.add_error(None, str(exc))
                status = 409
            else:
                messages.success(request, f"Uploaded {upload.name} as {version.label}: {import_summary(files)}")
                return redirect("designer-version-detail", version.pk)
    return render(request, "designer/version_upload.html", {"project": project, "form": form}, status=status)


# --------------------------------------------------------------------------------------------
# Versions


@page
@require_GET
def version_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    """Version page: files, links to editor/diagram/diff/export, comments, share links."""
    version = _get_version_for_user(request, version_id)
    return _render_version(request, version)


def _render_version(
    request: HttpRequest, version: Version, comment_form: CommentForm | None = None, error: str = "", status: int = 200
) -> HttpResponse:
    """The version page; a refused comment comes back with its error and the text as typed."""
    role = version_role(request, version)
    others = list(version.project.versions.exclude(pk=version.pk).order_by("-number")) if role else []
    context = {
        "version": version,
        "project": version.project,
        "role": role,
        "is_member": role is not None,
        "can_edit": has_role(role, Role.EDITOR),
        "files": version.files.select_related("blob").order_by("path"),
        "comments": _comment_threads(version),
        "comment_form": comment_form or CommentForm(),
        "comment_error": error,
        "share_links": version.share_links.all() if has_role(role, Role.EDITOR) else [],
        "others": others,
        "scenario_run": scenario_suite.stored_run(version),
        **_batch_context(request, version, role),
    }
    return render(request, "designer/version_detail.html", context, status=status)


def _batch_context(request: HttpRequest, version: Version, role: str | None) -> dict[str, Any]:
    """The version page's "Batch simulation" section: team members read the recent runs; those who
    may start one (simulator.batches.can_start) get the form and the version's fakes profiles."""
    if role is None:
        return {"can_start_batch": False, "batch_runs": []}
    can_start = batches.can_start(request.user, version)
    fakes = version.files.filter(path__startswith="fakes/", path__endswith=".json").order_by("path")
    return {
        "can_start_batch": can_start,
        "batch_runs": batches.recent_batches(version),
        "batch_fakes_files": list(fakes.values_list("path", flat=True)) if can_start else [],
        "batch_max_count": settings.BATCH_MAX_COUNT,
        "batch_max_concurrent": settings.BATCH_MAX_CONCURRENT_PER_USER,
    }


def _comment_threads(version: Version) -> list[dict[str, Any]]:
    """Top-level comments with their replies (any depth, flattened in time order under the root)."""
    comments = list(version.comments.select_related("author"))
    by_id = {c.pk: c for c in comments}
    roots: dict[int, dict[str, Any]] = {}
    for comment in comments:
        root = comment
        while root.parent_id is not None and root.parent_id in by_id:
            root = by_id[root.parent_id]
        if root.pk not in roots:
            roots[root.pk] = {"comment": root, "replies": []}
        if root is not comment:
            roots[root.pk]["replies"].append(comment)
    return list(roots.values())


@page
@require_GET
def version_file(request: HttpRequest, version_id: int, path: str) -> HttpResponse:
    """One file of a version with line numbers (anchors `#L<n>`), read-only."""
    version = _get_version_for_user(request, version_id)
    row = version.files.select_related("blob").filter(path=path).first()
    if row is None:
        raise Http404("No such file in this version.")
    content = row.blob.data()
    text = None if b"\x00" in content else content.decode("utf-8", errors="replace")
    lines = text.splitlines() if text is not None else []
    return render(
        request,
        "designer/version_file.html",
        {"version": version, "project": version.project, "path": path, "lines": lines, "binary": text is None},
    )


@page
@require_GET
@rate_limited(work_throttle())
def version_export(request: HttpRequest, version_id: int) -> HttpResponse:
    """Download the version as a zip with the project layout and exact bytes."""
    version = _get_version_for_user(request, version_id)
    return zip_response(version)


def zip_response(version: Version) -> HttpResponse:
    """HTTP response carrying the version's zip export."""
    response = HttpResponse(export_zip(version.read_files()), content_type="application/zip")
    response["Content-Disposition"] = attachment_disposition(f"{version.project.name}-{version.label}.zip")
    return response


def attachment_disposition(filename: str) -> str:
    """`Content-Disposition` of a download named `filename`, whatever its characters (RFC 6266).

    An ASCII fallback `filename` (anything but printable ASCII, quotes and backslashes becomes
    `_`) for old clients, and `filename*` with the exact UTF-8 name (RFC 5987) for the others;
    CR/LF never reach the header.
    """
    fallback = re.sub(r'[^\x20-\x7e]|["\\]', "_", filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@page
@require_GET
def version_compare(request: HttpRequest, version_id: int) -> HttpResponse:
    """Redirect the compare form (`?other=<version id>`) to the diff page."""
    version = _get_version_for_user(request, version_id)
    try:
        other_id = int(request.GET.get("other", ""))
    except ValueError:
        return HttpResponseBadRequest("Choose a version to compare with.")
    other = _get_version_for_user(request, other_id)
    older, newer = sorted([version, other], key=lambda v: (v.project_id, v.number))
    return redirect("designer-version-diff", older.pk, newer.pk)


@page
@require_GET
@rate_limited(work_throttle())
def version_diff(request: HttpRequest, version_a: int, version_b: int) -> HttpResponse:
    """Per-file unified diff between two versions, plus the data for the visual diagram diff."""
    a = _get_version_for_user(request, version_a)
    b = _get_version_for_user(request, version_b)
    diffs = history.diff_versions(a, b)
    diff_data = {
        "a": VersionSerializer(a).data,
        "b": VersionSerializer(b).data,
        "urls": {
            "graph_a": reverse("designer-api-version-graph", args=[a.pk]),
            "graph_b": reverse("designer-api-version-graph", args=[b.pk]),
            "diff": reverse("designer-api-version-diff", args=[a.pk, b.pk]),
        },
    }
    context = {
        "a": a,
        "b": b,
        "project": b.project,
        "diffs": [d for d in diffs if d.status != "unchanged"],
        "unchanged": [d for d in diffs if d.status == "unchanged"],
        "payload": diff_data,
        "scenario_runs": (scenario_suite.stored_run(a), scenario_suite.stored_run(b)),
    }
    runs = context["scenario_runs"]
    context["verdict_changes"] = scenario_suite.verdict_changes(*(r.report if r else None for r in runs))
    return render(request, "designer/version_diff.html", context)


@page
@require_GET
def version_editor(request: HttpRequest, version_id: int) -> HttpResponse:
    """The code editor on a stored version (read-only; edit through a draft)."""
    version = _get_version_for_user(request, version_id)
    role = version_role(request, version)
    data = version_page_data(version, can_edit=has_role(role, Role.EDITOR))
    return render(request, "designer/editor.html", {"project": version.project, "version": version, "payload": data})


@page
@require_GET
def version_diagram(request: HttpRequest, version_id: int) -> HttpResponse:
    """The statechart diagram of a version's entry document."""
    version = _get_version_for_user(request, version_id)
    role = version_role(request, version)
    payload = show_entry(request, version_page_data(version, has_role(role, Role.EDITOR), with_texts=False))
    shown = payload["shown"]
    return render(
        request,
        "designer/diagram.html",
        {
            "project": version.project,
            "version": version,
            "payload": payload,
            # a share link's anonymous visitor keeps no layout but is served a writer's
            "layout_store": layout_store(request.user, version, shown, request.COOKIES.get(FONTS_COOKIE))
            if shown
            else None,
        },
    )


def show_entry(request: HttpRequest, payload: dict[str, Any]) -> dict[str, Any]:
    """The diagram payload for `?entry=<path>`: another IPD or runnable workflow, nothing saved.

    `shown` is the document drawn; the graph and lint URLs ask the API for it. A path that is
    not one of the payload's `entries` is ignored (the stored entry is drawn).
    """
    picked = request.GET.get("entry", "")
    shown = picked if picked in payload["entries"] else payload["entry"]
    payload["shown"] = shown
    if shown and shown != payload["entry"]:
        query = "?" + urlencode({"entry": shown})
        payload["urls"] = {**payload["urls"], "graph": payload["urls"]["graph"] + query}
        payload["urls"]["lint"] += query
    return payload


# --------------------------------------------------------------------------------------------
# Drafts (editor role)


def _get_draft_for_user(request: HttpRequest, project_id: int) -> Draft:
    """The user's draft of a project (started from the latest version if missing); editor role."""
    project = _get_project_for_user(request, project_id, Role.EDITOR)
    return history.get_or_start_draft(project, request.user)


@page
@require_GET
def draft_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    """Draft page: files with add/rename/delete, entry document, save as a new version."""
    draft = _get_draft_for_user(request, project_id)
    return _render_draft(request, draft)


def _render_draft(request: HttpRequest, draft: Draft, status: int = 200, **forms: Any) -> HttpResponse:
    latest = draft.project.latest_version
    context = {
        "draft": draft,
        "project": draft.project,
        "files": draft.files.select_related("blob").order_by("path"),
        "latest": latest,
        "stale": draft.is_stale(),
        "modified": draft.is_modified(),
        "add_form": forms.get("add_form") or DraftAddFileForm(),
        "save_form": forms.get("save_form") or DraftSaveForm(),
        "error": forms.get("error"),
        "conflict": forms.get("conflict"),
        "versions": draft.project.versions.order_by("-number"),
    }
    return render(request, "designer/draft_detail.html", context, status=status)


@page
@require_GET
def draft_editor(request: HttpRequest, project_id: int) -> HttpResponse:
    """The code editor on the user's draft."""
    draft = _get_draft_for_user(request, project_id)
    return render(
        request,
        "designer/editor.html",
        {"project": draft.project, "draft": draft, "version": draft.base, "payload": draft_page_data(draft)},
    )


@page
@require_GET
def draft_diagram(request: HttpRequest, project_id: int) -> HttpResponse:
    """The statechart diagram of the user's draft."""
    draft = _get_draft_for_user(request, project_id)
    payload = show_entry(request, draft_page_data(draft, with_texts=False))
    return render(
        request,
        "designer/diagram.html",
        {
            "project": draft.project,
            "draft": draft,
            "version": draft.base,
            "payload": payload,
            # the editor's layouts go to the draft; its version starts with the last one
            "layout_store": (
                draft_layout_store(draft, payload["shown"], request.COOKIES.get(FONTS_COOKIE))
                if payload["shown"]
                else None
            ),
        },
    )


@page
@require_POST
def draft_start(request: HttpRequest, project_id: int) -> HttpResponse:
    """Restart the draft from a chosen version (default: latest), discarding the current one."""
    project = _get_project_for_user(request, project_id, Role.EDITOR)
    form = DraftStartForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Invalid version.")
    base = project.latest_version
    if form.cleaned_data["base"]:
        base = project.versions.filter(pk=form.cleaned_data["base"]).first()
        if base is None:
            return HttpResponseBadRequest("That version does not belong to this project.")
    history.reset_draft(project, request.user, base)
    messages.info(request, f"Draft restarted from {base.label if base else 'an empty project'}.")
    return redirect("designer-draft-detail", project.pk)


@page
@require_POST
@rate_limited(work_throttle("POST"))
def draft_file_add(request: HttpRequest, project_id: int) -> HttpResponse:
    """Add or replace a file of the draft (typed content or uploaded file)."""
    draft = _get_draft_for_user(request, project_id)
    form = DraftAddFileForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["upload"]
        content = upload.read() if upload else form.cleaned_data["content"].encode("utf-8")
        try:
            history.write_draft_file(draft, form.cleaned_data["path"], content)
        except UploadError as exc:
            form.add_error("path", str(exc))
        else:
            messages.success(request, f"Saved {form.cleaned_data['path']} in the draft.")
            return redirect("designer-draft-detail", draft.project_id)
    return _render_draft(request, draft, status=400, add_form=form)


@page
@require_POST
def draft_file_rename(request: HttpRequest, project_id: int) -> HttpResponse:
    """Rename a file of the draft."""
    draft = _get_draft_for_user(request, project_id)
    form = DraftRenameFileForm(request.POST)
    return _draft_action(
        request, draft, form, lambda d, data: history.rename_draft_file(d, data["path"], data["new_path"])
    )


@page
@require_POST
def draft_file_delete(request: HttpRequest, project_id: int) -> HttpResponse:
    """Delete a file of the draft."""
    draft = _get_draft_for_user(request, project_id)
    form = DraftPathForm(request.POST)
    return _draft_action(request, draft, form, lambda d, data: history.delete_draft_file(d, data["path"]))


@page
@require_POST
def draft_set_entry(request: HttpRequest, project_id: int) -> HttpResponse:
    """Choose the draft's entry document."""
    draft = _get_draft_for_user(request, project_id)
    form = DraftPathForm(request.POST)
    return _draft_action(request, draft, form, lambda d, data: history.set_draft_entry(d, data["path"]))


def _draft_action(
    request: HttpRequest, draft: Draft, form: Any, action: Callable[[Draft, dict[str, Any]], object]
) -> HttpResponse:
    """Validate a small form and run `action(draft, cleaned_data)`; 400 with the draft page on bad input."""
    if not form.is_valid():
        return _render_draft(request, draft, status=400, error="Invalid request: " + form.errors.as_text())
    try:
        action(draft, form.cleaned_data)
    except UploadError as exc:
        return _render_draft(request, draft, status=400, error=str(exc))
    return redirect("designer-draft-detail", draft.project_id)


@page
@require_POST
@rate_limited(work_throttle("POST"))
def draft_save(request: HttpRequest, project_id: int) -> HttpResponse:
    """Save the draft as a new version; a stale base is refused (409) and the draft kept."""
    draft = _get_draft_for_user(request, project_id)
    form = DraftSaveForm(request.POST)
    if not form.is_valid():
        return _render_draft(request, draft, status=400, save_form=form)
    try:
        version = history.save_draft(draft, form.cleaned_data["message"])
    except history.StaleParentError as exc:
        return _render_draft(request, draft, status=409, save_form=form, conflict=str(exc))
    except UploadError as exc:
        return _render_draft(request, draft, status=400, save_form=form, error=str(exc))
    messages.success(request, f"Saved {version.label}.")
    return redirect("designer-version-detail", version.pk)


@page
@require_POST
@rate_limited(work_throttle("POST"))
def draft_rebase(request: HttpRequest, project_id: int) -> HttpResponse:
    """After a conflict: base the draft on the latest version, keeping the draft's files."""
    draft = _get_draft_for_user(request, project_id)
    history.rebase_draft(draft)
    messages.info(request, "Your draft is now based on the latest version; review the changes and save again.")
    return redirect("designer-draft-detail", draft.project_id)


@page
@require_POST
def draft_discard(request: HttpRequest, project_id: int) -> HttpResponse:
    """Throw the draft away."""
    project = _get_project_for_user(request, project_id, Role.EDITOR)
    Draft.objects.filter(project=project, user=request.user).delete()
    messages.info(request, "Draft discarded.")
    return redirect("designer-project-detail", project.pk)


# --------------------------------------------------------------------------------------------
# Sharing and comments


@page
@require_POST
def sharelink_create(request: HttpRequest, version_id: int) -> HttpResponse:
    """Create a read-only share link for a version (editor role)."""
    version = _get_version_for_user(request, version_id, Role.EDITOR)
    link = ShareLink.objects.create(version=version, created_by=request.user)
    url = request.build_absolute_uri(reverse("designer-sharelink-open", args=[link.token]))
    messages.success(request, f"Share link created: {url}")
    return redirect("designer-version-detail", version.pk)


@page
@require_POST
def sharelink_revoke(request: HttpRequest, link_id: int) -> HttpResponse:
    """Revoke a share link (editor role); the token stops working at once."""
    link = _get_share_link_for_user(request, link_id)
    link.revoke()
    messages.info(request, "Share link revoked.")
    return redirect("designer-version-detail", link.version_id)


@require_GET
def sharelink_open(request: HttpRequest, token: str) -> HttpResponse:
    """Open a share link: remember it in the session and show the version (404 once revoked)."""
    link = ShareLink.objects.filter(token=token, revoked_at__isnull=True).first()
    if link is None:
        raise Http404("This share link does not exist or was revoked.")
    remember_share_token(request, token)
    return redirect("designer-version-detail", link.version_id)


@page
@require_POST
def comment_create(request: HttpRequest, version_id: int) -> HttpResponse:
    """Post a review comment (team members, any role); replies and file:line anchors allowed."""
    version = _get_version_for_user(request, version_id)
    if version_role(request, version) is None:
        # Share-link visitors read comments but cannot post them.
        refuse(request, PermissionDenied("Only team members can comment; a share link is read-only."))
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            create_comment(version, request.user, form.cleaned_data)
        except UploadError as exc:
            error = str(exc)
        else:
            return redirect(reverse("designer-version-detail", args=[version.pk]) + "#comments")
    else:
        error = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in form.errors.items())
    return _render_version(request, version, form, f"Your comment was not posted: {error}", status=400)


def create_comment(version: Version, user: Any, data: dict[str, Any]) -> Comment:
    """Store a comment after checking its parent and anchor; UploadError on bad input."""
    parent = None
    if data.get("parent"):
        parent = version.comments.filter(pk=data["parent"]).first()
        if parent is None:
            raise NoSuchFile("The comment replied to is not on this version.")
    path = (data.get("path") or "").strip()
    line = data.get("line")
    if path and not version.files.filter(path=path).exists():
        raise NoSuchFile(f"{path}: no such file in {version.label}.")
    if line and not path:
        raise UploadError("A line number needs a file path.")
    return Comment.objects.create(
        version=version, author=user, parent=parent, path=path, line=line, body=data["body"].strip()
    )


# --------------------------------------------------------------------------------------------
# Teams and memberships (owners manage members; anyone logged in may start a team)


@login_required
@require_http_methods(["GET", "POST"])
def team_list(request: HttpRequest) -> HttpResponse:
    """The user's teams with their role; POST creates a team owned by the user."""
    form = TeamForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                with transaction.atomic():
                    team = Team.objects.create(name=form.cleaned_data["name"].strip())
                    Membership.objects.create(team=team, user=request.user, role=Role.OWNER)
            except IntegrityError:
                form.add_error("name", "A team with this name already exists.")
            else:
                return redirect("designer-team-detail", team.pk)
    memberships = Membership.objects.filter(user=request.user).select_related("team").order_by("team__name")
    invitations = Invitation.objects.filter(user=request.user).select_related("team", "invited_by")
    context = {"memberships": memberships, "invitations": invitations, "form": form}
    return render(request, "designer/team_list.html", context, status=status)


@page
@require_GET
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    """Members and roles of a team (owners can change them)."""
    team = _get_team_for_user(request, team_id)
    role = role_in_team(request.user, team.pk)
    return _render_team(request, team, role)


def _render_team(
    request: HttpRequest,
    team: Team,
    role: str | None,
    status: int = 200,
    error: str = "",
    form: MembershipForm | None = None,
) -> HttpResponse:
    context = {
        "team": team,
        "role": role,
        "is_owner": role == Role.OWNER,
        "memberships": team.memberships.select_related("user").order_by("user__username"),
        "projects": team.projects.order_by("name"),
        "form": form or MembershipForm(),  # a refused form keeps what was typed
        "roles": Role.choices,
        "error": error,
    }
    return render(request, "designer/team_detail.html", context, status=status)


@page
@require_POST
def membership_set(request: HttpRequest, team_id: int) -> HttpResponse:
    """Change a member's role, or invite a user by name (owner only); the last owner stays owner.

    A name that is not a member gets an invitation the user accepts on their Teams page. The
    answer is the same whether or not an account has that name, so nothing reveals who exists.
    """
    team = _get_team_for_user(request, team_id, Role.OWNER)
    form = MembershipForm(request.POST)
    if not form.is_valid():
        return _render_team(request, team, Role.OWNER, 400, "Invalid request: " + form.errors.as_text(), form)
    username = form.cleaned_data["username"].strip()
    new_role = form.cleaned_data["role"]
    membership = team.memberships.select_related("user").filter(user__username=username).first()
    if membership is None:
        invitee = get_user_model().objects.filter(username=username).first()
        if invitee is not None:
            Invitation.objects.update_or_create(
                team=team, user=invitee, defaults={"role": new_role, "invited_by": request.user}
            )
        messages.success(
            request,
            f"If {username!r} has an account, they are invited to {team.name} as {new_role}; "
            "they join when they accept the invitation on their Teams page.",
        )
        return redirect("designer-team-detail", team.pk)
    if membership.role == Role.OWNER and new_role != Role.OWNER and _last_owner(team):
        return _render_team(request, team, Role.OWNER, 400, "A team needs at least one owner.")
    membership.role = new_role
    membership.save(update_fields=["role"])
    messages.success(request, f"{username} is now {new_role} of {team.name}.")
    return redirect("designer-team-detail", team.pk)


def _get_invitation_for_user(request: HttpRequest, invitation_id: int) -> Invitation:
    """An invitation addressed to the requester (404 for anyone else: it reveals nothing)."""
    invitation = Invitation.objects.select_related("team").filter(pk=invitation_id, user=request.user).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


@login_required
@require_POST
def invitation_accept(request: HttpRequest, invitation_id: int) -> HttpResponse:
    """Join the team with the invitation's role (the invitee only). The team's latest versions are
    laid out for this browser's font table, as for a table new to the user (serverlayouts)."""
    invitation = _get_invitation_for_user(request, invitation_id)
    fonts = known_fingerprint(request.user, request.COOKIES.get(FONTS_COOKIE))
    with transaction.atomic():
        _, joined = Membership.objects.get_or_create(
            team=invitation.team, user=request.user, defaults={"role": invitation.role}
        )
        invitation.delete()
        if joined and fonts is not None:
            user_id, team_id = request.user.pk, invitation.team_id
            transaction.on_commit(lambda: schedule_catch_up(user_id, fonts, team_id))
    messages.success(request, f"You joined {invitation.team.name} as {invitation.role}.")
    return redirect("designer-team-detail", invitation.team_id)


@login_required
@require_POST
def invitation_decline(request: HttpRequest, invitation_id: int) -> HttpResponse:
    """Decline an invitation (the invitee only); the inviter is not told."""
    invitation = _get_invitation_for_user(request, invitation_id)
    invitation.delete()
    messages.info(request, f"Invitation to {invitation.team.name} declined.")
    return redirect("designer-team-list")


@page
@require_POST
def membership_remove(request: HttpRequest, team_id: int) -> HttpResponse:
    """Remove a member (owner only; members may also leave); the last owner cannot leave."""
    team = _get_team_for_user(request, team_id)
    username = request.POST.get("username", "").strip()
    membership = team.memberships.select_related("user").filter(user__username=username).first()
    if membership is None:
        return HttpResponseBadRequest("No such member.")
    if membership.user_id != request.user.pk:
        _get_team_for_user(request, team_id, Role.OWNER)
    if membership.role == Role.OWNER and _last_owner(team):
        return _render_team(request, team, role_in_team(request.user, team.pk), 400, "A team needs at least one owner.")
    membership.delete()
    messages.info(request, f"{username} left {team.name}.")
    if membership.user_id == request.user.pk:
        return redirect("designer-team-list")
    return redirect("designer-team-detail", team.pk)


def _last_owner(team: Team) -> bool:
    return team.memberships.filter(role=Role.OWNER).count() <= 1
