"""Failed log-ins are limited per account and per address; the demo user is not a backdoor."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from designer.management.commands.seed import DEMO_USERNAME
from orchweb import ratelimit

PASSWORD = "pw-right-horse-1"


ACCOUNTS = ["alice", *(f"user{n}" for n in range(30))]
ADDRESSES = ["10.0.0.1", "10.0.2.1", "10.9.9.9", "10.9.9.10", *(f"10.0.1.{n}" for n in range(5))]


@pytest.fixture(autouse=True)
def fresh_counters() -> None:
    """Forget the counts these tests make (never cache.clear(): in a scaled run that is Redis)."""
    for account in ACCOUNTS:
        ratelimit.clear_account(account)
    for address in ADDRESSES:
        ratelimit.clear_address(address)


@pytest.fixture
def alice(db: None) -> object:
    return get_user_model().objects.create_user("alice", password=PASSWORD)


def log_in(client: Client, username: str, password: str, address: str = "10.0.0.1") -> object:
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


@override_settings(LOGIN_FAILURES_PER_ACCOUNT=5)
def test_an_account_is_locked_after_five_failures_even_with_the_right_password_from_elsewhere(alice) -> None:
    client = Client()
    for attempt in range(5):
        assert log_in(client, "alice", f"wrong-{attempt}", address=f"10.0.1.{attempt}").status_code == 200

    response = log_in(client, "alice", PASSWORD, address="10.0.2.1")

    assert response.status_code == 429
    assert b"Too many failed log-ins" in response.content
    assert "_auth_user_id" not in client.session
    # Every way in is closed, not only the login page (admin, Client.login use authenticate()).
    assert authenticate(username="alice", password=PASSWORD) is None
    assert Client().login(username="Alice", password=PASSWORD) is False


@override_settings(LOGIN_FAILURES_PER_ACCOUNT=5)
def test_a_success_before_the_limit_clears_the_account_count(alice) -> None:
    client = Client()
    for attempt in range(4):
        log_in(client, "alice", f"wrong-{attempt}")
    assert log_in(client, "alice", PASSWORD).status_code == 302

    for attempt in range(4):
        log_in(Client(), "alice", f"wrong-again-{attempt}")
    assert log_in(Client(), "alice", PASSWORD).status_code == 302


@override_settings(LOGIN_FAILURES_PER_ACCOUNT=100, LOGIN_FAILURES_PER_ADDRESS=30)
def test_an_address_spraying_many_accounts_is_locked_for_all_of_them(alice) -> None:
    client = Client()
    for attempt in range(30):
        log_in(client, f"user{attempt}", "guess", address="10.9.9.9")

    assert log_in(client, "alice", PASSWORD, address="10.9.9.9").status_code == 429
    # Another address still gets in.
    assert log_in(Client(), "alice", PASSWORD, address="10.9.9.10").status_code == 302


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_seed_refuses_to_create_the_demo_user_with_debug_off_unless_asked() -> None:
    with pytest.raises(CommandError, match="--demo-user"):
        call_command("seed", "--no-content", stdout=StringIO())
    assert not get_user_model().objects.filter(username=DEMO_USERNAME).exists()

    call_command("seed", "--no-content", "--demo-user", stdout=StringIO())

    assert get_user_model().objects.filter(username=DEMO_USERNAME, is_superuser=True).exists()


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_seed_with_debug_off_leaves_an_existing_demo_user_alone() -> None:
    user = get_user_model().objects.create_user(DEMO_USERNAME, password="an-operator-choice-9")

    call_command("seed", "--no-content", stdout=StringIO())

    user.refresh_from_db()
    assert user.check_password("an-operator-choice-9")
