"""Scenarios: validation with JSON paths, timelines, assertions that pass and fail with clear
messages, the starter/demo projects, the real sample project and `manage.py scenario`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from designer.demo import VIP_FAKES, vip_routing_files
from designer.starters import STARTERS, load_starter
from simulator.ors.fakes import validate_fakes
from simulator.ors.project import load_project
from simulator.runners import scenarios
from simulator.runners.driver import OrsRun
from simulator.runners.scenarios import (
    ScenarioError,
    check_assertions,
    junit_xml,
    load_scenario,
    project_scenarios,
    run_project_scenarios,
    run_scenario,
    scenario_from_run,
    suite_report,
    validate_scenario,
)
from tests.ors.strategies import document

# A small triage strategy in Composer's style: VIP callers (udata segment) go to the VIP group,
# others to Support; a Support timeout overflows to DN 7000; a hang-up ends the session.
TRIAGE = document(
    """
  <datamodel>
    <data id="App" expr="new Object()"/>
    <data id="segment" expr="''"/>
  </datamodel>
  <state id="main" initial="wait">
    <transition event="interaction.deleted" target="gone"/>
    <state id="wait">
      <transition event="interaction.added" target="lookup">
        <assign location="App.ixn" expr="_event.data.interactionid"/>
      </transition>
    </state>
    <state id="lookup">
      <onentry>
        <assign location="segment" expr="_genesys.ixn.interactions[App.ixn].udata.segment || 'standard'"/>
        <log expr="'segment ' + segment"/>
      </onentry>
      <transition cond="segment == 'vip'" target="vip"/>
      <transition target="support"/>
    </state>
    <state id="vip">
      <onentry>
        <queue:submit requestid="App.vip" interactionid="App.ixn" timeout="20" priority="10">
          <queue:targets><queue:target name="'VIP'" type="agentgroup"/></queue:targets>
        </queue:submit>
      </onentry>
      <transition event="queue.submit.done" cond="_event.data.requestid == App.vip" target="done"/>
      <transition event="error.queue.submit" cond="_event.data.requestid == App.vip" target="support"/>
    </state>
    <state id="support">
      <onentry>
        <queue:submit requestid="App.support" interactionid="App.ixn" timeout="30">
          <queue:targets><queue:target name="'Support'" type="agentgroup"/></queue:targets>
        </queue:submit>
      </onentry>
      <transition event="queue.submit.done" cond="_event.data.requestid == App.support" target="done">
        <log expr="'routed to ' + _event.data.targetselected"/>
      </transition>
      <transition event="error.queue.submit" cond="_event.data.requestid == App.support" target="overflow"/>
    </state>
    <state id="overflow">
      <onentry>
        <ixn:redirect requestid="App.overflow" interactionid="App.ixn" to="'7000'"/>
      </onentry>
      <transition event="interaction.redirect.done" target="done"/>
    </state>
  </state>
  <final id="done"/>
  <final id="gone"/>
