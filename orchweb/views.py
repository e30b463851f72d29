"""Project-level views: the health endpoint. Pages live in the apps."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from orchweb.health import run_checks


@never_cache
async def healthz(request: HttpRequest) -> JsonResponse:
    """200 with every check "ok", or 503 naming the failed checks and why.

    Public on purpose (load balancers call it without a session); it reveals only check names and
    error class/messages from our own services.
    """
    results = await run_checks()
    failed = sorted(name for name, reason in results.items() if reason is not None)
    body = {
        "status": "ok" if not failed else "fail",
        "checks": {name: ("ok" if reason is None else reason) for name, reason in results.items()},
        "failed": failed,
    }
    return JsonResponse(body, status=503 if failed else 200)
