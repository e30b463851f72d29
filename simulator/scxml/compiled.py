"""The hot modules compiled by mypyc, and the guard against a stale build (`Build`, `use_build`).

`scripts/build_engine.py` (run by run.sh and test.sh through scripts/venv.sh) compiles each build
with mypyc into extension modules beside their sources (never committed: .gitignore): `MODULES`
of this package (`ENGINE`), then the modules another package declares for its own build (the ORS
layer's: simulator/ors/compiled_modules.py). They are the same code, -46% instructions per
pingpong event (docs/performance.md, "mypyc" and "The datamodel and executable content compiled
too"; the ORS layer: "orsmypyc"). Compiled code has no interpreter recursion
limit: a recursion over untrusted data in these modules needs a bound of its own
(datamodel._finite).

CPython imports an extension module before a .py of the same name, so a build older than an
edited source would silently run the old code. Each build therefore writes its `Build.stamp`, a
hash of the sources it was compiled against, and `use_build()` (run by the package's
``__init__``, before any of its modules is imported) compares it with the sources: when it
differs, is missing, or ORCHWEB_NO_MYPYC=1 is set, a meta-path finder makes every module of that
build load from its .py. All or none within a build: its compiled modules call each other's
classes natively. A build hashes every source of its package (not only the compiled modules)
and of each package it is compiled against (`Build.against`), because mypyc compiles a module
against the types of those it imports: the ORS build is stale when the engine's sources change.
Builds are independent at run time: compiled ORS code reaches the engine's classes through
Python's object protocol, whether the engine runs compiled or not.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

PACKAGE = "simulator.scxml"
HERE = Path(__file__).resolve().parent
#: the directory holding the `simulator` package
ROOT = HERE.parent.parent
#: compiled by mypyc, in one shared library (`GROUP`); chosen by profile (docs/performance.md)
MODULES = (
    "clock",
    "datamodel",
    "events",
    "executable",
    "group",
    "interpreter",
    "ioprocessors",
    "jsonpatch",
    "model",
    "plan",
    "session",
    "steps",
    "trace",
)
GROUP = "_compiled"
STAMP = HERE / "_compiled.stamp"


@dataclass(frozen=True)
class Build:
    """One mypyc build: `modules` of `package` in one shared library, with its stamp."""

    package: str
    modules: tuple[str, ...]
    #: the other packages whose types it is compiled against (their sources are hashed too)
    against: tuple[str, ...] = ()

    @property
    def directory(self) -> Path:
        return ROOT.joinpath(*self.package.split("."))

    @property
    def stamp(self) -> Path:
        return self.directory / (GROUP + ".stamp")

    def source(self, module: str) -> Path:
        return self.directory.joinpath(*module.split(".")).with_suffix(".py")

    def extensions(self) -> list[Path]:
        """Every extension module of the build for this interpreter (the group's library too)."""
        return [extension_path(m, self.directory) for m in (*self.modules, GROUP + "__mypyc")]

    def extension_modules(self) -> list[str]:
        """The modules (dotted below the package) with an extension module beside their source."""
        suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
        return [
            path.relative_to(self.directory).with_suffix("").as_posix().replace("/", ".")
            for path in self.directory.rglob("*.py")
            if path.with_name(path.stem + suffix).exists()
        ]

    def built(self) -> bool:
        """Whether every compiled module is there for this interpreter."""
        return all(path.exists() for path in self.extensions())

    def source_hash(self) -> str:
        """What the stamp must say: the hash of this package's sources and of those it is compiled against."""
        digest = hashlib.sha256(sys.version.encode())
        for package in (self.package, *self.against):
            directory = ROOT.joinpath(*package.split("."))
            digest.update(package.encode() + b"\0" + source_hash(directory).encode() + b"\0")
        return digest.hexdigest()


ENGINE = Build(PACKAGE, MODULES)

#: what this process runs of each build, by package: "compiled", or why not ("disabled", "absent",
#: "stale"); `state` is the engine's
states: dict[str, str] = {}
state = "absent"


@cache
def source_hash(directory: Path = HERE) -> str:
    """A hash of every Python source of the package, its subpackages included (names and contents).

    Once per process: a package's sources do not change under a running process that imported it."""
    digest = hashlib.sha256(sys.version.encode())
    for path in sorted(directory.rglob("*.py")):
        name = path.relative_to(directory).as_posix()
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def extension_path(module: str, directory: Path = HERE) -> Path:
    """Where the extension module of `module` (dotted below the package, or the group) is for this interpreter."""
    return directory.joinpath(*module.split(".")).with_name(
        module.rpartition(".")[2] + importlib.machinery.EXTENSION_SUFFIXES[0]
    )


class _SourcesFirst(importlib.abc.MetaPathFinder):
    """Loads the modules of the builds not in use from their .py files, ignoring their extension modules."""

    def __init__(self) -> None:
        self.sources: dict[str, Path] = {}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        source = self.sources.get(fullname)
        return None if source is None else importlib.util.spec_from_file_location(fullname, source)


def _finder() -> _SourcesFirst:
    for finder in sys.meta_path:
        if isinstance(finder, _SourcesFirst):
            return finder
    finder = _SourcesFirst()
    sys.meta_path.insert(0, finder)
    return finder


def use_build(build: Build = ENGINE) -> None:
    """Decide once per process whether `build`'s compiled modules are used (see the module docstring)."""
    global state
    if os.environ.get("ORCHWEB_NO_MYPYC") == "1":
        now = "disabled"
    elif not build.built():
        now = "absent"
    elif not build.stamp.exists() or build.stamp.read_text().strip() != build.source_hash():
        now = "stale"
        sys.stderr.write(
            f"{build.package}: its mypyc build is older than the sources; "
            "running the Python sources (scripts/build_engine.py, run by test.sh and run.sh, rebuilds it)\n"
        )
    else:
        now = "compiled"
    states[build.package] = now
    if build is ENGINE:
        state = now
    # Not in use: its modules from their sources. In use or not: any other extension module
    # beside a source (one a build made before the module left `modules`, or another tree's).
    used = build.modules if now == "compiled" else ()
    _finder().sources.update(
        {f"{build.package}.{name}": build.source(name) for name in build.extension_modules() if name not in used}
    )
