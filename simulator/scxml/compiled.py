"""The engine's hot modules compiled by mypyc, and the guard against a stale build.

`scripts/build_engine.py` (run by run.sh and test.sh through scripts/venv.sh) compiles `MODULES`
with mypyc into extension modules beside their sources (never committed: .gitignore). They are
the same code, -46% instructions per pingpong event (docs/performance.md, "mypyc" and "The
datamodel and executable content compiled too"). Compiled code has no interpreter recursion limit:
a recursion over untrusted data in these modules needs a bound of its own (datamodel._finite).

CPython imports an extension module before a .py of the same name, so a build older than an
edited source would silently run the old code. The build therefore writes `STAMP`, a hash of the
package's sources, and `use_build()` (run by the package's ``__init__``, before any engine
module is imported) compares it with the sources: when it differs, is missing, or
ORCHWEB_NO_MYPYC=1 is set, a meta-path finder makes every module of `MODULES` load from its .py.
All or none: the compiled modules call each other's classes natively. The whole package is
hashed (not only `MODULES`) because mypyc compiles a module against the types of those it imports.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

PACKAGE = "simulator.scxml"
HERE = Path(__file__).resolve().parent
#: compiled by mypyc, in one shared library (`GROUP`); chosen by profile (docs/performance.md)
MODULES = ("datamodel", "events", "executable", "interpreter", "plan", "session", "steps")
GROUP = "_compiled"
STAMP = HERE / "_compiled.stamp"

#: what this process runs: "compiled", or why not ("disabled", "absent", "stale")
state = "absent"


def source_hash(directory: Path = HERE) -> str:
    """A hash of every Python source of the package (names and contents)."""
    digest = hashlib.sha256(sys.version.encode())
    for path in sorted(directory.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def extension_path(module: str, directory: Path = HERE) -> Path:
    """Where the extension module of `module` (or of the group) is for this interpreter."""
    return directory / (module + importlib.machinery.EXTENSION_SUFFIXES[0])


def built(directory: Path = HERE) -> bool:
    """Whether every compiled module is there for this interpreter."""
    return all(extension_path(name, directory).exists() for name in (*MODULES, GROUP + "__mypyc"))


class _SourcesFirst(importlib.abc.MetaPathFinder):
    """Loads the modules of MODULES from their .py files, ignoring their extension modules."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != PACKAGE or name not in MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, HERE / (name + ".py"))


def use_build() -> None:
    """Decide once per process whether the compiled modules are used (see the module docstring)."""
    global state
    if os.environ.get("ORCHWEB_NO_MYPYC") == "1":
        state = "disabled"
    elif not built():
        state = "absent"
    elif not STAMP.exists() or STAMP.read_text().strip() != source_hash():
        state = "stale"
        sys.stderr.write(
            f"{PACKAGE}: the mypyc build of {', '.join(MODULES)} is older than the sources; "
            "running the Python sources (scripts/build_engine.py, run by test.sh and run.sh, rebuilds it)\n"
        )
    else:
        state = "compiled"
        return
    if not any(isinstance(finder, _SourcesFirst) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SourcesFirst())
