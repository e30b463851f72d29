"""The Tests tab: a version's or a draft's scenarios run through the CLI's engine, stored verdicts,
badges, verdict changes on the diff page, coverage heat, and save-as-scenario."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError

from designer import history, scenario_suite
from designer.models import ImmutableError, ScenarioSuiteRun
from simulator.models import Simulation
from simulator.runners.scenarios import run_project_scenarios
from simulator.sessions import SimulationRuntime

from .conftest import World

pytestmark = pytest.mark.django_db

#: the submit times out before the fake agent (5 s) is found: the call takes the default route
SUBMIT, BROKEN_SUBMIT = b'timeout="30"', b'timeout="3"'


def break_draft(world: World) -> None:
    """The editor's draft gives up on agents too soon: the starter scenario's outcome assertion fails."""
    draft = history.get_or_start_draft(world.project, world.editor)
    files = draft.read_files()
    for path, content in files.items():
        if SUBMIT in content and path.endswith(".scxml"):
            history.write_draft_file(draft, path, content.replace(SUBMIT, BROKEN_SUBMIT))
            return
    raise AssertionError("the starter no longer submits with a 30 s timeout")


def test_run_all_on_a_version_runs_the_cli_engine_and_stores_the_verdicts_once(world: World) -> None:
    client = world.client_for("viewer")
    response = client.post(f"/versions/{world.v1.pk}/tests/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "1/1 scenarios pass" in page and "% of transitions covered" in page
    run = ScenarioSuiteRun.objects.get(version=world.v1)
    cli = run_project_scenarios(world.v1.read_files())
    assert [r["passed"] for r in run.report["results"]] == [r.passed for r in cli]
    assert run.report["results"][0]["assertions"] == [a.to_json() for a in cli[0].assertions]
    # stored once: running again answers the same row; the row itself cannot change
    client.post(f"/versions/{world.v1.pk}/tests/")
    assert ScenarioSuiteRun.objects.filter(version=world.v1).count() == 1
    with pytest.raises(ImmutableError):
        run.save()
    with pytest.raises(IntegrityError):
        ScenarioSuiteRun.objects.create(version=world.v1, files_hash=run.files_hash, report={})


def test_version_page_timeline_badge_and_diff_show_the_stored_verdicts(world: World) -> None:
    client = world.client_for("owner")
    assert "Scenarios not run yet" in client.get(f"/versions/{world.v1.pk}/").content.decode()
    client.post(f"/versions/{world.v1.pk}/tests/")
    client.post(f"/versions/{world.v2.pk}/tests/")
    page = client.get(f"/versions/{world.v1.pk}/").content.decode()
    assert "1/1 scenarios pass, " in page
    timeline = client.get(f"/projects/{world.project.pk}/").content.decode()
    assert timeline.count('data-testid="scenario-badge"') == 2 and "1/1 tests" in timeline
    diff = client.get(f"/versions/{world.v1.pk}/diff/{world.v2.pk}/").content.decode()
    assert "No scenario changed its verdict" in diff


def test_verdict_changes_lists_the_scenarios_whose_verdict_differs() -> None:
    def report(*verdicts: tuple[str, bool]) -> dict:
        return {"results": [{"source": s, "name": s, "passed": p} for s, p in verdicts]}

    a = report(("scenarios/a.json", True), ("scenarios/b.json", True), ("scenarios/gone.json", False))
    b = report(("scenarios/a.json", True), ("scenarios/b.json", False), ("scenarios/new.json", True))
    assert scenario_suite.verdict_changes(a, b) == [
        {"source": "scenarios/b.json", "name": "scenarios/b.json", "a": "pass", "b": "fail"},
        {"source": "scenarios/gone.json", "name": "scenarios/gone.json", "a": "fail", "b": None},
        {"source": "scenarios/new.json", "name": "scenarios/new.json", "a": None, "b": "pass"},
    ]
    assert scenario_suite.verdict_changes(a, None) == []


def test_a_broken_draft_fails_with_expected_vs_actual_and_a_link_to_the_failing_record(world: World) -> None:
    break_draft(world)
    client = world.client_for("editor")
    response = client.post(f"/projects/{world.project.pk}/draft/tests/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "0/1 scenarios pass" in page and "FAIL" in page
    assert "expected outcome" in page and "7042@SIPSwitch.DN" in page and "ixn:redirect" in page
    assert "Failing record #" in page
    assert not ScenarioSuiteRun.objects.exists()  # a draft's verdicts are not stored
    report = scenario_suite.run_suite(history.get_or_start_draft(world.project, world.editor).read_files(), "")
    record = report["results"][0]["record"]
    assert f'/draft/tests/replay/?scenario=scenarios/route-to-agent.json&amp;record={record}"' in page


def test_run_one_scenario_and_unknown_scenarios(world: World) -> None:
    client = world.client_for("editor")
    one = client.post(f"/versions/{world.v2.pk}/tests/", {"scenario": "scenarios/route-to-agent.json"})
    assert one.status_code == 200 and "1/1 scenarios pass" in one.content.decode()
    assert not ScenarioSuiteRun.objects.exists()  # only a whole suite is stored
    assert client.post(f"/versions/{world.v2.pk}/tests/", {"scenario": "scenarios/nope.json"}).status_code == 400


def test_suites_are_bounded_in_count_and_time(world: World) -> None:
    files = world.v1.read_files()
    scenario = files["scenarios/route-to-agent.json"]
    many = {**files, **{f"scenarios/s{i:03}.json": scenario for i in range(scenario_suite.MAX_SCENARIOS + 2)}}
    report = scenario_suite.run_suite(many, world.v1.entry, budget=0.0)
    # the budget is spent at once: one scenario started, the others are reported, none silently dropped
    assert report["passed"] + report["failed"] == 1
    assert len(report["not_run"]) == scenario_suite.MAX_SCENARIOS + 2
    assert "not run" in report["summary"]


def test_one_run_at_a_time_per_user(world: World) -> None:
    client = world.client_for("viewer")
    with scenario_suite.user_slot(world.viewer.pk):
        response = client.post(f"/versions/{world.v1.pk}/tests/")
        assert response.status_code == 429
        api = client.post(f"/api/versions/{world.v1.pk}/scenarios", {}, content_type="application/json")
        assert api.status_code == 429
        # another user is not held up
        assert world.client_for("owner").post(f"/versions/{world.v1.pk}/tests/").status_code == 200
    assert client.post(f"/versions/{world.v1.pk}/tests/").status_code == 200


def test_coverage_heat_counts_scenarios_per_state_and_transition(world: World) -> None:
    report = scenario_suite.run_suite(world.v1.read_files(), world.v1.entry)
    heat = report["heat"]
    assert heat["runs"] == 1
    assert heat["states"]["MainWorkflow.RouteToAgent"] == 1
    assert heat["states"]["MainWorkflow.DefaultRoute"] == 0
    assert set(heat["transitions"].values()) == {0, 1}
    uncovered = {s["id"] for s in report["coverage"]["states"]["uncovered"]}
    assert {s for s, n in heat["states"].items() if n == 0} == uncovered
    page = world.client_for("viewer").post(f"/versions/{world.v1.pk}/tests/").content.decode()
    assert 'id="tests-heat"' in page and "never entered" in page


def test_api_lists_runs_and_validates(world: World) -> None:
    viewer = world.client_for("viewer")
    listing = viewer.get(f"/api/versions/{world.v1.pk}/scenarios").json()
    assert listing == {"scenarios": ["scenarios/route-to-agent.json"], "run": None}
    ran = viewer.post(f"/api/versions/{world.v1.pk}/scenarios", {}, content_type="application/json").json()
    assert ran["run"]["passed"] == 1 and ran["run"]["results"][0]["record"] is None
    assert viewer.get(f"/api/versions/{world.v1.pk}/scenarios").json()["run"] == ran["run"]
    editor = world.client_for("editor")
    url = f"/api/projects/{world.project.pk}/draft/scenarios/validate"
    bad = {"scenario": {"expect": [{"outcome": "lost"}]}}
    problems = editor.post(url, bad, content_type="application/json").json()["problems"]
    assert problems == [
        "$.expect[0].outcome: 'lost' is not one of 'routed', 'terminated', 'abandoned', 'waiting', 'error'"
    ]
    missing = {"scenario": {"fakes": "fakes/missing.json", "expect": [{"outcome": "routed"}]}}
    problems = editor.post(url, missing, content_type="application/json").json()["problems"]
    assert problems == ["$.fakes: no file 'fakes/missing.json' in the project"]
    text = editor.post(url, {"scenario": "{not json"}, content_type="application/json").json()["problems"]
    assert text[0].startswith("$: not valid JSON")


def test_save_a_simulation_as_a_scenario_then_run_it(world: World) -> None:
    files = world.v1.read_files()
    fakes = json.loads(files["fakes/default.json"])
    # the user ran the call to its end on the simulation page: its inputs log is what is saved
    runtime = SimulationRuntime(files, world.v1.entry, fakes)
    runtime.apply({"op": "advance", "seconds": 30})
    simulation = Simulation.objects.create(
        owner=world.editor, version=world.v1, fakes_source="fakes/default.json", fakes=fakes
    )
    simulation.write_inputs(runtime.inputs)
    runtime.close()
    client = world.client_for("editor")
    url = f"/api/simulations/{simulation.pk}/scenario"
    proposal = client.get(url).json()
    kinds = [next(iter(a["assertion"])) for a in proposal["assertions"]]
    assert {"outcome", "final", "entered"} <= set(kinds)
    assert proposal["path"] == f"scenarios/recorded-run-{simulation.pk}.json"
    scenario = dict(proposal["scenario"])
    scenario["expect"] = [a["assertion"] for a in proposal["assertions"] if "outcome" in a["assertion"]]
    invalid = client.post(
        url,
        {"path": proposal["path"], "scenario": {**scenario, "expect": [{"outcome": "lost"}]}},
        content_type="application/json",
    )
    assert invalid.status_code == 422 and invalid.json()["problems"][0].startswith("$.expect[0].outcome")
    saved = client.post(url, {"path": proposal["path"], "scenario": scenario}, content_type="application/json")
    assert saved.status_code == 201
    draft = history.get_or_start_draft(world.project, world.editor)
    assert json.loads(draft.read_files()[proposal["path"]]) == scenario
    ran = client.post(
        f"/api/projects/{world.project.pk}/draft/scenarios",
        {"scenario": proposal["path"]},
        content_type="application/json",
    ).json()
    assert ran["run"]["passed"] == 1, ran["run"]["results"]


def test_a_simulation_that_cannot_be_replayed_proposes_nothing_and_says_why(world: World) -> None:
    files = world.v1.read_files()
    main = files["src-gen/Main.scxml"].replace(b'target="$$_MY_PREFIX_$$.RouteToAgent"', b'target="nowhere"')
    broken = {**files, "src-gen/Main.scxml": main}
    version = history.create_version(world.project, broken, author=world.owner, message="broken", parent=world.v2)
    simulation = Simulation.objects.create(owner=world.editor, version=version)
    answer = world.client_for("editor").get(f"/api/simulations/{simulation.pk}/scenario")
    assert answer.status_code == 409
    assert answer.json()["detail"].startswith("This simulation cannot be replayed: ")


def test_a_share_link_reads_the_stored_verdicts_but_neither_runs_nor_replays(world: World) -> None:
    world.client_for("viewer").post(f"/versions/{world.v2.pk}/tests/")
    share = world.client_for("share")
    page = share.get(f"/versions/{world.v2.pk}/tests/").content.decode()
    assert "1/1 scenarios pass" in page
    assert "Run all" not in page and "/tests/replay/" not in page
    assert share.post(f"/versions/{world.v2.pk}/tests/").status_code == 403
