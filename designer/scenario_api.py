"""JSON API of the Tests tab and of "Save as scenario" (the designer's api()/responses() helpers).

Access (the pages' rules, designer/scenario_views.py):
* a version's scenarios and stored verdicts: whoever reads the version (share links included);
  running them: team members of any role, viewers too (a run changes nothing but the stored
  results of an immutable version);
* the draft's scenarios, running and validating them, saving a scenario into it: its owner
  (the editor role, as every draft operation);
* a simulation's proposed scenario: its owner, who must also be an editor to save it.
Runs are bounded (designer.scenario_suite: count, time, one per user; 429 when busy).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from designer import history, scenario_suite
from designer.api import ERRORS, READ, WRITE, _draft, _error, _refused, api, responses
from designer.importing import UploadError
from designer.models import Role, Version
from designer.permissions import (
    _get_project_for_user,
    _get_version_for_user,
    has_role,
    request_share_tokens,
    version_role,
)
from designer.serializers import TextField
from simulator import sessions
from simulator.ors.fakes import parse_json_text
from simulator.runners.scenarios import ScenarioError, project_scenarios, scenario_from_run, validate_scenario

RUN = (*WRITE, 422, 429)


class SuiteReportSerializer(serializers.Serializer):
    """designer.scenario_suite.run_suite's report."""

    summary = serializers.CharField(help_text='"12/12 scenarios pass, 87% of transitions covered"')
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()
    not_run = serializers.ListField(child=serializers.CharField(), help_text="Scenarios the run's bounds left out")
    seconds = serializers.FloatField()
    results = serializers.ListField(
        child=serializers.JSONField(),
        help_text="Per scenario: name, source, passed, problems, steps and assertions [{path, kind, passed, "
        "message, assertion}], summary, seconds, record (the failing trace record or null)",
    )
    coverage = serializers.JSONField(allow_null=True, required=False, help_text="The CLI's coverage report")
    heat = serializers.JSONField(
        allow_null=True, required=False, help_text="{runs, states: {id: n}, transitions: {tid: n}}"
    )


class ScenarioSuiteSerializer(serializers.Serializer):
    scenarios = serializers.ListField(child=serializers.CharField(), help_text="The scenarios/*.json paths")
    run = SuiteReportSerializer(allow_null=True, help_text="The stored verdicts (versions), or the run's")


class RunRequestSerializer(serializers.Serializer):
    scenario = TextField(required=False, help_text="Run this one only (a scenarios/*.json path; default: all)")


@extend_schema_field({"oneOf": [{"type": "object", "additionalProperties": True}, {"type": "string"}]})
class ScenarioField(serializers.JSONField):
    """A scenario: a JSON object, or its text."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, (dict, str)):
            raise serializers.ValidationError("A scenario is a JSON object or its text.")
        return super().to_internal_value(data)


class ScenarioTextSerializer(serializers.Serializer):
    scenario = ScenarioField(help_text="The scenario (a JSON object, or its text)")


class ProblemsSerializer(serializers.Serializer):
    problems = serializers.ListField(
        child=serializers.CharField(), help_text='"<json path>: <what is wrong>", empty when valid'
    )


class ProposedAssertionSerializer(serializers.Serializer):
    assertion = serializers.JSONField()
    label = serializers.CharField()


class ProposalSerializer(serializers.Serializer):
    scenario = serializers.JSONField(help_text="The scenario replaying the run, with every proposed assertion")
    assertions = ProposedAssertionSerializer(many=True)
    path = serializers.CharField(help_text="A free scenarios/<name>.json path of the draft")


class SaveScenarioSerializer(serializers.Serializer):
    path = serializers.RegexField(r"^scenarios/[\w.-]+\.json$", max_length=200)
    scenario = ScenarioField()


class InvalidScenarioSerializer(serializers.Serializer):
    """422: the scenario does not pass the CLI's validation."""

    detail = serializers.CharField()
    problems = serializers.ListField(child=serializers.CharField())


class SavedScenarioSerializer(serializers.Serializer):
    path = serializers.CharField()
    tests = serializers.CharField(help_text="The draft's Tests page")


def _listing(files: dict[str, bytes], report: dict[str, Any] | None) -> Response:
    return Response(ScenarioSuiteSerializer({"scenarios": project_scenarios(files), "run": report}).data)


def _run(request: Request, files: dict[str, bytes], entry: str, version: Version | None) -> Response:
    data = RunRequestSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    path = data.validated_data.get("scenario")
    if path and path not in project_scenarios(files):
        return _error(f"No scenario {path!r}.", status.HTTP_422_UNPROCESSABLE_ENTITY)
    try:
        with scenario_suite.user_slot(request.user.pk):
            if path:
                report = scenario_suite.run_suite(files, entry, [path])
            elif version is not None:
                report = scenario_suite.run_version(version, request.user).report
            else:
                report = scenario_suite.run_suite(files, entry)
    except scenario_suite.Busy as exc:
        return _error(str(exc), status.HTTP_429_TOO_MANY_REQUESTS)
    return _listing(files, report)


