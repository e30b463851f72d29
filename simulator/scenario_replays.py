"""Read-only replays of a scenario in the simulator: the Tests tab's "Failing record" link.

A replay is a stored `Simulation` owned by the viewer, marked with its scenario path
(`Simulation.scenario`): its inputs log is the scenario's timeline, one `scenario` operation per
step (`simulator.sessions`), cut where `run_scenario` stops it (a failed step) and ending with the
run to idle. The page opens it read-only: rewind moves back and forth along that timeline and never
truncates it. A draft's replay keeps the draft's files as they were (`Simulation.files`).

Replays do not count against the stored-simulation cap (`simulator.retention`): a user keeps at
most `MAX_REPLAYS` of them (opening one more deletes the oldest), reopening the same scenario on
the same files reuses its replay, and they expire like any simulation.
"""

from __future__ import annotations

from typing import Any

from designer.models import Draft, Version
from simulator import sessions
from simulator.models import Simulation
from simulator.runners.scenarios import DEFAULT_MAX_TIME, ScenarioError, load_scenario

#: scenario replays kept per user (the oldest go first)
MAX_REPLAYS = 20


class ReplayError(ValueError):
    """The scenario cannot be replayed (the message says why)."""


def timeline(files: dict[str, bytes], entry: str, path: str) -> tuple[dict[str, Any], list[dict]]:
    """(the Simulation fields, the inputs log) of a replay of scenario `path` of these files."""
    try:
        scenario = load_scenario(files[path], files, path)
    except ScenarioError as exc:
        raise ReplayError(f"{path}: " + "; ".join(exc.problems)) from exc
    data = scenario.data
    try:
        fakes, source = sessions.resolve_fakes(files, data.get("fakes"))
    except sessions.OpError as exc:
        raise ReplayError(f"{path}: {exc}") from exc
    fields = {
        "entry": "" if not data.get("entry") or data["entry"] == entry else data["entry"],
        "fakes": fakes,
        "fakes_source": source,
        "seed": int(data.get("seed", 0)),
    }
    runtime = sessions.SimulationRuntime(files, data.get("entry") or entry, fakes, fields["seed"])
    max_time = float(data.get("max_time", DEFAULT_MAX_TIME))
    try:
        for index, step in enumerate(scenario.steps):
            runtime.apply({"op": "scenario", "index": index, "step": step, "max_time": max_time})
            if "expect" not in step and not all(r.passed for r in runtime.step_results):
                break  # where run_scenario stops the timeline
        else:
            runtime.apply({"op": "scenario", "index": len(scenario.steps), "step": {"run": True}, "max_time": max_time})
        return fields, list(runtime.inputs)
    finally:
        runtime.close()


def open_replay(user: Any, path: str, version: Version | None = None, draft: Draft | None = None) -> Simulation:
    """The user's replay of scenario `path` of a version or of their draft (reused when one of the
    same files exists; sync: DB, runs the scenario). ReplayError when it cannot be replayed."""
    if version is not None:
        anchor, snapshot = version, {}
        files, entry = sessions.version_files(version)
    else:
        assert draft is not None
        if draft.base is None:
            raise ReplayError("this draft has no saved version yet: save one to replay its scenarios")
        anchor, snapshot = draft.base, draft.file_map()
        files, entry = draft.read_files(), draft.entry or draft.base.entry
    if path not in files:
        raise ReplayError(f"no scenario {path!r}")
    mine = Simulation.objects.filter(owner=user).exclude(scenario="")
    found = mine.filter(version=anchor, scenario=path).order_by("-updated_at")
    for old in found:
        if old.files == snapshot:
            return old
    fields, inputs = timeline(files, entry, path)
    simulation = Simulation.objects.create(owner=user, version=anchor, scenario=path, files=snapshot, **fields)
    simulation.write_inputs(inputs)
    keep = list(mine.order_by("-updated_at", "-id").values_list("pk", flat=True)[:MAX_REPLAYS])
    mine.exclude(pk__in=keep).delete()
    return simulation


def describe(simulation: Simulation) -> str:
    """A short label of a replay for the page ("scenarios/x.json of v3" / "... of your draft")."""
    where = "your draft (as it was)" if simulation.files else simulation.version.label
    return f"{simulation.scenario} on {where}"
