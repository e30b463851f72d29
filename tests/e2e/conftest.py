"""The browser-test harness every e2e test uses.

- `server_url`: one Daphne process per test session (per xdist worker), serving the test
  database (a SQLite file or the PostgreSQL test database, see tests/conftest.py) with the test
  settings and the configured channel layer.
- `browser`: one headless Debian chromium per session, driven by Playwright.
- `page`: a fresh browser context per test with `base_url` set, so tests write `page.goto("/projects/")`.
  It requests `transactional_db`: data a test creates is committed (the server process must see
  it) and the tables are emptied after the test.
- `logged_in_page`: the same page, logged in as the demo user through the login form.
- `save_screenshot(page, name)`: saves test-artifacts/<name>.png; a failing test's page is saved
  automatically as test-artifacts/<test id>.png.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.servers import ARTIFACTS, daphne_server, database_url, wait_until_idle

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
# Playwright's default wait; generous because the CI machine's two cores are shared.
TIMEOUT_MS = 20_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e as `e2e` and keep them on one xdist worker (one server, one browser)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Keep each phase's report on the item so the `page` fixture knows whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def save_screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/<name>.png and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Page, username: str, password: str) -> None:
    """Log in through the login page; returns on the page it redirects to, fails if it refuses."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    if "/accounts/login/" in page.url:
        alert = page.get_by_role("alert")
        reason = alert.inner_text() if alert.count() else "no error shown"
        raise AssertionError(f"logging in as {username!r} failed: {reason}")


@contextmanager
def recorded_page(browser: Browser, server_url: str, username: str, password: str) -> Iterator[tuple[Page, list[str]]]:
    """A page in a fresh browser context against `server_url`, logged in as `username`, and the
    URLs its context requests (the page's and its workers')."""
    context = browser.new_context(base_url=server_url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    try:
        page = context.new_page()
        log_in(page, username, password)
        yield page, requested
    finally:
        context.close()


def wait_for_live_connection(page: Page) -> None:
    """Wait until the page's websocket ping has round-tripped (base.js sets the flag)."""
    page.wait_for_function("document.documentElement.dataset.wsReady === '1'")


@pytest.fixture(scope="session")
def server_url(django_db_setup: None) -> Iterator[str]:
    """Base URL of the session's Daphne live server (http://127.0.0.1:PORT)."""
    from django.db import connection

    with daphne_server("live", {"DATABASE_URL": database_url(connection.settings_dict)}) as server:
        yield server.url


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """A headless chromium shared by the e2e tests.

    Playwright's sync API keeps an asyncio loop running in this thread for as long as it is
    open, which makes Django refuse ORM calls from the tests ("async context"). The tests are
    plain synchronous code, so Django's guard is lifted for exactly that span: the browser is
    package-scoped (closed after the last e2e test) and the flag restored when it closes. The
    live server process never inherits the flag (see tests/servers.py).
    """
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def page(browser: Browser, server_url: str, transactional_db: None, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh browser context (own cookies) against the live server."""
    context = browser.new_context(base_url=server_url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        save_screenshot(page, request.node.nodeid)
    context.close()
    wait_until_idle(server_url)  # the server's saves of the closed sockets end before the flush


@pytest.fixture
def logged_in_page(page: Page) -> Page:
    """`page`, logged in as the demo user (created as `python manage.py seed` does)."""
    from designer.management.commands.seed import DEMO_PASSWORD, DEMO_USERNAME, ensure_demo_user

    ensure_demo_user()
    log_in(page, DEMO_USERNAME, DEMO_PASSWORD)
    return page
