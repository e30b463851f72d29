"""A simulation that reaches one of its bounds says so on the page (issue 11): the `limit`
record appears in the trace and as the page's message, and the next operation is refused with
the reason. The live server here keeps at most 10 operations per simulation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_simulator import open_simulation_of_the_sample, step
from tests.servers import daphne_server, database_url

MAX_OPERATIONS = 10


@pytest.fixture(scope="module")
def server_url(django_db_setup: None) -> Iterator[str]:
    """A live server whose simulations keep at most MAX_OPERATIONS operations."""
    from django.db import connection

    env = {"DATABASE_URL": database_url(connection.settings_dict), "ORCHWEB_SIM_MAX_OPERATIONS": str(MAX_OPERATIONS)}
    with daphne_server("live-limits", env) as server:
        yield server.url


def test_the_operation_that_fills_the_log_shows_a_limit_record_and_the_next_is_refused(
    logged_in_page: Page, shared_dir: Path, tmp_path: Path
) -> None:
    page = logged_in_page
    open_simulation_of_the_sample(page, shared_dir, tmp_path)

    for _ in range(MAX_OPERATIONS):
        step(page)

    record = page.locator("#sim-trace .sim-record-limit")
    expect(record).to_have_count(1)
    expect(record).to_contain_text("the inputs log reached its limit of 10 operations")
    expect(page.locator("#sim-message")).to_contain_text("reached its limit of 10 operations")

    step(page)
    expect(page.locator("#sim-message")).to_contain_text("operations reached their limit")
    expect(page.locator("#sim-trace .sim-record-limit")).to_have_count(1)
