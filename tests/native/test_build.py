"""native/quickjs/build.py: the installed binding is the one built from the repository's sources,
and a change to any input is detected as stale (scripts/venv.sh then rebuilds it)."""

from __future__ import annotations

import importlib
import re
import shutil
import sys
import sysconfig
from pathlib import Path

import orchweb_quickjs

from native.quickjs import build


def copy_of_the_sources(tmp_path: Path) -> Path:
    """What the build depends on (build.INPUTS and the patches), copied into tmp_path/src."""
    sources = tmp_path / "src"
    sources.mkdir()
    for name in build.INPUTS:
        shutil.copy(build.HERE / name, sources / name)
    shutil.copytree(build.HERE / build.PATCHES, sources / build.PATCHES)
    return sources


def test_the_installed_module_was_built_from_these_sources():
    assert build.source_digest() == orchweb_quickjs.SOURCE_DIGEST
    assert build.is_current(Path(orchweb_quickjs.__file__).parent, build.source_digest())
    assert build.main(["--check"]) == 0


def test_a_changed_source_or_a_missing_stamp_or_module_is_stale(tmp_path):
    sources = copy_of_the_sources(tmp_path)
    digest = build.source_digest(sources)
    assert digest == build.source_digest()
    target = tmp_path / "site"
    target.mkdir()
    assert not build.is_current(target, digest)  # nothing installed
    module = target / f"{build.MODULE}{sysconfig.get_config_var('EXT_SUFFIX')}"
    module.write_bytes(b"")
    assert not build.is_current(target, digest)  # no stamp
    build.stamp_path(target).write_text(digest + "\n")
    assert build.is_current(target, digest)
    with (sources / "module.c").open("a") as handle:
        handle.write("\n// edited\n")
    changed = build.source_digest(sources)
    assert changed != digest
    assert not build.is_current(target, changed)
    assert build.main(["--check", "--target", str(target)]) == 0
    build.stamp_path(target).write_text(changed + "\n")  # built from other sources than the repo's
    assert build.main(["--check", "--target", str(target)]) == 1
    module.unlink()
    build.stamp_path(target).write_text(build.source_digest() + "\n")
    assert not build.is_current(target, build.source_digest())  # a stamp without the module


def test_a_new_or_edited_patch_of_upstream_is_a_new_build(tmp_path):
    sources = copy_of_the_sources(tmp_path)
    digest = build.source_digest(sources)
    patch = sources / build.PATCHES / "99z-test.patch"
    patch.write_text("--- a/quickjs.c\n+++ b/quickjs.c\n")
    added = build.source_digest(sources)
    assert added != digest
    patch.write_text("--- a/quickjs.c\n+++ b/quickjs.c\n@@ -1 +1 @@\n")
    assert build.source_digest(sources) not in (digest, added)
    assert [path.name for path in build.patches(sources)][-1] == "99z-test.patch"


def test_every_header_of_ours_that_module_c_includes_is_a_build_input():
    # A header missing from INPUTS would neither be copied beside module.c (the build fails) nor
    # hashed (an edit to it would leave a stale module installed).
    included = re.findall(r'^#include "([^"/]+)"', (build.HERE / "module.c").read_text(), re.MULTILINE)
    assert included == ["es5_context.h"]
    assert set(included) <= set(build.INPUTS)


def test_the_installed_module_is_profile_guided_and_a_build_without_is_another_build(monkeypatch):
    # build.py builds instrumented, runs pgo_training.py and builds again from its counts; a
    # build without (ORCHWEB_QUICKJS_PGO=0) must not pass for the default one.
    assert build.PGO and orchweb_quickjs.PROFILE_GUIDED == 1
    guided = build.source_digest()
    monkeypatch.setattr(build, "PGO", False)
    assert build.source_digest() != guided


def test_the_training_ends_each_run_of_the_starter_with_the_module_it_is_given(tmp_path, monkeypatch):
    # The training imports the module from the directory it is given before the installed one
    # (the instrumented build's, whose counts the second build reads) and runs the repository's
    # starter to its end; a run that does not end as the starter ends stops the build.
    training = importlib.import_module("native.quickjs.pgo_training")
    monkeypatch.setattr(training, "COUNT", 2)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "argv", ["pgo_training.py", str(tmp_path)])
    monkeypatch.setenv("ORCHWEB_NO_MYPYC", "1")  # main() sets it: undone after the test
    training.main()
    assert sys.path[0] == str(tmp_path)
