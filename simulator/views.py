"""Pages of the simulator: the user's simulations, opening a simulation of a version, the simulation page.

The page itself is static HTML + `static/simulator/simulation.js`; everything live goes through the
websocket (`ws/simulations/<id>/`, docs/simulation-protocol.md).
"""

from __future__ import annotations

import json
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from designer.analysis import analysed
from designer.layouts import layout_store
from designer.models import Role
from designer.permissions import AuthenticationRequired, get_version_for_user, request_share_tokens, teams_for_user
from designer.serverlayouts import FONTS_COOKIE
from orchweb.throttling import rate_limited, work_throttle
from simulator import recipes, retention, scenario_replays, sessions
from simulator.models import Simulation
from simulator.ors.fakes import FakesError, load_fakes
from simulator.ors.projectfiles import entry_candidates


def page(view: Any) -> Any:
    """Anonymous visitors go to the login page (the access helpers raise AuthenticationRequired)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            return view(request, *args, **kwargs)
        except AuthenticationRequired:
            return redirect_to_login(request.get_full_path())

    return wrapper


@page
@require_GET
def simulation_list(request: HttpRequest) -> HttpResponse:
    """The user's simulations, and the shared ones of their teams' projects they can watch."""
    retention.expire_now_and_then()
    teams = teams_for_user(request.user)
    simulations = (
        Simulation.objects.filter(Q(owner=request.user) | Q(shared=True, version__project__team__in=teams))
        .select_related("version__project", "owner")
        .distinct()[:200]
    )
    return render(request, "simulator/simulation_list.html", {"simulations": simulations})


def _cannot_open(request: HttpRequest, message: str, version: Any) -> HttpResponse:
    """A 400 page in the site's shell (navigation, a way back), not a bare text response."""
    return render(request, "simulator/error.html", {"message": message, "version": version}, status=400)


def _create(request: HttpRequest, version_id: int) -> HttpResponse:
    """GET shows the start form (pick a fakes profile); only POST creates, so a reload, a prefetch
    or a crawler following the Simulate link never opens duplicate simulations."""
    version = get_version_for_user(request.user, version_id, request_share_tokens(request))
    files, _ = sessions.version_files(version)
    fakes_path = request.POST.get("fakes") or request.GET.get("fakes") or ""
    # Any IPD or runnable workflow of the version may be simulated, without saving a version.
    entries = entry_candidates(files, version.entry)
    entry = request.POST.get("entry") or request.GET.get("entry") or version.entry
    if request.method != "POST":
        fakes_files = sorted(p for p in files if p.startswith("fakes/") and p.endswith(".json"))
        return render(
            request,
            "simulator/start.html",
            {
                "version": version,
                "fakes_files": fakes_files,
                "selected": fakes_path,
                "entries": entries,
                "entry": entry,
            },
        )
    if entry not in entries:
        return _cannot_open(request, f"{entry!r} is not a document this version can start from", version)
    try:
        fakes, source = sessions.resolve_fakes(files, fakes_path or None)
        retention.expire_now_and_then()
        retention.check_room(request.user)
    except (sessions.OpError, retention.TooManyStored) as exc:
        return _cannot_open(request, str(exc), version)
    simulation = Simulation.objects.create(
        owner=request.user,
        version=version,
        fakes=fakes,
        fakes_source=source,
        entry="" if entry == version.entry else entry,
    )
    return redirect("simulator-simulation-detail", simulation_id=simulation.pk)


@page
@require_http_methods(["GET", "POST"])
def version_simulate(request: HttpRequest, version_id: int) -> HttpResponse:
    """Start a new simulation of a version (optional `fakes=fakes/x.json`) and go to its page."""
    return _create(request, version_id)


@page
@require_http_methods(["GET", "POST"])
def simulation_new(request: HttpRequest) -> HttpResponse:
    """`/simulations/new/?version=ID`: the same as `/versions/ID/simulate/` (link of the version page)."""
    raw = request.POST.get("version") or request.GET.get("version") or ""
    if not raw.isdigit():
        return _cannot_open(request, "version must be the id of a version", None)
    return _create(request, int(raw))


