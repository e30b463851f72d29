#!/usr/bin/env python
"""Compile the hot modules with mypyc when their sources changed (simulator/scxml/compiled.py).

    .venv/bin/python scripts/build_engine.py          # build what the stamps say is stale
    .venv/bin/python scripts/build_engine.py --force  # build anyway

run.sh and test.sh run it through scripts/venv.sh. Each of `BUILDS` (the engine's
simulator/scxml, then simulator/ors) goes beside its sources (*.so, ignored by git) with
`_compiled.stamp`, the hash of the sources it was built against; a package ignores a build whose
stamp differs (a stale build never runs). Exits 1 if a build fails (no C compiler, no Python
headers): that package then runs from its sources. ORCHWEB_NO_MYPYC=1 skips the build.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
ENGINE_DIR = ROOT / "simulator" / "scxml"


def _by_path(name: str, path: Path) -> ModuleType:
    """A module loaded from its file: importing its package would apply (and report on) the build
    being replaced."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # a dataclass looks its module up
    spec.loader.exec_module(module)
    return module


compiled = _by_path("_engine_compiled", ENGINE_DIR / "compiled.py")
_ors = _by_path("_ors_compiled_modules", ROOT / "simulator" / "ors" / "compiled_modules.py")
#: in build order: the ORS layer is compiled against the engine's types
BUILDS = (compiled.ENGINE, compiled.Build("simulator.ors", _ors.MODULES, _ors.AGAINST))


def _compile(package: str, build_dir: str) -> None:
    """The build of `package` (in a child process, so its compiler output can be kept quiet)."""
    from mypyc.build import mypycify
    from setuptools import setup

    build = next(b for b in BUILDS if b.package == package)
    os.chdir(ROOT)
    extensions = mypycify(
        [str(build.source(name).relative_to(ROOT)) for name in build.modules],
        group_name=f"{build.package}.{compiled.GROUP}",
        target_dir=build_dir,
    )
    setup(
        name=f"orchweb-{package}",
        ext_modules=extensions,
        script_args=["-q", "build_ext", "--inplace", "--build-temp", build_dir, "--build-lib", build_dir],
    )


def _build(build: compiled.Build, force: bool) -> bool:
    """Build `build` unless its stamp matches its sources; False if the build failed."""
    digest = build.source_hash()
    fresh = build.stamp.exists() and build.stamp.read_text().strip() == digest and build.built()
    if fresh and not force:
        return True
    print(f"Compiling {build.package} ({', '.join(build.modules)}) with mypyc")
    build.stamp.unlink(missing_ok=True)
    for old in build.directory.rglob("*.so"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="orchweb-mypyc-") as build_dir:
        result = subprocess.run(
            [sys.executable, __file__, "--compile-into", build_dir, build.package],
            capture_output=True,
            text=True,
        )
    if result.returncode != 0 or not build.built():
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        print(f"build_engine.py: the mypyc build of {build.package} failed", file=sys.stderr)
        for partial in build.directory.rglob("*.so"):
            partial.unlink()
        return False
    # The hash taken before the build: a source edited meanwhile makes the build stale.
    build.stamp.write_text(digest + "\n")
    return True


def main() -> int:
    if "--compile-into" in sys.argv:
        at = sys.argv.index("--compile-into")
        _compile(sys.argv[at + 2], sys.argv[at + 1])
        return 0
    if os.environ.get("ORCHWEB_NO_MYPYC") == "1":
        return 0
    lock = os.open(ENGINE_DIR, os.O_RDONLY)
    fcntl.flock(lock, fcntl.LOCK_EX)  # two test.sh runs of one tree build once
    try:
        # Every build is tried: one failing leaves the others' (a package runs its sources alone).
        results = [_build(build, "--force" in sys.argv) for build in BUILDS]
        return 0 if all(results) else 1
    finally:
        os.close(lock)


if __name__ == "__main__":
    sys.exit(main())
