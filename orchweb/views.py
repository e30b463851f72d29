"""Project-level views: liveness (/healthz) and readiness (/readyz). Pages live in the apps."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from orchweb.health import pool_readiness, run_checks
from orchweb.inflight import requests_in_flight
from simulator.sessions import open_simulations


def _health_body(results: dict[str, str | None]) -> tuple[dict, list[str]]:
    failed = sorted(name for name, reason in results.items() if reason is not None)
    body = {
        "status": "ok" if not failed else "fail",
        "checks": {name: ("ok" if reason is None else reason) for name, reason in results.items()},
        "failed": failed,
    }
    return body, failed


@never_cache
async def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: 200 with every check "ok", or 503 naming the failed checks and why.

    Public on purpose (load balancers call it without a session); it reveals only check names and
    error class names, never a host, port or user.
    """
    body, failed = _health_body(await run_checks())
    return JsonResponse(body, status=503 if failed else 200)


@never_cache
async def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when this process should get more work; 503 when it is saturated or unhealthy.

    A saturated process stays live (/healthz 200): it is serving, it should just not get more.
    """
    body, failed = _health_body(await run_checks())
    busy, pool = pool_readiness()
    if busy is not None:
        failed.append("simulation_pool")
    body.update(
        status="ready" if not failed else "busy",
        failed=failed,
        pool=pool,
        simulations=open_simulations(),
        requests=requests_in_flight() - 1,  # the others: this one is under way too
    )
    if busy is not None:
        body["checks"]["simulation_pool"] = busy
    return JsonResponse(body, status=503 if failed else 200)
