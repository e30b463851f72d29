"""The import graph tells the truth: layers import downward only, and nothing imports by string.

Layers (docs/architecture.md): the apps (designer, the simulator's web layer) -> simulator.runners
/ simulator.ors -> simulator.scxml. Every import statement of every module counts, including
imports inside functions.
"""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("simulator", "designer", "orchweb")
#: the web layer of the simulator app: what the pure-Python packages must never reach
WEB_LAYER = (
    "simulator.sessions",
    "simulator.scheduling",
    "simulator.consumers",
    "simulator.handlers",
    "simulator.pacing",
    "simulator.persistence",
    "simulator.retention",
    "simulator.quotas",
    "simulator.access",
    "simulator.views",
    "simulator.models",
    "simulator.routing",
)
APPS = ("designer", "orchweb", "django", "channels", "rest_framework", *WEB_LAYER)

#: package -> prefixes of the modules it must not import
FORBIDDEN = {
    "simulator.scxml": ("simulator.ors", "simulator.runners", *APPS),
    "simulator.ors": ("simulator.runners", *APPS),
    "simulator.runners": APPS,
    # the designer's Django-free edit operations and blocks (unit-tested without a database)
    "designer.authoring": (
        "django",
        "channels",
        "rest_framework",
        "orchweb",
        "simulator.runners",
        *WEB_LAYER,
        *(
            f"designer.{m}"
            for m in ("models", "views", "api", "authoring_api", "history", "permissions", "serializers")
        ),
    ),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every import statement of one of `modules()`."""
    return import_table()[str(path)]


@functools.cache
def import_table() -> dict[str, list[tuple[int, str]]]:
    """Every module's imports, parsed in a fresh interpreter: CPython 3.11 can leave its AST
    converter's recursion counter wrong after an earlier test's deep recursion in this process
    ("SystemError: AST constructor recursion depth mismatch")."""
    code = "import json; from tests.test_layers import modules, parse_imports; "
    code += "print(json.dumps({str(p): parse_imports(p) for p in modules()}))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return {path: [(line, target) for line, target in found] for path, found in json.loads(result.stdout).items()}


def parse_imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every import statement; relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from a import b` imports a.b (a submodule or a name of a): the names are the targets
            found += [(node.lineno, base if alias.name == "*" else f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            found.append((node.lineno, "__import__"))
    return found


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_each_layer_imports_only_the_layers_below_it(package: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: imports {target}"
        for path in modules()
        if within(module_name(path), package)
        for line, target in imports(path)
        if any(within(target, prefix) for prefix in FORBIDDEN[package])
    ]
    assert wrong == []


#: the parts of importlib that read data, not code
DATA_ONLY = ("importlib.resources", "importlib.metadata")
#: import machinery by nature: chooses between an engine module's source and its mypyc build
MACHINERY = ("simulator/scxml/compiled.py",)


def test_no_module_imports_by_string() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: {target}"
        for path in modules()
        if str(path.relative_to(ROOT)) not in MACHINERY
        for line, target in imports(path)
        if (within(target, "importlib") and not any(within(target, ok) for ok in DATA_ONLY)) or target == "__import__"
    ]
    assert wrong == []


def test_the_checker_sees_relative_and_function_level_imports() -> None:
    """The checks above would pass vacuously if the walker missed imports: it finds these."""
    runners = sorted(p for p in modules() if within(module_name(p), "simulator.runners"))
    seen = {target for p in runners for _, target in imports(p)}
    assert "simulator.runners.driver.OrsRun" in seen  # `from .driver import OrsRun`
    assert "simulator.scxml.interpreter.SessionGroup" in seen
    web = {target for _, target in imports(ROOT / "simulator" / "sessions.py")}
    assert "designer.permissions.check_version_access" in web  # imported inside a function
