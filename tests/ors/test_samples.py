"""The real Composer project (``ors-samples/crd-gvp-wf``) runs end to end with the fakes.

Default fakes: an inbound voice call on routing point 9000.  The workflow then fetches the caller
profile (REST, 200 ``{}``), plays the main GVP application, sets the PSAP skill and submits to
``Loan > 1`` with ``route="true"``: the agent found by the fake routes the call.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.ors.project import find_entry, load_project
from simulator.runners.driver import OrsRun

from .strategies import entered, events

DEFAULT_PATH = [
    "MainWorkflow.Entry1",
    "MainWorkflow.OriginateDN",
    "MainWorkflow.restGetProfile",
    "MainWorkflow.emsParseApiResult",
    "MainWorkflow.bchIsVIP",
    "MainWorkflow.emsSetMainParam",
    "MainWorkflow.UserData1",
    "MainWorkflow.playMain",
    "MainWorkflow.SetPSAP1Skill",
    "MainWorkflow.TargetBySkill1",
    "MainWorkflow.Exit1",
    "MainWorkflow._reserved_Exit1_final",
    "_composer_global_exit",
]


@pytest.fixture(scope="module")
def project(shared_dir: Path) -> dict[str, bytes]:
    return load_project(shared_dir / "ors-samples" / "crd-gvp-wf")


def run(project: dict[str, bytes], fakes: dict | None = None) -> OrsRun:
    r = OrsRun(project, fakes=fakes, trace=True)
    r.run()
    return r


def blocks(r: OrsRun) -> list[str]:
    """The Composer blocks entered (workflow states, without the _reserved_ internals)."""
    return [
        s
        for s in entered(r)
        if s in DEFAULT_PATH or (s.startswith("MainWorkflow.") and "_reserved_" not in s and "_composer_" not in s)
    ]


def script_errors(r: OrsRun) -> list[dict]:
    return [e for e in r.session.errors if str(e.get("event", "")).startswith(("error.script", "error.execution"))]


def test_the_entry_is_the_ipd(project):
    assert find_entry(project) == "src-gen/IPD_default_MainWorkflow.scxml"


def test_every_sample_ipd_runs_to_its_end_and_routes_to_the_default_agent(shared_dir, project):
    ipds = sorted(p.name for p in (shared_dir / "ors-samples" / "crd-gvp-wf" / "src-gen").glob("IPD_*.scxml"))
    assert ipds == ["IPD_default_MainWorkflow.scxml"]
    r = run(project)
    summary = r.summary()
    assert summary["status"] == "final"
    assert summary["final_state"] == "_composer_global_exit"
    assert summary["errors"] == []
    assert blocks(r) == DEFAULT_PATH
    assert summary["outcome"] == {"status": "routed", "target": "7001@SIPSwitch.DN", "via": "queue:submit"}
    assert [(q["module"], q["action"], q["status"]) for q in summary["requests"]] == [
        ("session", "fetch", "answered"),
        ("dialog", "start", "answered"),
        ("queue", "submit", "answered"),
    ]


def test_the_start_sequence_is_interaction_added_then_onrouterequest(project):
    r = run(project)
    assert events(r)[:3] == ["interaction.added", "interaction.onrouterequest", "Entry1.done"]
    assert r.session.datamodel.evaluate("_data.system.context.InteractionID") == "006502A8E4B1C002"
    assert r.session.datamodel.evaluate("_data.system.context.ThisDN") == "9000"


def test_the_submit_carries_the_skill_target_and_the_fetch_its_query(project):
    r = run(project)
    fetch, start, submit = r.summary()["requests"]
    assert fetch["attributes"]["srcexpr"].endswith("getDetailByPhoneKey")
    assert fetch["attributes"]["headers"] == {"api_key": "608608ed442341e78183358ace86971d"}
    assert [c["attributes"]["name"] for c in fetch["children"]] == ["number", "ivr_menu"]
    assert start["children"][0]["attributes"] == {"name": "APP_URI", "expr": start["children"][0]["attributes"]["expr"]}
    assert start["children"][0]["attributes"]["expr"].endswith("/src-gen/Main.vxml")
    assert submit["attributes"]["route"] is True and submit["attributes"]["timeout"] == 10
    done = submit["responses"][-1]
    assert done["name"] == "queue.submit.done"
    assert done["data"]["targetobjectselected"] == "?:Loan > 1@Stat_Server_DC1.GA"
    assert done["data"]["resource"]["agent"] == "Agent001"


def test_a_profile_routing_to_a_specific_agent_changes_the_target(project):
    agent = {"agent": "Sales42", "place": "P42", "dn": "4242", "switch": "SW2", "statserver": "Stat_Server_DC1"}
    r = run(project, {"rules": [{"module": "queue", "action": "submit", "params": {"agent": agent}}]})
    assert r.summary()["outcome"] == {"status": "routed", "target": "4242@SW2.DN", "via": "queue:submit"}
    assert r.session.datamodel.evaluate("system.LastTargetComponentSelected") == "Sales42@Stat_Server_DC1.A"


def test_a_failing_submit_falls_back_to_the_agent_group_block_then_exits(project):
    fakes = {"rules": [{"module": "queue", "action": "submit", "error": {"error": "timeout", "description": "none"}}]}
    r = run(project, fakes)
    path = blocks(r)
    assert path[path.index("MainWorkflow.TargetBySkill1") + 1 :] == [
        "MainWorkflow.TargetByAG",
        "MainWorkflow.Exit1",
        "MainWorkflow._reserved_Exit1_final",
        "_composer_global_exit",
    ]
    summary = r.summary()
    assert summary["outcome"]["status"] == "terminated"
    assert [q["responses"][-1]["name"] for q in summary["requests"][-2:]] == ["error.queue.submit"] * 2
    assert script_errors(r) == []


def test_the_agent_group_block_redirects_to_the_selected_agent_when_the_skill_submit_times_out(project):
    # The first submit (skill) times out, the second (agent group, route=false) finds an agent:
    # Composer's Target block then redirects the call itself with ixn:redirect detach=true.
    fakes = {
        "rules": [{"module": "queue", "action": "submit", "match": {"route": True}, "params": {"available": False}}]
    }
    r = run(project, fakes)
    summary = r.summary()
    assert [(q["module"], q["action"]) for q in summary["requests"]][-2:] == [
        ("queue", "submit"),
        ("interaction", "redirect"),
    ]
    redirect = summary["requests"][-1]
    assert redirect["attributes"]["detach"] is True
    assert redirect["attributes"]["from"] == "9000"
    assert redirect["attributes"]["to"]["dn"] == "7001"
    assert summary["outcome"] == {"status": "routed", "target": "Agent001", "via": "ixn:redirect"}
    assert summary["final_state"] == "_composer_global_exit"
    assert r.group.clock.now == pytest.approx(2.25 + 10 + 1.0 + 0.1, abs=0.001)


def test_a_caller_hanging_up_during_the_dialog_ends_the_session_as_abandoned(project):
    fakes = {"inject": [{"on": {"module": "dialog", "action": "start"}, "after": 0.5, "event": "hangup"}]}
    r = run(project, fakes)
    summary = r.summary()
    assert summary["outcome"] == {"status": "abandoned"}
    assert summary["final_state"] == "_composer_global_exit"
    dialog = summary["requests"][1]
    assert (dialog["action"], dialog["status"], dialog["responses"][-1]["data"]["error"]) == (
        "start",
        "cancelled",
        "cancelled",
    )
    assert "interaction.deleted" in events(r)
    assert not any(q["module"] == "queue" for q in summary["requests"])
    assert script_errors(r) == []


def test_another_dnis_skips_the_rest_call(project):
    r = run(project, {"interaction": {"dnis": "5000", "routepoint": "5000"}})
    path = blocks(r)
    assert "MainWorkflow.restGetProfile" not in path
    assert path[:3] == ["MainWorkflow.Entry1", "MainWorkflow.OriginateDN", "MainWorkflow.emsSetMainParam"]
    assert r.summary()["outcome"]["status"] == "routed"


def test_a_vip_caller_from_the_rest_api_plays_the_vip_application(project):
    body = {
        "contact": {"firstname": "A", "lastname": "B", "company": "C", "blacklist_type": "none", "member_type": "VIP"}
    }
    fakes = {
        "http": {"responses": [{"url": "https://wizdemo-api.wiz-solution.com/", "body": body}]},
        "dialog": {"udata": {"gvp_exitmenu_vip": "xfer"}},
    }
    r = run(project, fakes)
    path = blocks(r)
    for block in (
        "MainWorkflow.emsSetVipParam",
        "MainWorkflow.UserDataVip",
        "MainWorkflow.playVip",
        "MainWorkflow.emsExitVip",
        "MainWorkflow.bchExitVip",
        "MainWorkflow.SetPSAP1Skill",
    ):
        assert block in path
    start = next(q for q in r.summary()["requests"] if q["action"] == "start")
    assert start["children"][0]["attributes"]["expr"].endswith("/VIP.vxml")
    assert r.summary()["outcome"]["status"] == "routed"


def test_a_blacklisted_caller_is_disconnected(project):
    body = '{"contact": {"blacklist_type": "blacklist", "member_type": "general"}}'
    r = run(project, {"http": {"responses": [{"url": "re:getDetailByPhoneKey", "body": body}]}})
    assert "MainWorkflow.Disconnect2" in blocks(r)
    summary = r.summary()
    assert (summary["requests"][-1]["action"], summary["requests"][-1]["status"]) == ("terminate", "closed")
    assert summary["outcome"] == {"status": "terminated", "reason": "ixn:terminate"}


def test_a_rest_failure_takes_the_error_branch_to_the_blacklist_check(project):
    r = run(project, {"http": {"responses": [{"url": "re:getDetailByPhoneKey", "status": 503}]}})
    path = blocks(r)
    assert path[path.index("MainWorkflow.restGetProfile") + 1] == "MainWorkflow.emsCheckBlacklist"
    assert r.session.datamodel.evaluate("httpStatusCode") == "503"
    assert r.summary()["outcome"]["status"] in {"routed", "terminated"}


def test_a_consult_call_attaches_its_parent_then_starts_the_workflow_a_second_later(project):
    r = run(project, {"interaction": {"type": "consult", "parentid": "PARENT01"}})
    summary = r.summary()
    attach = summary["requests"][0]
    assert (attach["module"], attach["action"], attach["attributes"]["interactionid"]) == (
        "interaction",
        "attach",
        "PARENT01",
    )
    assert "PARENT01" in r.platform.interactions
    assert blocks(r) == DEFAULT_PATH
    assert summary["virtual_time"] == pytest.approx(0.1 + 1.0 + 3.25)
    assert summary["outcome"]["status"] == "routed"


def test_an_email_is_routed_then_stopped_by_the_exit_block(project):
    r = run(project, {"interaction": {"media": "email"}})
    summary = r.summary()
    assert summary["outcome"]["status"] == "routed"
    terminate = summary["requests"][-1]
    assert (terminate["action"], terminate["attributes"]["reason"]) == ("terminate", "Auto-stop interaction")
    assert [x["name"] for x in terminate["responses"]] == ["interaction.terminate.done"]
    assert "MainWorkflow._reserved_Exit1_stop_ixn" in entered(r)
    assert summary["final_state"] == "_composer_global_exit"


def test_an_unexpected_error_while_waiting_ends_the_session_through_the_ipd_handler(project):
    # The application leg's catch-all stores the event (storeUnhandledEvent) and the event-handler
    # leg finds that same _event object in the list in the same microstep, then raises
    # application.exit: this only works if both parallel regions see one _event object.
    fakes = {
        "rules": [{"module": "queue", "action": "submit", "manual": True}],
        "inject": [{"at": 5, "event": "error.custom.failure", "data": {"description": "boom"}}],
    }
    r = run(project, fakes)
    assert r.session.final_state == "_composer_global_exit"
    assert r.session.datamodel.evaluate("_data.system.context.uncaughtApplicationEvents.length") >= 1
    assert (
        r.session.datamodel.evaluate(
            "_data.system.context.uncaughtApplicationEvents[_data.system.context.uncaughtApplicationEvents.length - 1]"
            ".name"
        )
        == "error.custom.failure"
    )
    assert r.summary()["requests"][-1]["status"] == "closed"
