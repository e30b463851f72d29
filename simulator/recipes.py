"""Export and import of simulations: the trace as JSON lines and the recipe that reproduces it.

A recipe holds everything a replay needs, so importing it on another server (a fresh database)
rebuilds the same simulation record for record: the version's files and entry, the fakes profile,
the seed, the inputs log (every operation, console evaluations and edits included), and the
breakpoints and watches. Format (``format: "orchweb.simulation-recipe/1"``), validated by
``RECIPE_SCHEMA``; files are base64. docs/simulation-protocol.md, "Export and import".
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
from django.contrib.auth.models import AbstractBaseUser

from designer import history
from designer.models import Project, Team
from simulator import sessions
from simulator.models import Simulation
from simulator.protocol import SEED_MAX, SEED_MIN
from simulator.scxml.trace import dumps

FORMAT = "orchweb.simulation-recipe/1"

RECIPE_SCHEMA: dict = {
    "type": "object",
    "required": ["format", "project", "entry", "files", "fakes", "seed", "inputs"],
    "properties": {
        "format": {"const": FORMAT},
        "project": {"type": "string", "minLength": 1},
        "label": {"type": "string"},
        "version_entry": {"type": "string"},
        "entry": {"type": "string", "minLength": 1},
        "files": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}},
        "fakes": {"type": "object"},
        "seed": {"type": "integer", "minimum": SEED_MIN, "maximum": SEED_MAX},
        "inputs": {"type": "array", "items": {"type": "object", "required": ["op"]}},
        "breakpoints": {"type": "object"},
        "watches": {"type": "array", "items": {"type": "string"}},
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(RECIPE_SCHEMA)


class RecipeError(ValueError):
    """Not a recipe this server can import; the message says why."""


def recipe_of(simulation: Simulation) -> dict[str, Any]:
    """The recipe of a simulation (what `import_recipe` needs to rebuild it anywhere)."""
    version = simulation.version
    files, entry = sessions.simulation_files(simulation)
    return {
        "format": FORMAT,
        "project": version.project.name,
        "label": version.label,
        "version_entry": version.entry,
        "entry": simulation.entry or entry,
        "files": {path: base64.b64encode(data).decode("ascii") for path, data in files.items()},
        "fakes": simulation.fakes or {},
        "seed": simulation.seed,
        "inputs": simulation.inputs or [],
        "breakpoints": simulation.breakpoints or {},
        "watches": simulation.watches or [],
    }


def trace_lines(simulation: Simulation) -> Iterator[str]:
    """The simulation's trace, rebuilt by replay, one JSON record per line (docs/trace.md)."""
    runtime = sessions.build_runtime(simulation)
    try:
        for record in runtime.records:
            yield dumps(record) + "\n"
    finally:
        runtime.close()


def read_recipe(data: bytes) -> dict[str, Any]:
    """A validated recipe from uploaded bytes (RecipeError naming the problem)."""
    try:
        recipe = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecipeError(f"not JSON: {exc}") from exc
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(recipe))
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise RecipeError(f"not a simulation recipe: ${where}: {error.message}")
    try:
        recipe["files"] = {path: base64.b64decode(text, validate=True) for path, text in recipe["files"].items()}
    except (binascii.Error, ValueError) as exc:
        raise RecipeError(f"not a simulation recipe: a file is not base64 ({exc})") from exc
    if recipe["entry"] not in recipe["files"]:
        raise RecipeError(f"not a simulation recipe: the entry {recipe['entry']!r} is not one of its files")
    return recipe


def import_recipe(recipe: dict[str, Any], user: AbstractBaseUser, team: Team) -> Simulation:
    """A new project of `team` holding the recipe's files, and the recipe's simulation in it."""
    name = f"{recipe['project']} (imported)"
    taken = set(Project.objects.filter(team=team, name__startswith=name).values_list("name", flat=True))
    n = 2
    while name in taken:
        name = f"{recipe['project']} (imported {n})"
        n += 1
    project = Project.objects.create(team=team, name=name, created_by=user)
    version_entry = recipe.get("version_entry") or recipe["entry"]
    version = history.create_version(
        project,
        recipe["files"],
        author=user,
        message=f"Imported with a simulation recipe of {recipe['project']} {recipe.get('label', '')}".strip(),
        parent=None,
        entry=version_entry if version_entry in recipe["files"] else recipe["entry"],
    )
    simulation = Simulation.objects.create(
        owner=user,
        version=version,
        entry="" if recipe["entry"] == version.entry else recipe["entry"],
        fakes=recipe["fakes"],
        seed=recipe["seed"],
        breakpoints=recipe.get("breakpoints") or {},
        watches=recipe.get("watches") or [],
    )
    simulation.write_inputs(recipe["inputs"])
    return simulation
