"""Fixtures of the binding's tests."""

from __future__ import annotations

from collections.abc import Iterator

import orchweb_quickjs
import pytest


@pytest.fixture
def ctx() -> Iterator[orchweb_quickjs.Context]:
    """A context of its own runtime (the binding's default), closed after the test."""
    context = orchweb_quickjs.Context()
    try:
        yield context
    finally:
        context.close()