@api(
    ["GET", "POST"],
    work=("POST",),
    GET={"responses": responses({200: ScenarioSuiteSerializer}, READ)},
    POST={"request": RunRequestSerializer, "responses": responses({200: ScenarioSuiteSerializer}, RUN)},
)
def version_scenarios(request: Request, version_id: int) -> Response:
    """GET the version's scenarios and stored verdicts; POST runs them (all: stored once) or one."""
    version = _get_version_for_user(request, version_id)
    files = version.read_files()
    if request.method == "GET":
        stored = scenario_suite.stored_run(version)
        return _listing(files, stored.report if stored else None)
    if not has_role(version_role(request, version), Role.VIEWER):
        return _error("Only team members can run scenarios.", status.HTTP_403_FORBIDDEN)
    return _run(request, files, version.entry, version)


@api(
    ["GET", "POST"],
    work=("POST",),
    GET={"responses": responses({200: ScenarioSuiteSerializer}, WRITE)},
    POST={"request": RunRequestSerializer, "responses": responses({200: ScenarioSuiteSerializer}, RUN)},
)
def draft_scenarios(request: Request, project_id: int) -> Response:
    """GET the draft's scenarios; POST runs them (nothing stored: a draft changes)."""
    draft = _draft(request, project_id)
    files = draft.read_files()
    if request.method == "GET":
        return _listing(files, None)
    return _run(request, files, draft.entry, None)


@api(["POST"], POST={"request": ScenarioTextSerializer, "responses": responses({200: ProblemsSerializer}, WRITE)})
def draft_scenario_validate(request: Request, project_id: int) -> Response:
    """Validate a scenario as the CLI does, against the draft's files (its fakes reference)."""
    draft = _draft(request, project_id)
    data = ScenarioTextSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return Response(ProblemsSerializer({"problems": scenario_problems(data.validated_data["scenario"], draft)}).data)


def scenario_problems(value: Any, draft: Any) -> list[str]:
    """validate_scenario's problems for a JSON value or its text (a text that is no JSON: one problem)."""
    try:
        data = parse_json_text(value, ScenarioError)
    except ScenarioError as exc:
        return exc.problems
    return validate_scenario(data, draft.read_files())


def _label(assertion: dict[str, Any]) -> str:
    kind = next(k for k in assertion if k not in ("times", "target", "equals", "before", "description"))
    rest = {k: v for k, v in assertion.items() if k != kind}
    text = f"{kind}: {json.dumps(assertion[kind])}"
    return text + (f" ({', '.join(f'{k} {json.dumps(v)}' for k, v in rest.items())})" if rest else "")


def _free_path(files: dict[str, bytes], name: str) -> str:
    slug = re.sub(r"[^\w.-]+", "-", name).strip("-.").lower() or "recorded-run"
    path, n = f"scenarios/{slug}.json", 2
    while path in files:
        path, n = f"scenarios/{slug}-{n}.json", n + 1
    return path


@api(
    ["GET", "POST"],
    GET={"responses": responses({200: ProposalSerializer}, (401, 403, 404, 409))},
    POST={
        "request": SaveScenarioSerializer,
        "responses": responses(
            {201: SavedScenarioSerializer, 422: OpenApiResponse(InvalidScenarioSerializer, ERRORS[422])}, WRITE
        ),
    },
)
def simulation_scenario(request: Request, simulation_id: int) -> Response:
    """GET the scenario proposed from a simulation's run (its operations log and trace, as saved);
    POST saves a scenario into the owner's draft of the project, after validating it as the CLI."""
    simulation, role = sessions.get_simulation_for_user(request.user, simulation_id, request_share_tokens(request))
    if role != "owner":
        return _error("Only the simulation's owner can save it as a scenario.", status.HTTP_403_FORBIDDEN)
    project = simulation.version.project
    if request.method == "GET":
        try:
            runtime = sessions.build_runtime(simulation)
        except sessions.SimulationError as exc:  # e.g. the version has definition errors
            return _error(f"This simulation cannot be replayed: {exc}", status.HTTP_409_CONFLICT)
        try:
            fakes = simulation.fakes_source or simulation.fakes or None
            name = f"recorded run {simulation.pk}"
            scenario = scenario_from_run(runtime.records, runtime.run.summary(), fakes, simulation.inputs or [], name)
        finally:
            runtime.close()
        files = dict.fromkeys(project_scenarios(simulation.version.read_files()), b"")
        proposal = {
            "scenario": scenario,
            "assertions": [{"assertion": a, "label": _label(a)} for a in scenario["expect"]],
            "path": _free_path(files, scenario["name"]),
        }
        return Response(ProposalSerializer(proposal).data)
    _get_project_for_user(request, project.pk, Role.EDITOR)
    draft = history.get_or_start_draft(project, request.user)
    data = SaveScenarioSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    problems = scenario_problems(data.validated_data["scenario"], draft)
    if problems:
        body = {"detail": "The scenario is not valid.", "problems": problems}
        return Response(body, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    content = json.dumps(data.validated_data["scenario"], indent=2, ensure_ascii=False) + "\n"
    try:
        history.write_draft_file(draft, data.validated_data["path"], content.encode())
    except UploadError as exc:
        return _refused(exc)
    saved = {"path": data.validated_data["path"], "tests": reverse("designer-draft-tests", args=[project.pk])}
    return Response(SavedScenarioSerializer(saved).data, status=status.HTTP_201_CREATED)