""",
    initial="main",
    name="Triage",
)
ENTRY = "src-gen/IPD_Triage.scxml"
FILES = {ENTRY: TRIAGE, "fakes/vip.json": json.dumps({"interaction": {"udata": {"segment": "vip"}}}).encode()}


def run(scenario: dict, files: dict[str, bytes] | None = None):
    return run_scenario(files or FILES, scenario)


def messages(result) -> list[str]:
    return [f"{r.path} {r.message}" for r in result.failures]


# -- passing and failing --------------------------------------------------------------------------


def test_a_standard_caller_scenario_passes_with_every_kind_of_assertion():
    result = run(
        {
            "name": "standard caller",
            "expect": [
                {"outcome": "routed", "target": "7001@SIPSwitch.DN", "via": "queue:submit"},
                {"final": "done"},
                {"entered": ["lookup", "support"], "times": 1, "before": 0.5},
                {"not_entered": ["vip", "overflow", "gone"]},
                {"transition": {"source": "support", "target": "done", "event": "queue.submit.done"}, "times": 1},
                {
                    "request": {
                        "module": "queue",
                        "action": "submit",
                        "attributes": {"targets": "Support@.GA", "timeout": 30},
                    }
                },
                {"request": {"module": "interaction", "action": "redirect"}, "times": 0},
                {"event": "queue.submit.done", "data": {"targetselected": "7001@SIPSwitch.DN"}, "before": 1.0},
                {"log": "segment standard"},
                {"log": "re:^routed to \\d+@SIPSwitch"},
                {"variable": "segment", "equals": "standard"},
                {"variable": "App.support", "equals": "REQ00001"},
                {"time": {"min": 1, "max": 1}},
                {"errors": 0},
            ],
        }
    )
    assert messages(result) == []
    assert result.passed
    assert [r.passed for r in result.assertions] == [True] * 14
    assert result.assertions[0].message.startswith('outcome {"status": "routed", "target": "7001@SIPSwitch.DN"')
    assert result.summary["outcome"]["status"] == "routed"
    assert result.trace[0]["type"] == "start"


def test_a_failing_scenario_says_what_was_expected_and_what_happened():
    result = run(
        {
            "expect": [
                {"outcome": "routed", "target": "9999"},
                {"entered": "vip"},
                {"not_entered": "support"},
                {"request": {"module": "queue", "action": "submit", "attributes": {"priority": 10}}},
                {"event": "queue.submit.done", "before": 0.5},
                {"variable": "segment", "equals": "vip"},
                {"time": {"max": 0.5}},
                {"log": "segment standard", "times": 2},
                {"final": "gone"},
            ]
        }
    )
    assert not result.passed
    assert messages(result) == [
        '$.expect[0] expected outcome {"status": "routed", "target": "9999"}, got {"status": "routed", '
        '"target": "7001@SIPSwitch.DN", "via": "queue:submit"}',
        "$.expect[1] state 'vip' entered never happened (seen: main, wait, lookup, support, done)",
        "$.expect[2] state 'support' entered at t=0",
        '$.expect[3] request queue:submit with {"priority": 10} never happened (seen: queue:submit (line 35) '
        '{"interactionid": "006502A8E4B1C002", "timeout": 30, "queue": "none", "priority": 0, "clearontimeout": '
        'false, "route": true, "ordertype": "any", "orderstat": "none"})',
        "$.expect[4] event 'queue.submit.done' only at t=1, expected by t=0.5",
        '$.expect[5] segment = "standard", expected "vip"',
        "$.expect[6] virtual time 1s, expected [0, 0.5]",
        "$.expect[7] log 'segment standard': 1 time(s), expected 2 "
        "(seen: 'segment standard', 'routed to 7001@SIPSwitch.DN')",
        "$.expect[8] final state 'done', expected 'gone'",
    ]


def test_a_fakes_file_of_the_project_drives_the_run():
    result = run(
        {
            "fakes": "fakes/vip.json",
            "expect": [{"entered": "vip"}, {"not_entered": "support"}, {"variable": "segment", "equals": "vip"}],
        }
    )
    assert result.passed, messages(result)


def test_inline_fakes_make_the_support_group_time_out_into_the_overflow():
    result = run(
        {
            "fakes": {"queue": {"available": False}},
            "expect": [
                {"event": "error.queue.submit", "data": {"error": "timeout"}},
                {"outcome": "routed", "target": "7000", "via": "ixn:redirect"},
                {"time": {"min": 30, "max": 31}},
            ],
        }
    )
    assert result.passed, messages(result)


# -- timelines ------------------------------------------------------------------------------------


def test_a_respond_step_answers_a_pending_request_in_place_of_the_fake():
    result = run(
        {
            "fakes": {"rules": [{"module": "queue", "action": "submit", "manual": True}]},
            "steps": [
                {
                    "respond": {"module": "queue", "action": "submit"},
                    "events": [{"name": "error.queue.submit", "data": {"error": "timeout"}, "delay": 12}],
                },
                {"until": 12.05},
                {"expect": {"active": "overflow"}},
            ],
            "expect": [{"outcome": "routed", "target": "7000"}, {"time": {"min": 12.1, "max": 12.1}}],
        }
    )
    assert result.passed, messages(result)
    assert result.steps[0].message == "t=0: answered REQ00001 queue:submit with error.queue.submit"
    assert result.steps[2].path == "$.steps[2].expect"


def test_a_respond_step_overrides_an_automatic_answer_not_delivered_yet():
    result = run(
        {
            "steps": [
                {
                    "respond": {"module": "queue", "action": "submit", "attributes": {"targets": "Support@.GA"}},
                    "events": [{"name": "error.queue.submit", "data": {"error": "busy"}}],
                }
            ],
            "expect": [
                {"event": "queue.submit.done", "times": 0},
                {"outcome": "routed", "target": "7000"},
                {"time": {"max": 0.1}},
            ],
        }
    )
    assert result.passed, messages(result)


def test_a_respond_step_without_a_matching_request_fails_and_stops_the_timeline():
    result = run(
        {
            "steps": [
                {"respond": {"module": "dialog", "action": "start"}, "events": [{"name": "dialog.start.done"}]},
                {"inject": "hangup"},
            ],
            "expect": [{"final": True}],
        }
    )
    assert not result.passed
    assert [r.path for r in result.steps] == ["$.steps[0]"]  # the inject never ran
    assert messages(result)[0] == "$.steps[0] t=1: no pending request dialog:start to answer (pending: none)"


def test_wait_expect_and_a_hangup_give_an_abandoned_call():
    result = run(
        {
            "fakes": {"rules": [{"module": "queue", "action": "submit", "manual": True}]},
            "steps": [
                {"wait": {"request": {"module": "queue", "action": "submit"}}},
                {"expect": [{"active": ["main", "support"]}, {"outcome": "waiting"}]},
                {"advance": 5},
                {"inject": "hangup", "at": 7.5},
                {"until": 7},
                {"expect": {"active": "support"}},
                {"run": True},
            ],
            "expect": [{"outcome": "abandoned"}, {"final": "gone"}, {"time": {"min": 7.5, "max": 7.5}}],
        }
    )
    assert result.passed, messages(result)
    by_path = {r.path: r.message for r in result.steps}
    assert by_path["$.steps[3]"] == "t=5: 'hangup' queued for t=7.5"


def test_wait_steps_stop_at_the_event_or_the_state():
    result = run(
        {
            "steps": [
                {"wait": {"event": "queue.submit.done"}},
                {"expect": [{"time": {"min": 1, "max": 1}}, {"active": "done"}]},
                {"wait": {"entered": "done"}},
                {"wait": {"event": "interaction.added"}},
            ],
            "expect": [{"final": "done"}],
        }
    )
    assert result.passed, messages(result)
    assert [r.message for r in result.steps if r.kind == "wait"] == [
        't=1: {"event": "queue.submit.done"} reached',
        't=1: {"entered": "done"} reached',
        't=1: {"event": "interaction.added"} reached',
    ]


def test_injecting_in_the_past_fails_with_the_time():
    result = run({"steps": [{"advance": 2}, {"inject": "custom.x", "at": 1}], "expect": [{"final": True}]})
    assert messages(result) == ["$.steps[1] t=2: cannot inject 'custom.x' at t=1: that time has passed"]


def test_a_wait_that_never_happens_fails_at_its_timeout():
    result = run({"steps": [{"wait": {"entered": "overflow"}, "timeout": 10}], "expect": [{"final": True}]})
    assert messages(result) == ['$.steps[0] t=1: {"entered": "overflow"} not reached by t=10']


def test_a_strategy_that_keeps_itself_busy_fails_the_step_instead_of_hanging(monkeypatch):
    monkeypatch.setattr(scenarios, "MAX_STEP_WORK", 50)
    ticking = document(
        """
  <state id="loop">
    <onentry><send event="'tick'" delay="'1ms'"/></onentry>
    <transition event="tick" target="loop"/>
  </state>""",
        initial="loop",
    )
    result = run_scenario(
        {"src-gen/IPD_Tick.scxml": ticking}, {"steps": [{"advance": 3600}], "expect": [{"errors": 0}]}
    )
    assert messages(result)[0] == "$.steps[0] t=0.049: gave up after 50 timers: the strategy keeps itself busy"


def test_the_same_scenario_gives_the_same_trace():
    scenario = {"seed": 7, "steps": [{"inject": "custom.ping", "at": 0.5}], "expect": [{"final": True}]}
    assert run(scenario).trace == run(scenario).trace


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "problem"),
    [
        ([], "$: a scenario is a JSON object, not list"),
        ({"expect": [{"final": True}], "stepz": []}, "$: unknown key(s) 'stepz'"),
        ({"expect": [{"outcome": "lost"}]}, "$.expect[0].outcome: 'lost' is not one of 'routed', 'terminated'"),
        ({"expect": [{"entered": "a", "final": True}]}, "$.expect[0]: an assertion needs exactly one of"),
        ({"expect": [{"entered": "a", "equals": 1}]}, "$.expect[0]: unknown key(s) for assertion 'entered': 'equals'"),
        ({"expect": [{"variable": "x"}]}, "$.expect[0]: a 'variable' assertion needs 'equals'"),
        ({"expect": [{"log": "re:(a+)+"}]}, "$.expect[0].log: nested quantifiers"),
        (
            {"expect": [{"request": {"module": "q", "action": "a", "attributes": {"to.dn": "re:(x*)*"}}}]},
            "$.expect[0].request.attributes.to.dn: nested quantifiers",
        ),
        (
            {"steps": [{"wait": {"request": {"module": "q", "action": "a", "attributes": {"x": "re:("}}}}]},
            "$.steps[0].wait.request.attributes.x: invalid regular expression",
        ),
        ({"steps": [{"advance": -1}], "expect": [{"final": True}]}, "$.steps[0].advance: -1 is less than the minimum"),
        (
            {"steps": [{"wait": {"entered": "x"}, "events": []}], "expect": [{"final": True}]},
            "$.steps[0].events: [] should be non-empty",
        ),
        ({"steps": [{"respond": "REQ1"}], "expect": [{"final": True}]}, "$.steps[0]: a 'respond' step needs 'events'"),
        (
            {"steps": [{"inject": "x", "at": 1, "after": 1}], "expect": [{"final": True}]},
            "$.steps[0]: give at most one of 'at'",
        ),
        (
            {"steps": [{"inject": "ping\ud800"}], "expect": [{"final": True}]},
            "$.steps[0]: an event name must be Unicode text (it has a lone surrogate)",
        ),
        (
            {"steps": [{"respond": "REQ1", "events": [{"name": "\udc00done"}]}], "expect": [{"final": True}]},
            "$.steps[0]: an event name must be Unicode text (it has a lone surrogate)",
        ),
        ({"steps": [{"expect": [{"errors": -1}]}]}, "$.steps[0].expect[0].errors: -1 is less than the minimum"),
        ({"steps": [{"run": True}]}, "$: a scenario needs at least one assertion"),
        ({"fakes": {"queue": {"delay": "1"}}, "expect": [{"final": True}]}, "$.fakes.queue.delay: '1' is not of type"),
        (
            {"fakes": "fakes/missing.json", "expect": [{"final": True}]},
            "$.fakes: no file 'fakes/missing.json' in the project",
        ),
    ],
)
def test_invalid_scenarios_are_refused_with_the_json_path(scenario, problem):
    problems = validate_scenario(scenario, FILES)
    assert any(p.startswith(problem) for p in problems), problems


def test_bad_json_and_invalid_scenarios_raise_with_every_problem():
    with pytest.raises(ScenarioError, match=r"not valid JSON \(Expecting value at line 1 column 1\)"):
        load_scenario("nope")
    with pytest.raises(ScenarioError) as info:
        load_scenario({"expect": [{"outcome": "x"}, {"final": 3}]})
    assert len(info.value.problems) == 2


def test_running_an_invalid_scenario_gives_a_failed_result_not_an_exception():
    result = run_scenario(FILES, b'{"expect": []}', source="scenarios/empty.json")
    assert not result.passed
    assert result.problems == ["$: a scenario needs at least one assertion ('expect' or an expect step)"]


# -- live traces (the simulator page's API) ---------------------------------------------------------


def test_assertions_can_be_checked_on_a_live_session_trace():
    live = OrsRun(FILES, entry=ENTRY, trace=True)
    live.run(max_time=0.5)  # the submit is still waiting
    summary = live.summary()
    results = check_assertions(live.records, [{"outcome": "waiting"}, {"active": "support"}, {"final": False}], summary)
    assert [r.passed for r in results] == [True, True, True]
    live.run()
    results = check_assertions(live.records, [{"outcome": "routed"}, {"final": "done"}], live.summary())
    assert [(r.path, r.passed) for r in results] == [("$.expect[0]", True), ("$.expect[1]", True)]


def test_a_live_run_becomes_a_scenario_that_replays_and_passes():
    manual = {"rules": [{"module": "queue", "action": "submit", "manual": True}]}
    live = OrsRun(FILES, entry=ENTRY, fakes=manual, trace=True)
    live.run()
    ops: list[dict] = []

    def apply(op: dict, action) -> None:  # what the simulator page's runtime logs
        action()
        ops.append({**op, "seq": live.records[-1]["seq"]})

    apply({"op": "advance", "seconds": 4}, lambda: live.group.advance(4))
    apply({"op": "inject", "kind": "udata_changed", "data": {"x": 1}, "delay": 0}, lambda: None)
    events = [{"name": "error.queue.submit", "data": {"error": "busy"}, "delay": 0}]
    apply({"op": "respond", "request": "REQ00001", "events": events}, lambda: live.respond("REQ00001", events))
    live.run()
    scenario = scenario_from_run(live.records, live.summary(), fakes=manual, inputs=ops, name="busy")
    assert scenario["steps"] == [{"until": 4.0}, {"respond": "REQ00001", "events": events}]
    assert scenario["description"] == "not replayed (no scenario step for them): inject udata_changed at t=4"
    assert scenario["expect"] == [
        {"outcome": "routed", "target": "7000"},
        {"final": "done"},
        {"entered": ["main", "wait", "lookup", "support", "overflow", "done"]},
        {"request": {"module": "queue", "action": "submit"}, "times": 1},
        {"request": {"module": "interaction", "action": "redirect"}, "times": 1},
        {"errors": 0},
        {"time": {"min": 4.1, "max": 4.1}},
    ]
    result = run(scenario)
    assert result.passed, messages(result)


def test_a_recorded_hangup_is_replayed_at_its_virtual_time():
    manual = {"rules": [{"module": "queue", "action": "submit", "manual": True}]}
    live = OrsRun(FILES, entry=ENTRY, fakes=manual, trace=True)
    live.run()
    live.inject("hangup", {}, 2.5)
    ops = [{"op": "inject", "kind": "hangup", "data": {}, "delay": 2.5, "seq": live.records[-1]["seq"]}]
    live.run()
    scenario = scenario_from_run(live.records, live.summary(), fakes=manual, inputs=ops)
    assert scenario["steps"] == [{"inject": "hangup", "at": 2.5}]
    assert scenario["expect"][:2] == [{"outcome": "abandoned"}, {"final": "gone"}]
    assert run(scenario).passed


# -- starter, demo and sample projects ---------------------------------------------------------------


def test_every_starter_and_demo_fakes_profile_and_scenario_is_valid():
    projects = {name: load_starter(name)[0] for name in STARTERS}
    projects["demo-vip"] = vip_routing_files(projects["basic"])
    checked = 0
    for name, files in projects.items():
        for path in sorted(p for p in files if p.startswith("fakes/") and p.endswith(".json")):
            assert validate_fakes(json.loads(files[path])) == [], f"{name}: {path}"
            checked += 1
        for path in project_scenarios(files):
            assert validate_scenario(json.loads(files[path]), files) == [], f"{name}: {path}"
            checked += 1
    assert checked >= 3  # basic: fakes + scenario; demo: vip fakes (+ the starter's)
    assert validate_fakes(json.loads(VIP_FAKES)) == []


def test_the_starter_scenarios_pass():
    files, entry = load_starter("basic")
    paths = project_scenarios(files)
    assert paths == ["scenarios/route-to-agent.json"]
    for path in paths:
        result = run_scenario(files, files[path], entry=entry, source=path)
        assert result.passed, messages(result)


def test_the_starter_falls_back_to_its_default_route_and_a_hangup_is_abandoned():
    files, entry = load_starter("basic")
    no_agent = {
        "fakes": {"queue": {"available": False}},
        "expect": [
            {"entered": "MainWorkflow.DefaultRoute"},
            {"outcome": "routed", "target": "7000", "via": "ixn:redirect"},
            {"final": "_composer_global_exit"},
        ],
    }
    hangup = {
        "fakes": {"rules": [{"module": "queue", "action": "submit", "manual": True}]},
        "steps": [{"wait": {"request": {"module": "queue", "action": "submit"}}}, {"inject": "hangup", "after": 3}],
        "expect": [{"outcome": "abandoned"}, {"not_entered": "MainWorkflow.Exit1"}, {"time": {"max": 3}}],
    }
    for scenario in (no_agent, hangup):
        result = run_scenario(files, scenario, entry=entry)
        assert result.passed, messages(result)


def test_the_demo_vip_project_greets_and_routes_a_vip():
    starter, entry = load_starter("basic")
    files = vip_routing_files(starter)
    result = run_scenario(
        files,
        {
            "fakes": "fakes/vip.json",
            "expect": [
                {"entered": ["MainWorkflow.CheckVip", "MainWorkflow.GreetVip", "MainWorkflow.RouteToVipAgent"]},
                {"request": {"module": "queue", "action": "submit", "attributes": {"targets": "re:VIP Support"}}},
                {"outcome": "routed", "target": "7101@SIPSwitch.DN"},
            ],
        },
        entry=entry,
    )
    assert result.passed, messages(result)


@pytest.fixture(scope="module")
def sample(shared_dir: Path) -> Path:
    return shared_dir / "ors-samples" / "crd-gvp-wf"


def test_a_scenario_on_the_real_sample_project(sample):
    result = run_scenario(
        load_project(sample),
        {
            "expect": [
                {
                    "request": {
                        "module": "session",
                        "action": "fetch",
                        "attributes": {"srcexpr": "re:getDetailByPhoneKey"},
                    }
                },
                {"request": {"module": "dialog", "action": "start"}, "times": 1},
                {"entered": ["MainWorkflow.playMain", "MainWorkflow.TargetBySkill1"]},
                {"outcome": "routed", "target": "7001@SIPSwitch.DN"},
                {"final": "_composer_global_exit"},
                {"errors": 0},
            ]
        },
    )
    assert result.passed, messages(result)


# -- manage.py scenario -----------------------------------------------------------------------------


@pytest.fixture()
def project_dir(tmp_path: Path) -> Path:
    for path, data in FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "a-pass.json").write_text(json.dumps({"name": "routes", "expect": [{"outcome": "routed"}]}))
    (scenarios / "b-fail.json").write_text(json.dumps({"name": "vip", "expect": [{"entered": "vip"}]}))
    return tmp_path


def test_the_command_runs_every_scenario_reports_verdicts_and_exits_1_on_a_failure(project_dir, tmp_path, capsys):
    junit = tmp_path / "junit.xml"
    with pytest.raises(SystemExit) as info:
        call_command("scenario", str(project_dir), "--junit", str(junit), "--coverage")
    assert info.value.code == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "PASS routes (scenarios/a-pass.json): 1 assertion(s), outcome routed, t=1s"
    assert out[1] == "FAIL vip (scenarios/b-fail.json)"
    assert out[2].startswith("  $.expect[0] entered: state 'vip' entered never happened")
    assert out[3] == "1 passed, 1 failed"
    assert out[4].startswith("coverage of src-gen/IPD_Triage.scxml over 2 run(s): states 5/8 (62.5%)")
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    failure = suite.findall("testcase")[1].find("failure")
    assert failure is not None and failure.get("message", "").startswith("$.expect[0] entered: state 'vip'")


def test_the_command_runs_only_the_given_scenarios_and_exits_0_when_they_pass(project_dir, capsys):
    call_command("scenario", str(project_dir), "scenarios/a-pass.json")
    assert capsys.readouterr().out.splitlines()[-1] == "1 passed, 0 failed"


def test_the_command_reads_a_zipped_project(project_dir, tmp_path_factory, capsys):
    archive = shutil.make_archive(str(tmp_path_factory.mktemp("zips") / "triage"), "zip", root_dir=project_dir)
    call_command("scenario", archive, "scenarios/a-pass.json")
    assert capsys.readouterr().out.splitlines() == [
        "PASS routes (scenarios/a-pass.json): 1 assertion(s), outcome routed, t=1s",
        "1 passed, 0 failed",
    ]


def test_the_command_refuses_a_project_without_scenarios(tmp_path):
    (tmp_path / "x.scxml").write_bytes(TRIAGE)
    with pytest.raises(CommandError, match="no scenarios"):
        call_command("scenario", str(tmp_path))


def test_the_suite_report_has_every_result_and_the_union_coverage(project_dir):
    files = load_project(project_dir)
    report = suite_report(files, run_project_scenarios(files))
    assert (report["passed"], report["failed"]) == (1, 1)
    assert [r["name"] for r in report["results"]] == ["routes", "vip"]
    assert "trace" not in report["results"][0]
    assert report["coverage"]["runs"] == 2
    assert {s["id"] for s in report["coverage"]["states"]["uncovered"]} == {"vip", "overflow", "gone"}
    json.dumps(report)  # JSON-safe for the page


def test_junit_marks_invalid_scenarios_as_errors():
    bad = run_scenario(FILES, {"expect": []}, source="scenarios/bad.json")
    suite = ET.fromstring(junit_xml([bad]))
    assert (suite.get("failures"), suite.get("errors")) == ("0", "1")


def test_a_variable_assertion_tells_true_from_1():
    fakes = {"interaction": {"udata": {"segment": 1}}}
    assert run({"fakes": fakes, "expect": [{"variable": "segment", "equals": 1}]}).passed
    result = run({"fakes": fakes, "expect": [{"variable": "segment", "equals": True}]})
    assert messages(result) == ["$.expect[0] segment = 1, expected true"]
