"""Failed-login rate limit, per account and per client address, kept in Django's cache.

Policy (settings, README "Configuration"):
- an account with LOGIN_FAILURES_PER_ACCOUNT failed log-ins (default 5) within
  LOGIN_LOCKOUT_SECONDS (default 15 min) is refused from every address until that window ends;
  a successful log-in clears its count;
- an address with LOGIN_FAILURES_PER_ADDRESS failures (default 30, across any usernames) in the
  same window is refused for every account, which stops password spraying;
- a refused attempt never checks the password (a locked account cannot be probed) and counts as
  a failure; windows are fixed: they start with the first failure.

The counts live in the default cache: Redis in scaled mode (every process shares them), the
process's memory in embedded mode. Every authentication goes through the backend below: the login
page, the admin and `Client.login`; the login page answers 429 with the reason.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

LOCKED_MESSAGE = "Too many failed log-ins for this account or from this address; try again in {minutes} minutes."


def _key(kind: str, value: str) -> str:
    return f"login-failures:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def _keys(username: str | None, address: str | None) -> list[tuple[str, int]]:
    """(cache key, limit) for the account and the address that apply."""
    keys = []
    if username:
        keys.append((_key("account", username.strip().lower()), int(settings.LOGIN_FAILURES_PER_ACCOUNT)))
    if address:
        keys.append((_key("address", address), int(settings.LOGIN_FAILURES_PER_ADDRESS)))
    return keys


def client_address(request: HttpRequest | None) -> str | None:
    """The client's address (Daphne --proxy-headers puts the X-Forwarded-For client here)."""
    return request.META.get("REMOTE_ADDR") if request is not None else None


def is_locked(username: str | None, address: str | None) -> bool:
    """Whether the account or the address has used up its failures in the current window."""
    keys = _keys(username, address)
    counts = cache.get_many([key for key, _ in keys])
    return any(counts.get(key, 0) >= limit for key, limit in keys)


def record_failure(username: str | None, address: str | None) -> None:
    """Count one failure for the account and the address (the window starts with the first)."""
    for key, _ in _keys(username, address):
        cache.add(key, 0, timeout=int(settings.LOGIN_LOCKOUT_SECONDS))
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr: start a new window
            cache.set(key, 1, timeout=int(settings.LOGIN_LOCKOUT_SECONDS))


def clear_account(username: str) -> None:
    """Forget an account's failures (after a successful log-in, or by an administrator)."""
    cache.delete(_key("account", username.strip().lower()))


def clear_address(address: str) -> None:
    cache.delete(_key("address", address))


def lockout_minutes() -> int:
    return max(1, round(int(settings.LOGIN_LOCKOUT_SECONDS) / 60))


class RateLimitedModelBackend(ModelBackend):
    """Django's model backend, refusing locked accounts and addresses and counting failures."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if username is None:
            username = kwargs.get(self._username_field())
        address = client_address(request)
        if is_locked(username, address):
            record_failure(username, address)
            # PermissionDenied stops authenticate() at once: no other backend, no password check.
            raise PermissionDenied(LOCKED_MESSAGE.format(minutes=lockout_minutes()))
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            record_failure(username, address)
        elif username:
            clear_account(username)
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD


class RateLimitedAuthenticationForm(AuthenticationForm):
    """The login form, saying why a locked account or address is refused."""

    locked = False

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if is_locked(username, client_address(self.request)):
            self.locked = True
            record_failure(username, client_address(self.request))
            raise forms.ValidationError(LOCKED_MESSAGE.format(minutes=lockout_minutes()), code="locked")
        return super().clean()


class RateLimitedLoginView(LoginView):
    """Django's LoginView with the form above; a locked attempt answers 429 Too Many Requests."""

    authentication_form = RateLimitedAuthenticationForm

    def form_invalid(self, form: forms.Form) -> HttpResponse:
        response = super().form_invalid(form)
        if getattr(form, "locked", False):
            response.status_code = 429
        return response
