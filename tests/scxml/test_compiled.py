"""The mypyc build of the engine (simulator/scxml/compiled.py): used when it matches the sources,
never when it is stale or disabled, and the engine runs the same either way (the suite runs
compiled in CI; these tests run the Python sources in a child process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.scxml import compiled
from tests.conftest import ROOT, skip_or_fail

PROBE = """
from pathlib import Path
import simulator.scxml.interpreter as interpreter, simulator.scxml.session as session
from simulator.scxml import compiled
from simulator.scxml.interpreter import SessionGroup
from simulator.scxml.model import model_from_string
text = '''<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript">
<datamodel><data id="n" expr="0"/></datamodel>
<state id="s"><transition event="go" cond="_event.data.k > n" target="s">
<assign location="n" expr="_event.data.k"/></transition></state>
</scxml>'''
s = SessionGroup(seed=0).create_session(model_from_string(text, "c.scxml"))
s.start()
for k in (1, 0, 2):
    s.inject("go", {"k": k})
    s.step_macrostep()
print(compiled.state, Path(interpreter.__file__).name, Path(session.__file__).name, s.datamodel.evaluate("n"))
"""


def _copy_of_package(tmp_path: Path) -> Path:
    """A copy of the simulator package with this tree's build (a build is relocatable)."""
    if compiled.state != "compiled":
        skip_or_fail(f"the engine is not compiled here ({compiled.state}): run scripts/build_engine.py")
    target = tmp_path / "simulator"
    shutil.copytree(ROOT / "simulator" / "scxml", target / "scxml", ignore=shutil.ignore_patterns("__pycache__"))
    (target / "__init__.py").write_text("")
    return tmp_path


def _probe(root: Path, **env: str) -> tuple[list[str], str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root), "ORCHWEB_NO_MYPYC": "", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.split(), result.stderr


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    return _copy_of_package(tmp_path)


def test_a_build_matching_the_sources_is_used(package_copy: Path) -> None:
    suffix = compiled.extension_path("interpreter").name
    assert _probe(package_copy) == (["compiled", suffix, compiled.extension_path("session").name, "2"], "")


def test_a_build_older_than_any_source_of_the_package_is_ignored_with_a_message(package_copy: Path) -> None:
    # An edit to a module that is not compiled counts too: compiled code was checked against it.
    with (package_copy / "simulator" / "scxml" / "lint.py").open("a") as lint:
        lint.write("\n# edited after the build\n")
    out, err = _probe(package_copy)
    assert out == ["stale", "interpreter.py", "session.py", "2"]
    assert "older than the sources" in err and "scripts/build_engine.py" in err


def test_a_missing_stamp_makes_the_build_stale(package_copy: Path) -> None:
    (package_copy / "simulator" / "scxml" / compiled.STAMP.name).unlink()
    assert _probe(package_copy)[0] == ["stale", "interpreter.py", "session.py", "2"]


def test_orchweb_no_mypyc_runs_the_python_sources(package_copy: Path) -> None:
    assert _probe(package_copy, ORCHWEB_NO_MYPYC="1") == (["disabled", "interpreter.py", "session.py", "2"], "")


def test_a_partial_build_is_not_used(package_copy: Path) -> None:
    compiled.extension_path("plan", package_copy / "simulator" / "scxml").unlink()
    assert _probe(package_copy)[0] == ["absent", "interpreter.py", "session.py", "2"]
