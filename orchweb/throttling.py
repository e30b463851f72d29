"""Request-rate limits per user (per client address when anonymous), kept in Django's cache.

DRF's throttles (a sliding window of request times per key) serve the API and the pages alike:
- `requests`: every request of a user, API and pages counted in one budget (the API through DRF's
  DEFAULT_THROTTLE_CLASSES, pages through RequestRateMiddleware); /healthz, /readyz and static
  files are not counted;
- `work`: expensive work on top of that (uploads and imports, version creation, diff, lint and
  graph analysis, exports, scenario runs, batch submissions, font-table reports): `@api(..., work=...)` for the API,
  `@rate_limited(work_throttle(...))` for pages;
- `login`: log-in attempts (POST to the login page or the admin's) per client address, whoever
  is signed in, on top of the failed-login limit of orchweb/ratelimit.py.

Rates are REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (ORCHWEB_RATE_*, README "Configuration"),
read at each request. A refused request gets 429 with `Retry-After` and DRF's message, as JSON
`{"detail"}` for API clients and as the site's page otherwise. Keys name the user's id or, for an
anonymous client, its address (REMOTE_ADDR: Daphne --proxy-headers puts the proxy's client there;
NUM_PROXIES=0 so a client's own X-Forwarded-For is never trusted): one user's flood spends only
that user's budget. The cache is Redis with REDIS_URL, so every process counts into the same
window; embedded (locmem) each process counts alone. A window is read, extended and written back
without a lock; requests of one process run one at a time (Django's sync thread), so only
requests arriving at the same instant on different processes can each miss the other's entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from rest_framework.exceptions import Throttled
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from orchweb.errors import is_api_client

View = Callable[..., HttpResponse]

#: URL names never counted: the load balancer's probes.
EXEMPT_URL_NAMES = frozenset({"orchweb-healthz", "orchweb-readyz"})


class ScopeRateThrottle(SimpleRateThrottle):
    """One scope's rate per user, or per client address for an anonymous request.

    `methods` restricts it to those HTTP methods (None: all of them).
    """

    methods: frozenset[str] | None = None

    def get_rate(self) -> str | None:
        # Read at each request (DRF reads its class attribute once at import): a changed setting,
        # as a test's override_settings, applies at once.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.methods is not None and request.method not in self.methods:
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return cache_key(self.scope, user_pk=user.pk)
        return cache_key(self.scope, address=self.get_ident(request))


class RequestRateThrottle(ScopeRateThrottle):
    scope = "requests"


class WorkRateThrottle(ScopeRateThrottle):
    scope = "work"


class LoginRateThrottle(ScopeRateThrottle):
    """Per client address even when a user is signed in: log-ins are a password check each."""

    scope = "login"
    methods = frozenset({"POST"})

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return cache_key(self.scope, address=self.get_ident(request))


def cache_key(scope: str, user_pk: Any = None, address: str | None = None) -> str:
    """The cache key of a user's (or else an address's) window in `scope`."""
    ident = f"user-{user_pk}" if user_pk is not None else f"address-{address}"
    return SimpleRateThrottle.cache_format % {"scope": scope, "ident": ident}


def forget(user_pk: Any = None, address: str | None = None) -> None:
    """Forget a user's or an address's requests in every scope (an administrator's reset)."""
    cache.delete_many([cache_key(scope, user_pk, address) for scope in api_settings.DEFAULT_THROTTLE_RATES])


def work_throttle(*methods: str) -> type[WorkRateThrottle]:
    """The `work` throttle counting only `methods` (every method when none are given)."""
    if not methods:
        return WorkRateThrottle
    name = f"WorkRateThrottle_{'_'.join(methods)}"
    return type(name, (WorkRateThrottle,), {"methods": frozenset(methods)})


def throttled_response(request: HttpRequest, wait: float | None) -> HttpResponse:
    """429 with Retry-After and DRF's message: JSON for API clients, the site's page otherwise."""
    detail = str(Throttled(wait).detail)
    headers = {"Retry-After": str(max(1, math.ceil(wait)))} if wait is not None else {}
    if is_api_client(request):
        return JsonResponse({"detail": detail}, status=429, headers=headers)
    page = render_to_string("429.html", {"detail": detail}, request=request)
    return HttpResponse(page, status=429, headers=headers)


def check(request: HttpRequest, throttles: Iterable[type[ScopeRateThrottle]]) -> HttpResponse | None:
    """None when every throttle allows the request (each counts it), else the 429 answer."""
    waits = []
    for throttle_class in throttles:
        throttle = throttle_class()
        if not throttle.allow_request(request, None):
            waits.append(throttle.wait())
    if not waits:
        return None
    known = [wait for wait in waits if wait is not None]
    return throttled_response(request, max(known) if known else None)


def rate_limited(*throttles: type[ScopeRateThrottle]) -> Callable[[View], View]:
    """Decorate a page view: count the request against `throttles`, 429 past one of them."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return check(request, throttles) or view(request, *args, **kwargs)

        return wrapper

    return decorate


class RequestRateMiddleware:
    """Counts every page request in the `requests` scope (the API's are DRF's, which knows token
    users), and log-in attempts in the `login` scope. After AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: View, args: Any, kwargs: Any) -> HttpResponse | None:
        match = request.resolver_match
        if match is None or match.url_name in EXEMPT_URL_NAMES or getattr(view, "cls", None) is not None:
            return None  # DRF views (they have `cls`) count in DRF's throttles
        throttles: list[type[ScopeRateThrottle]] = [RequestRateThrottle]
        if match.url_name == "login":  # the login page and the admin's
            throttles.append(LoginRateThrottle)
        return check(request, throttles)
