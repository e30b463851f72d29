#!/usr/bin/env python
"""Compile the engine's hot modules with mypyc when their sources changed (simulator/scxml/compiled.py).

    .venv/bin/python scripts/build_engine.py          # build if the stamp differs from the sources
    .venv/bin/python scripts/build_engine.py --force  # build anyway

run.sh and test.sh run it through scripts/venv.sh. The extension modules go beside their sources
(simulator/scxml/*.so, ignored by git) with `_compiled.stamp`, the hash of the sources they were
built from; the package ignores a build whose stamp differs (a stale build never runs). Exits 1 if
the build fails (no C compiler, no Python headers): the engine then runs from its sources.
ORCHWEB_NO_MYPYC=1 skips the build.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "simulator" / "scxml"

# Loaded by path: importing the package would apply (and report on) the build being replaced.
_spec = importlib.util.spec_from_file_location("_engine_compiled", PACKAGE_DIR / "compiled.py")
assert _spec is not None and _spec.loader is not None
compiled = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compiled)


def _compile(build_dir: str) -> None:
    """The build itself (in a child process, so its compiler output can be kept quiet)."""
    from mypyc.build import mypycify
    from setuptools import setup

    os.chdir(ROOT)
    extensions = mypycify(
        [f"simulator/scxml/{name}.py" for name in compiled.MODULES],
        group_name=f"{compiled.PACKAGE}.{compiled.GROUP}",
        target_dir=build_dir,
    )
    setup(
        name="orchweb-engine",
        ext_modules=extensions,
        script_args=["-q", "build_ext", "--inplace", "--build-temp", build_dir, "--build-lib", build_dir],
    )


def main() -> int:
    if "--compile-into" in sys.argv:
        _compile(sys.argv[sys.argv.index("--compile-into") + 1])
        return 0
    if os.environ.get("ORCHWEB_NO_MYPYC") == "1":
        return 0
    lock = os.open(PACKAGE_DIR, os.O_RDONLY)
    fcntl.flock(lock, fcntl.LOCK_EX)  # two test.sh runs of one tree build once
    try:
        digest = compiled.source_hash(PACKAGE_DIR)
        stamp = compiled.STAMP
        fresh = stamp.exists() and stamp.read_text().strip() == digest and compiled.built(PACKAGE_DIR)
        if fresh and "--force" not in sys.argv:
            return 0
        print(f"Compiling simulator/scxml ({', '.join(compiled.MODULES)}) with mypyc")
        stamp.unlink(missing_ok=True)
        for old in PACKAGE_DIR.glob("*.so"):
            old.unlink()
        with tempfile.TemporaryDirectory(prefix="orchweb-mypyc-") as build_dir:
            result = subprocess.run(
                [sys.executable, __file__, "--compile-into", build_dir],
                capture_output=True,
                text=True,
            )
        if result.returncode != 0 or not compiled.built(PACKAGE_DIR):
            sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
            print("build_engine.py: the mypyc build failed", file=sys.stderr)
            for partial in PACKAGE_DIR.glob("*.so"):
                partial.unlink()
            return 1
        # The hash taken before the build: a source edited meanwhile makes the build stale.
        stamp.write_text(digest + "\n")
        return 0
    finally:
        os.close(lock)


if __name__ == "__main__":
    sys.exit(main())
