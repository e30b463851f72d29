"""Request rates per user, and per address for anonymous clients (orchweb/throttling.py): one
user's flood of the API, the pages or expensive work is refused with 429 and Retry-After while
another user is still served; log-in attempts are limited per address."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client, override_settings

from designer import history
from designer.models import Membership, Project, Role, Team, Version
from designer.starters import load_starter
from orchweb import throttling

PASSWORD = "pw-rate-horse-1"
ADDRESSES = ["10.7.0.1", "10.7.0.2"]
HIGH = "1000000/minute"


def rates(requests: str = HIGH, work: str = HIGH, login: str = HIGH) -> Any:
    """override_settings with these rates (DRF reloads its settings on the change)."""
    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"requests": requests, "work": work, "login": login},
        }
    )


@dataclass
class Users:
    flooder: AbstractBaseUser
    other: AbstractBaseUser
    version: Version

    def client(self, user: AbstractBaseUser) -> Client:
        client = Client()
        client.force_login(user)
        return client


@pytest.fixture
def users(db: None) -> Iterator[Users]:
    """Two members of one team with a version; their windows (and the test addresses') start empty
    (user ids are reused after a rolled-back test, and earlier tests made requests with them)."""
    model = get_user_model()
    flooder = model.objects.create_user("flooder", password=PASSWORD)
    other = model.objects.create_user("other", password=PASSWORD)
    team = Team.objects.create(name="Routing")
    for user in (flooder, other):
        Membership.objects.create(team=team, user=user, role=Role.EDITOR)
    project = Project.objects.create(team=team, name="Support line", created_by=flooder)
    files, entry = load_starter("basic")
    version = history.create_version(project, files, author=flooder, message="v1", parent=None, entry=entry)
    forget = [{"user_pk": flooder.pk}, {"user_pk": other.pk}, *({"address": a} for a in ADDRESSES)]
    for who in forget:
        throttling.forget(**who)
    yield Users(flooder, other, version)
    for who in forget:
        throttling.forget(**who)


def test_a_user_past_the_rate_gets_429_with_retry_after_while_another_user_is_served(users):
    flooder, other = users.client(users.flooder), users.client(users.other)
    with rates(requests="5/minute"):
        served = [flooder.get("/api/teams").status_code for _ in range(5)]
        refused = flooder.get("/api/teams")
        others = [other.get("/api/teams").status_code for _ in range(5)]

    assert served == [200] * 5
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"]
    assert others == [200] * 5


def test_pages_and_the_api_share_one_budget_and_a_refused_page_says_why(users):
    flooder, other = users.client(users.flooder), users.client(users.other)
    with rates(requests="4/minute"):
        served = [flooder.get("/api/teams").status_code for _ in range(2)]
        served += [flooder.get("/projects/").status_code for _ in range(2)]
        page = flooder.get("/projects/")
        api = flooder.get("/api/teams")
        healthz = flooder.get("/healthz")
        others = other.get("/projects/").status_code

    assert served == [200] * 4
    assert page.status_code == 429 and int(page["Retry-After"]) >= 1
    assert page["Content-Type"].startswith("text/html")
    assert b"Too many requests" in page.content and b"throttled" in page.content
    assert api.status_code == 429
    assert healthz.status_code != 429  # the load balancer's probes are never counted
    assert others == 200


def test_expensive_work_has_a_lower_rate_of_its_own_and_cheap_reads_go_on(users):
    flooder, other = users.client(users.flooder), users.client(users.other)
    vid = users.version.pk
    with rates(work="2/minute"):
        lints = [flooder.get(f"/api/versions/{vid}/lint").status_code for _ in range(3)]
        export = flooder.get(f"/versions/{vid}/export.zip")  # a page of the same scope
        read = flooder.get(f"/api/versions/{vid}").status_code
        others = other.get(f"/api/versions/{vid}/lint").status_code

    assert lints == [200, 200, 429]
    assert export.status_code == 429 and "Retry-After" in export
    assert read == 200
    assert others == 200


def test_work_counts_only_the_expensive_method_of_a_view(users):
    flooder = users.client(users.flooder)
    pid = users.version.project_id
    with rates(work="1/minute"):
        listed = [flooder.get(f"/api/projects/{pid}/versions").status_code for _ in range(3)]
        tests_page = flooder.get(f"/versions/{users.version.pk}/tests/").status_code

    assert listed == [200, 200, 200]  # GET lists; POST (an upload) is the work
    assert tests_page == 200  # GET shows the Tests tab; POST runs the scenarios


def log_in(client: Client, username: str, address: str, path: str = "/accounts/login/", **extra: Any) -> Any:
    return client.post(path, {"username": username, "password": PASSWORD}, REMOTE_ADDR=address, **extra)


def test_log_in_attempts_are_limited_per_address_and_another_address_goes_on(users):
    first, second = ADDRESSES
    with rates(login="3/minute"):
        attempts = [log_in(Client(), "flooder", first).status_code for _ in range(3)]
        refused = log_in(Client(), "flooder", first)
        spoofed = log_in(Client(), "flooder", first, HTTP_X_FORWARDED_FOR="192.0.2.9")
        admin = log_in(Client(), "flooder", first, path="/admin/login/")
        elsewhere = log_in(Client(), "other", second)
        page = Client().get("/accounts/login/", REMOTE_ADDR=first)

    assert attempts == [302] * 3  # right passwords: each one still costs a password hash
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert b"Too many requests" in refused.content
    assert spoofed.status_code == 429  # a client's own X-Forwarded-For does not pick its key
    assert admin.status_code == 429  # the admin's login counts in the same window
    assert elsewhere.status_code == 302
    assert page.status_code == 200  # showing the form is no attempt


def test_an_anonymous_flood_is_counted_per_address(users):
    first, second = ADDRESSES
    with rates(requests="3/minute"):
        served = [Client().get("/api/teams", REMOTE_ADDR=first).status_code for _ in range(3)]
        refused = Client().get("/api/teams", REMOTE_ADDR=first)
        elsewhere = Client().get("/api/teams", REMOTE_ADDR=second).status_code
        signed_in = users.client(users.other).get("/api/teams", REMOTE_ADDR=first).status_code

    assert served == [401] * 3
    assert refused.status_code == 429 and refused.json()["detail"]
    assert elsewhere == 401
    assert signed_in == 200  # a signed-in user from that address counts in their own window


def test_forget_starts_a_users_window_afresh(users):
    flooder = users.client(users.flooder)
    with rates(requests="1/minute"):
        statuses = [flooder.get("/api/teams").status_code for _ in range(2)]
        throttling.forget(user_pk=users.flooder.pk)
        statuses.append(flooder.get("/api/teams").status_code)

    assert statuses == [200, 429, 200]
