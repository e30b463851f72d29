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


def _probe(root: Path, script: str = PROBE, **env: str) -> tuple[list[str], str]:
    """`script`'s output words and its stderr, run in a child on the package copy at `root`."""
    result = subprocess.run(
        [sys.executable, "-c", script],
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


def test_an_extension_module_of_a_module_the_build_no_longer_lists_is_not_used(package_copy: Path) -> None:
    # A tree whose MODULES dropped `session` (a checkout, an edit) with the session extension
    # module of an earlier build still beside its source: the stale build's other modules are
    # not the only ones loaded from their sources.
    source = package_copy / "simulator" / "scxml" / "compiled.py"
    text = source.read_text()
    assert '"session",' in text
    source.write_text(text.replace('"session",', "", 1))
    assert compiled.extension_path("session", package_copy / "simulator" / "scxml").exists()
    assert _probe(package_copy)[0] == ["stale", "interpreter.py", "session.py", "2"]


def test_orchweb_no_mypyc_runs_the_python_sources(package_copy: Path) -> None:
    assert _probe(package_copy, ORCHWEB_NO_MYPYC="1") == (["disabled", "interpreter.py", "session.py", "2"], "")


def test_a_partial_build_is_not_used(package_copy: Path) -> None:
    compiled.extension_path("plan", package_copy / "simulator" / "scxml").unlink()
    assert _probe(package_copy)[0] == ["absent", "interpreter.py", "session.py", "2"]


# The ORS layer's build (simulator/ors/compiled_modules.py): a library of its own, compiled against the engine's types.
ORS_PROBE = """
from pathlib import Path
import simulator.ors.platform as platform, simulator.scxml.interpreter as interpreter
from simulator.scxml import compiled
from simulator.runners.driver import OrsRun
doc = b'''<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:queue="http://www.genesyslab.com/modules/queue"
 version="1.0" initial="wait" profile="ecmascript" name="T">
<state id="wait"><transition event="interaction.added" target="q"/></state>
<state id="q"><onentry><queue:submit route="true" timeout="30">
<queue:targets><queue:targetid expr="'AG_Billing@Stat_Server.GA'"/></queue:targets></queue:submit></onentry>
<transition event="queue.submit.done" target="ok"/><transition event="error" target="failed"/></state>
<final id="ok"/><final id="failed"/></scxml>'''
run = OrsRun({"main.scxml": doc}, entry="main.scxml")
run.run()
print(compiled.states["simulator.scxml"], compiled.states["simulator.ors"], Path(interpreter.__file__).name,
      Path(platform.__file__).name, run.session.final_state, run.platform.outcome.get("status"))
"""


@pytest.fixture
def layers_copy(tmp_path: Path) -> Path:
    """A copy of the engine, the ORS layer and the runners with this tree's builds."""
    import simulator.ors  # noqa: F401  (decides on the ORS build)

    root = _copy_of_package(tmp_path)
    if compiled.states.get("simulator.ors") != "compiled":
        skip_or_fail(
            f"the ORS layer is not compiled here ({compiled.states.get('simulator.ors')}): run scripts/build_engine.py"
        )
    for package in ("ors", "runners"):
        shutil.copytree(
            ROOT / "simulator" / package, root / "simulator" / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return root


def _ors_from_sources(why: str) -> list[str]:
    """The ORS probe's first words when the engine runs compiled and the ORS layer from its sources."""
    return ["compiled", why, compiled.extension_path("interpreter").name, "platform.py"]


def test_the_ors_build_matching_the_sources_is_used(layers_copy: Path) -> None:
    engine, ors = compiled.extension_path("interpreter").name, compiled.extension_path("platform").name
    assert _probe(layers_copy, ORS_PROBE) == (["compiled", "compiled", engine, ors, "ok", "routed"], "")


def test_an_ors_source_edited_after_the_build_makes_only_the_ors_build_stale(layers_copy: Path) -> None:
    # lint.py is not compiled: the compiled modules were still checked against the whole package.
    with (layers_copy / "simulator" / "ors" / "lint.py").open("a") as lint:
        lint.write("\n# edited after the build\n")
    out, err = _probe(layers_copy, ORS_PROBE)
    assert out == ["compiled", "stale", compiled.extension_path("interpreter").name, "platform.py", "ok", "routed"]
    assert err.startswith("simulator.ors: its mypyc build is older than the sources") and "simulator.scxml" not in err


def test_a_module_of_an_ors_subpackage_counts_too(layers_copy: Path) -> None:
    with (layers_copy / "simulator" / "ors" / "extensions" / "queue.py").open("a") as queue:
        queue.write("\n# edited after the build\n")
    assert _probe(layers_copy, ORS_PROBE)[0][:4] == _ors_from_sources("stale")


def test_an_engine_source_edited_after_the_builds_makes_the_ors_build_stale_too(layers_copy: Path) -> None:
    # The ORS layer was compiled against the engine's types.
    with (layers_copy / "simulator" / "scxml" / "lint.py").open("a") as lint:
        lint.write("\n# edited after the build\n")
    out, err = _probe(layers_copy, ORS_PROBE)
    assert out == ["stale", "stale", "interpreter.py", "platform.py", "ok", "routed"]
    assert "simulator.scxml: its mypyc build is older" in err and "simulator.ors: its mypyc build is older" in err


def test_a_missing_ors_stamp_makes_the_ors_build_stale(layers_copy: Path) -> None:
    (layers_copy / "simulator" / "ors" / compiled.STAMP.name).unlink()
    assert _probe(layers_copy, ORS_PROBE)[0][:4] == _ors_from_sources("stale")


def test_a_partial_ors_build_is_not_used(layers_copy: Path) -> None:
    compiled.extension_path("extensions.web", layers_copy / "simulator" / "ors").unlink()
    assert _probe(layers_copy, ORS_PROBE)[0][:4] == _ors_from_sources("absent")


def test_orchweb_no_mypyc_runs_the_ors_layer_from_its_sources_too(layers_copy: Path) -> None:
    assert _probe(layers_copy, ORS_PROBE, ORCHWEB_NO_MYPYC="1") == (
        ["disabled", "disabled", "interpreter.py", "platform.py", "ok", "routed"],
        "",
    )
