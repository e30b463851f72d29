"""mypy (style rule 16) over the typed packages, with the project's mypy.ini, as part of the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: packages that must pass mypy; add a package here once it does
TYPED_PATHS = ["simulator/scxml", "simulator/ors", "simulator/runners"]


def test_the_typed_packages_pass_mypy() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--cache-dir", "/dev/null", *TYPED_PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
