"""Errors as users and API clients should see them, whatever DEBUG says.

- Expected refusals (Http404, PermissionDenied, an unknown URL) render the site's own 404/403 page
  (templates/404.html, 403.html) even with DEBUG on, where Django would show its technical page;
  Django's request logger writes them as one line ("Forbidden: /path"), never a traceback.
- API clients (an /api/ path, or JSON accepted and HTML not) get JSON errors, never an HTML page
  or an empty body:
  `{"detail": ...}` with 404/403, 503 when the database cannot be reached (logged as one line,
  naming no host), 500 for anything else (logged with its traceback: that one is a bug).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from orchweb.limits import wants_json

logger = logging.getLogger("orchweb.errors")

DATABASE_DOWN = "The database is not reachable; try again shortly."


def is_api_client(request: HttpRequest) -> bool:
    return wants_json(request.path, request.headers.get("Accept", ""))


def refusal_response(request: HttpRequest, status: int, exception: Exception | None = None) -> HttpResponse:
    """The site's 404/403 page (or JSON for an API client) with the view's reason for a 403."""
    reason = str(exception) if exception is not None and str(exception) else ""
    if is_api_client(request):
        default = "Not found." if status == 404 else "You do not have permission to do this."
        # A 404's text could tell an outsider what exists; only a 403's reason is passed on.
        return JsonResponse({"detail": reason if status == 403 and reason else default}, status=status)
    context = {"exception": reason if status == 403 else "", "request_path": request.path}
    return HttpResponse(render_to_string(f"{status}.html", context, request=request), status=status)


class ErrorPagesMiddleware:
    """Put first in MIDDLEWARE (after SecurityMiddleware): it must see every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 404 and getattr(request, "resolver_match", None) is None:
            # No URL matched: Django answered from outside every view (a technical page in DEBUG).
            return refusal_response(request, 404)
        if response.status_code >= 400 and is_api_client(request) and "json" not in response.get("Content-Type", ""):
            # An error answered as HTML or with no body (Django's 400/405/500 handling, a view's
            # bare HttpResponseBadRequest): API clients always get JSON with the same status.
            detail = "Internal server error." if response.status_code >= 500 else f"{response.reason_phrase}."
            answer = JsonResponse({"detail": detail}, status=response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    answer[header] = response[header]
            return answer
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404):
            return refusal_response(request, 404, exception)
        if isinstance(exception, PermissionDenied):
            return refusal_response(request, 403, exception)
        if not is_api_client(request):
            return None  # a page: Django's 500 handling (500.html, or the debug page in DEBUG)
        if isinstance(exception, (OperationalError, InterfaceError)):
            # Connection failures: the message names the host and port; the log says which path.
            logger.warning("database unavailable for %s %s: %s", request.method, request.path, type(exception).__name__)
            return JsonResponse({"detail": DATABASE_DOWN}, status=503, headers={"Retry-After": "5"})
        if isinstance(exception, DatabaseError):
            logger.error("database error for %s %s", request.method, request.path, exc_info=exception)
            return JsonResponse({"detail": "Internal server error."}, status=500)
        logger.error("unexpected error for %s %s", request.method, request.path, exc_info=exception)
        return JsonResponse({"detail": "Internal server error."}, status=500)
