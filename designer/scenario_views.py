"""Pages of the Tests tab: a version's or the user's draft's scenarios, run and replayed.

Access: a version's stored verdicts are readable by whoever reads the version (share links
included); running them needs membership of the team (any role, viewers too: a version's run
changes nothing but its stored results). A draft's tests are its owner's (the editor role).
Runs are bounded (designer.scenario_suite) and one per user at a time.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from designer import scenario_suite
from designer.models import Draft, Role, Version
from designer.permissions import _get_version_for_user, has_role, version_role
from designer.views import _get_draft_for_user, page
from orchweb.throttling import rate_limited, work_throttle
from simulator import scenario_replays
from simulator.runners.scenarios import project_scenarios


class _Target:
    """What a Tests page shows: a version or a draft, with its files and URLs."""

    def __init__(self, version: Version | None = None, draft: Draft | None = None) -> None:
        self.version = version
        self.draft = draft
        owner = version or draft
        assert owner is not None
        self.files = owner.read_files()
        self.entry = owner.entry
        self.project = owner.project
        if version is not None:
            self.page_url = reverse("designer-version-tests", args=[version.pk])
            self.replay_url = reverse("designer-version-replay", args=[version.pk])
            self.graph_url = reverse("designer-api-version-graph", args=[version.pk])
            self.api_url = reverse("designer-api-version-scenarios", args=[version.pk])
            self.label = version.label
        else:
            pid = self.project.pk
            self.page_url = reverse("designer-draft-tests", args=[pid])
            self.replay_url = reverse("designer-draft-replay", args=[pid])
            self.graph_url = reverse("designer-api-draft-graph", args=[pid])
            self.api_url = reverse("designer-api-draft-scenarios", args=[pid])
            self.label = "your draft"


def _render(
    request: HttpRequest,
    target: _Target,
    report: dict[str, Any] | None,
    can_run: bool,
    stored: Any = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "project": target.project,
        "version": target.version,
        "draft": target.draft,
        "target": target,
        "scenarios": project_scenarios(target.files),
        "report": report,
        "stored": stored,
        "can_run": can_run,
        "error": error,
        "max_scenarios": scenario_suite.MAX_SCENARIOS,
        "suite_seconds": int(scenario_suite.SUITE_SECONDS),
    }
    return render(request, "designer/tests.html", context, status=status)


def _run(request: HttpRequest, target: _Target) -> tuple[dict[str, Any] | None, Any, str, int]:
    """(report, stored run, error, status) of a POST: "Run all" or run one (`scenario=path`)."""
    path = request.POST.get("scenario", "")
    try:
        with scenario_suite.user_slot(request.user.pk):
            if path:
                if path not in project_scenarios(target.files):
                    return None, None, f"No scenario {path!r} in {target.label}.", 400
                report = scenario_suite.run_suite(target.files, target.entry, [path])
                return report, None, "", 200
            if target.version is not None:
                stored = scenario_suite.run_version(target.version, request.user)
                return stored.report, stored, "", 200
            return scenario_suite.run_suite(target.files, target.entry), None, "", 200
    except scenario_suite.Busy as exc:
        return None, None, str(exc), 429


@page
@require_http_methods(["GET", "POST"])
@rate_limited(work_throttle("POST"))
def version_tests(request: HttpRequest, version_id: int) -> HttpResponse:
    """The Tests tab of a version: its scenarios, the stored verdicts; POST runs them."""
    version = _get_version_for_user(request, version_id)
    can_run = has_role(version_role(request, version), Role.VIEWER)
    target = _Target(version=version)
    if request.method == "POST":
        if not can_run:
            return _render(request, target, None, False, error="Only team members can run scenarios.", status=403)
        report, stored, error, status = _run(request, target)
        return _render(request, target, report, can_run, stored=stored, error=error, status=status)
    stored = scenario_suite.stored_run(version)
    return _render(request, target, stored.report if stored else None, can_run, stored=stored)


@page
@require_http_methods(["GET", "POST"])
@rate_limited(work_throttle("POST"))
def draft_tests(request: HttpRequest, project_id: int) -> HttpResponse:
    """The Tests tab of the user's draft (nothing stored: a draft changes); POST runs them."""
    target = _Target(draft=_get_draft_for_user(request, project_id))
    if request.method == "POST":
        report, _, error, status = _run(request, target)
        return _render(request, target, report, True, error=error, status=status)
    return _render(request, target, None, True)


def _replay(request: HttpRequest, target: _Target) -> HttpResponse:
    """Open the scenario `?scenario=` in the simulator as the user's read-only replay, at
    `?record=N` (the failing record): simulator.scenario_replays. Reopening reuses the replay."""
    path = request.GET.get("scenario", "")
    if path not in project_scenarios(target.files):
        return _render(request, target, None, True, error=f"No scenario {path!r} in {target.label}.", status=404)
    try:
        with scenario_suite.user_slot(request.user.pk):
            simulation = scenario_replays.open_replay(request.user, path, version=target.version, draft=target.draft)
    except scenario_suite.Busy as exc:
        return _render(request, target, None, True, error=str(exc), status=429)
    except scenario_replays.ReplayError as exc:
        return _render(request, target, None, True, error=f"Cannot replay {path}: {exc}", status=400)
    url = reverse("simulator-simulation-detail", args=[simulation.pk])
    record = request.GET.get("record", "")
    return redirect(f"{url}?record={record}" if record.isdigit() else url)


@page
@require_GET
@rate_limited(work_throttle())
def version_replay(request: HttpRequest, version_id: int) -> HttpResponse:
    """Open one of a version's scenarios in the simulator, read-only (members: it runs the scenario)."""
    version = _get_version_for_user(request, version_id, Role.VIEWER)
    target = _Target(version=version)
    if not has_role(version_role(request, version), Role.VIEWER):
        return _render(request, target, None, False, error="Only team members can replay scenarios.", status=403)
    return _replay(request, target)


@page
@require_GET
@rate_limited(work_throttle())
def draft_replay(request: HttpRequest, project_id: int) -> HttpResponse:
    """Open one of the user's draft's scenarios in the simulator, read-only (the draft as it is now)."""
    return _replay(request, _Target(draft=_get_draft_for_user(request, project_id)))
