"""Pages of batch runs: list, detail, start (from the version page), cancel, CSV and JSON export.

The logic is simulator.batches'; these views parse the form, call it and render or redirect.
The detail page's JS follows the run over ``ws/batches/<id>/`` (docs/scenarios.md).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from designer.permissions import get_version_for_user, request_share_tokens
from designer.views import attachment_disposition
from orchweb.throttling import rate_limited, work_throttle
from simulator import batches
from simulator.batch_api import serialize
from simulator.models import BatchRun
from simulator.views import page

PAGE_SIZE = 50


def _run(request: HttpRequest, batch_id: int) -> BatchRun:
    return batches.get_batch_for_user(request.user, batch_id, request_share_tokens(request))


@page
@require_GET
def batch_list(request: HttpRequest) -> HttpResponse:
    """Batch runs of the versions of the user's teams, newest first, paginated."""
    runs = Paginator(batches.batches_for_user(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "simulator/batch_list.html", {"runs": runs})


@page
@require_GET
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    """A run's page: progress (live over the websocket), then its report's charts."""
    run = _run(request, batch_id)
    return render(
        request,
        "simulator/batch.html",
        {"run": run, "version": run.version, "project": run.version.project, "config": serialize(request, run)},
    )


def _json_field(request: HttpRequest, name: str) -> Any:
    text = (request.POST.get(name) or "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise batches.BatchError(f"{name} is not valid JSON ({exc})") from exc


def _whole(request: HttpRequest, name: str, default: int | None) -> int:
    text = (request.POST.get(name) or "").strip().replace(",", "").replace("_", "")
    if not text and default is not None:
        return default
    if not text.isdigit():
        raise batches.BatchError(f"{name} must be a whole number")
    return int(text)


@page
@require_POST
@rate_limited(work_throttle())
def batch_start(request: HttpRequest, version_id: int) -> HttpResponse:
    """Start a batch from the version page's form (count, seed, vary and fakes as JSON text).

    Refusals (bad input, the per-user limit) go back to the version page with a message;
    viewers get 403, outsiders 404.
    """
    version = get_version_for_user(request.user, version_id, request_share_tokens(request))
    try:
        count = _whole(request, "count", None)
        seed = _whole(request, "seed", 0)
        fakes = request.POST.get("fakes_file") or _json_field(request, "fakes")
        run = batches.start_batch(request.user, version, count, seed, _json_field(request, "vary"), fakes)
    except (batches.BatchError, batches.BatchLimit) as exc:
        messages.error(request, f"Batch not started: {exc}")
        return redirect("designer-version-detail", version_id=version.pk)
    return redirect("simulator-batch-detail", batch_id=run.pk)


@page
@require_POST
def batch_cancel(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Cancel a queued or running batch (its owner or a team owner) and go back to its page."""
    run = batches.cancel_batch(request.user, _run(request, batch_id))
    messages.info(request, f"Batch {run.pk}: {'cancelled' if run.status == run.Status.CANCELLED else 'stopping'}.")
    return redirect("simulator-batch-detail", batch_id=run.pk)


def _download(run: BatchRun, extension: str) -> str:
    project = run.version.project
    return attachment_disposition(f"{project.name}-{run.version.label}-batch-{run.pk}.{extension}")


@page
@require_GET
@rate_limited(work_throttle())
def batch_report_json(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The run (settings, status) and its report as a JSON download."""
    run = _run(request, batch_id)
    response = JsonResponse(serialize(request, run), json_dumps_params={"indent": 1})
    response["Content-Disposition"] = _download(run, "json")
    return response


@page
@require_GET
@rate_limited(work_throttle())
def batch_report_csv(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The run's report as CSV (``section,key,detail,value``) download."""
    run = _run(request, batch_id)
    response = HttpResponse(batches.report_csv(run), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _download(run, "csv")
    return response
