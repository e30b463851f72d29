"""Logging in through the browser: the demo user lands on Projects and the live connection works."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from designer.management.commands.seed import DEMO_PASSWORD, DEMO_USERNAME, ensure_demo_user
from tests.e2e.conftest import log_in, save_screenshot, wait_for_live_connection


def test_the_demo_user_logs_in_lands_on_projects_and_the_ping_round_trips(page: Page, server_url: str) -> None:
    ensure_demo_user()

    log_in(page, DEMO_USERNAME, DEMO_PASSWORD)

    assert page.url == f"{server_url}/projects/"
    expect(page.get_by_role("heading", level=1)).to_have_text("Projects")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
        ["Projects", "Simulations", "Batches", "Admin"]
    )
    wait_for_live_connection(page)
    save_screenshot(page, "login-projects")


def test_it_rejects_a_wrong_password_on_the_login_page(page: Page) -> None:
    ensure_demo_user()

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(DEMO_USERNAME)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    assert page.url.endswith("/accounts/login/")


def test_logging_out_returns_to_the_login_page(logged_in_page: Page) -> None:
    page = logged_in_page

    page.get_by_role("button", name="Log out").click()

    page.wait_for_url("**/accounts/login/")
    page.goto("/projects/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
