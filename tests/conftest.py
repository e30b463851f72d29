"""Fixtures shared by every test package.

`shared_dir` locates the read-only test inputs (W3C suite, ORS samples, bench charts) in
ORCHWEB_SHARED or ../shared. In CI (CI=true) their absence is a failure, never a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def locate_shared() -> Path | None:
    candidate = Path(os.environ.get("ORCHWEB_SHARED", ROOT.parent / "shared"))
    return candidate if (candidate / "w3c-scxml" / "manifest.json").exists() else None


def require_shared() -> Path:
    """The shared folder, or fail (CI) / skip (a developer machine without it)."""
    found = locate_shared()
    if found is not None:
        return found
    message = "shared test data not found: set ORCHWEB_SHARED or place it at ../shared"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return require_shared()