@page
@require_GET
def simulation_detail(request: HttpRequest, simulation_id: int) -> HttpResponse:
    """The simulation page: diagram, controls, pending requests, fakes, inject, inspector, trace."""
    simulation, role = sessions.get_simulation_for_user(request.user, simulation_id, request_share_tokens(request))
    version = simulation.version
    files, entry = sessions.simulation_files(simulation)
    entry = simulation.entry or entry
    fakes_files = {}
    for path in sorted(p for p in files if p.startswith("fakes/") and p.endswith(".json")):
        try:
            fakes_files[path] = json.loads(files[path])
            load_fakes(fakes_files[path])
        except (ValueError, FakesError):
            fakes_files.pop(path, None)
    config = {
        "simulation": simulation.pk,
        "readonly": role in ("watcher", "replay"),
        # a scenario replay opens at `?record=N` (the Tests tab's failing record)
        "replay": _replay_config(request, simulation) if role == "replay" else None,
        "owner": simulation.owner.get_username(),
        "shared": simulation.shared,
        "entry": entry,
        "fakes_files": fakes_files,
        "urls": {
            "ws": f"/ws/simulations/{simulation.pk}/",
            # a draft's replay draws the draft (the files it replays are the draft's)
            "graph": (
                reverse("designer-api-draft-graph", args=[version.project_id])
                if simulation.files
                else reverse("designer-api-version-graph", args=[version.pk])
            )
            + (f"?{urlencode({'entry': entry})}" if simulation.entry else ""),
            "editor": reverse("designer-version-editor", args=[version.pk]),
            "version": reverse("designer-version-detail", args=[version.pk]),
        },
    }
    diagram = None
    if not simulation.files and entry in files:
        # The version's graph and a stored layout of it (the user's own or a writer's,
        # designer.layouts.layout_store) come with the page: it draws without a graph request or
        # an ELK run.
        diagram = {
            "graph": analysed("graph", version, entry),
            "store": layout_store(request.user, version, entry, request.COOKIES.get(FONTS_COOKIE)),
        }
    return render(
        request,
        "simulator/simulation.html",
        {
            "simulation": simulation,
            "version": version,
            "project": version.project,
            "role": role,
            "config": config,
            "diagram": diagram,
        },
    )


def _replay_config(request: HttpRequest, simulation: Simulation) -> dict[str, Any]:
    """What the page shows and does for a scenario replay: its label, the record to open at, the
    Tests tab it came from."""
    record = request.GET.get("record", "")
    version = simulation.version
    tests = (
        reverse("designer-draft-tests", args=[version.project_id])
        if simulation.files
        else reverse("designer-version-tests", args=[version.pk])
    )
    return {
        "scenario": simulation.scenario,
        "label": scenario_replays.describe(simulation),
        "record": int(record) if record.isdigit() else None,
        "tests": tests,
    }


@page
@require_POST
def simulation_delete(request: HttpRequest, simulation_id: int) -> HttpResponse:
    """Delete one of your simulations (the list's Delete button), e.g. one that cannot start.

    Only the owner may; watchers of a shared one get 403, others 404 as for the page. A page
    still open on it keeps its in-memory run until closed, and nothing of it is saved any more.
    """
    simulation, role = sessions.get_simulation_for_user(request.user, simulation_id, request_share_tokens(request))
    if role != "owner":
        raise PermissionDenied("Only the simulation's owner can delete it.")
    label = f"Simulation {simulation.pk} of {simulation.version}"
    simulation.delete()
    messages.success(request, f"{label} deleted.")
    return redirect("simulator-simulation-list")


@page
@require_GET
@rate_limited(work_throttle())
def simulation_trace(request: HttpRequest, simulation_id: int) -> HttpResponse:
    """The simulation's trace as JSON lines (docs/trace.md), rebuilt by replay."""
    simulation, _ = sessions.get_simulation_for_user(request.user, simulation_id, request_share_tokens(request))
    response = StreamingHttpResponse(recipes.trace_lines(simulation), content_type="application/jsonl")
    response["Content-Disposition"] = f'attachment; filename="simulation-{simulation.pk}-trace.jsonl"'
    return response


@page
@require_GET
@rate_limited(work_throttle())
def simulation_recipe(request: HttpRequest, simulation_id: int) -> HttpResponse:
    """The recipe (files, entry, fakes, seed, operations) that reproduces the simulation anywhere."""
    simulation, _ = sessions.get_simulation_for_user(request.user, simulation_id, request_share_tokens(request))
    response = JsonResponse(recipes.recipe_of(simulation))
    response["Content-Disposition"] = f'attachment; filename="simulation-{simulation.pk}-recipe.json"'
    return response


def _no_room(user: Any) -> str | None:
    """Why `user` may not store another simulation (None: they may)."""
    try:
        retention.check_room(user)
    except retention.TooManyStored as exc:
        return str(exc)
    return None


@page
@require_http_methods(["GET", "POST"])
@rate_limited(work_throttle("POST"))
def simulation_import(request: HttpRequest) -> HttpResponse:
    """Upload a recipe: a new project of one of your teams (editor) holding it, and its simulation."""
    teams = teams_for_user(request.user, Role.EDITOR)
    context: dict[str, Any] = {"teams": teams, "error": ""}
    if request.method == "POST":
        upload = request.FILES.get("recipe")
        team = next((t for t in teams if str(t.pk) == request.POST.get("team")), None)
        if upload is None or team is None:
            context["error"] = "Choose a recipe file and one of your teams."
        elif (full := _no_room(request.user)) is not None:
            context["error"] = full
        elif upload.size > settings.MAX_UPLOAD_BYTES:
            context["error"] = f"The recipe is {upload.size:,} bytes; the limit is {settings.MAX_UPLOAD_BYTES:,}."
        else:
            try:
                recipe = recipes.read_recipe(upload.read())
            except recipes.RecipeError as exc:
                context["error"] = f"{upload.name}: {exc}"
            else:
                simulation = recipes.import_recipe(recipe, request.user, team)
                return redirect("simulator-simulation-detail", simulation_id=simulation.pk)
    return render(request, "simulator/import.html", context, status=400 if context["error"] else 200)
