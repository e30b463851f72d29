"""Queue module: submit/cancel/query/update and the ``_genesys.queue`` surface (ors-core.md section 4)."""

from __future__ import annotations

import pytest

from simulator.ors.extensions import queue
from simulator.scxml.errors import DocumentError

from .strategies import block_strategy, events, run, value

SUBMIT = """
    <onentry>
      <queue:submit route="false" requestid="App_B['requestid']" interactionid="system.InteractionID"
          queue="'VQ_Sales'" timeout="toNumber('30')" priority="5" clearontimeout="true" ordertype="'max'"
          orderstat="'StatAgentLoading'">
        <dialog:runtreatments><dialog:start type="'applid'"><param name="APP_URI" expr="'x.vxml'"/></dialog:start>
        </dialog:runtreatments>
        <queue:targets>
          <queue:target name="'AG_Sales'" type="agentgroup" statserver="'Stat_Server'"/>
          <queue:targetid expr="'7001@SW.DN'"/>
        </queue:targets>
      </queue:submit>
    </onentry>
    <transition event="queue.submit.requestid" cond="_event.data.requestid==App_B['requestid']">
      <assign location="out.ack" expr="_event.data"/>
    </transition>
    <transition event="queue.submit.done" cond="_event.data.requestid==App_B['requestid']" target="ok">
      <assign location="out.done" expr="_event.data"/>
    </transition>
    <transition event="error.queue.submit" cond="_event.data.requestid==App_B['requestid']" target="failed">
      <assign location="out.error" expr="_event.data"/>
    </transition>
"""
HELPERS = "function toNumber(x) { return Number(x); }"


def test_a_submit_writes_its_request_id_then_reports_the_selected_agent():
    r = run(block_strategy(SUBMIT, HELPERS))
    assert r.session.final_state == "ok"
    ack, done = value(r, "out.ack"), value(r, "out.done")
    request = r.summary()["requests"][0]
    assert ack == {"requestid": request["id"], "interactionid": "006502A8E4B1C002"}
    assert done == {
        "requestid": request["id"],
        "interactionid": "006502A8E4B1C002",
        "targetselected": "7001@SIPSwitch.DN",
        "targetcomponentselected": "Agent001@Stat_Server.A",
        "targetobjectselected": "7001@SW.DN",
        "vqselected": "VQ_Sales",
        "resource": {
            "type": "A",
            "dn": "7001",
            "switch": "SIPSwitch",
            "agent": "Agent001",
            "place": "Place001",
            "vq": "VQ_Sales",
        },
    }
    assert value(r, "App_B['requestid']") == request["id"]
    assert request["attributes"]["priority"] == 5 and request["attributes"]["timeout"] == 30
    assert request["attributes"]["route"] is False and request["attributes"]["clearontimeout"] is True
    assert r.group.clock.now == pytest.approx(1.0)


def test_the_evaluated_targets_are_kept_with_the_request():
    r = run(block_strategy(SUBMIT, HELPERS))
    request = r.platform.requests[r.summary()["requests"][0]["id"]]
    assert queue.target_strings(request) == ["7001@SW.DN", "AG_Sales@Stat_Server.GA"]
    treatments = request.child("runtreatments")
    assert treatments["namespace"] == "dialog" and treatments["children"][0]["tag"] == "start"


def test_a_submit_times_out_when_no_agent_is_available():
    r = run(block_strategy(SUBMIT, HELPERS), {"queue": {"available": False}})
    assert r.session.final_state == "failed"
    assert value(r, "out.error.error") == "timeout"
    assert r.group.clock.now == pytest.approx(30.0)


def test_a_submit_timeout_shorter_than_the_agent_delay_fails():
    r = run(block_strategy(SUBMIT, HELPERS), {"queue": {"delay": 45}})
    assert r.session.final_state == "failed"


def test_an_invalid_attribute_value_answers_the_error_event():
    bad = SUBMIT.replace("ordertype=\"'max'\"", "ordertype=\"'biggest'\"")
    r = run(block_strategy(bad, HELPERS))
    assert r.session.final_state == "failed"
    assert value(r, "out.error.error") == "invalidattribute"
    assert "ordertype" in value(r, "out.error.description")


def test_an_unknown_target_type_is_a_definition_error():
    bad = SUBMIT.replace('type="agentgroup"', 'type="team"')
    with pytest.raises(DocumentError, match="attribute 'type' has an invalid value 'team'"):
        run(block_strategy(bad, HELPERS))


def test_cancel_ends_the_live_submit_with_cancel_done_and_no_submit_done():
    block = """
    <onentry>
      <queue:submit requestid="App_B['requestid']" queue="'VQ'"><queue:targets>
        <queue:target name="'AG'" type="agentgroup"/></queue:targets></queue:submit>
    </onentry>
    <transition event="queue.submit.requestid" cond="_event.data.requestid==App_B['requestid']">
      <queue:cancel requestid="App_B['requestid']"/>
    </transition>
    <transition event="queue.cancel.done" cond="_event.data.requestid==App_B['requestid']" target="ok"/>
    <transition event="queue.submit.done" target="failed"/>
    """
    r = run(block_strategy(block))
    assert r.session.final_state == "ok"
    submit, cancel = r.summary()["requests"]
    assert (submit["status"], cancel["status"]) == ("cancelled", "answered")
    assert "queue.submit.done" not in events(r)


def test_cancel_by_interaction_and_queue_cancels_the_requests_in_that_queue():
    block = """
    <onentry>
      <queue:submit requestid="App_B.a" queue="'VQ1'"><queue:targets><queue:targetid expr="'x@s.A'"/>
        </queue:targets></queue:submit>
      <queue:submit requestid="App_B.b" queue="'VQ2'"><queue:targets><queue:targetid expr="'y@s.A'"/>
        </queue:targets></queue:submit>
      <queue:cancel interactionid="system.InteractionID" queue="'VQ1'"/>
    </onentry>
    <transition event="queue.cancel.done" cond="_event.data.requestid==App_B.a" target="ok"/>
    """
    r = run(block_strategy(block))
    assert r.session.final_state == "ok"
    statuses = [q["status"] for q in r.summary()["requests"]]
    assert statuses[:2] == ["cancelled", "closed"]  # the session ended with VQ2 still queued


def test_query_reports_priority_position_and_time_waited():
    block = """
    <onentry>
      <queue:submit requestid="App_B['requestid']" priority="7"><queue:targets><queue:targetid expr="'x@s.A'"/>
        </queue:targets></queue:submit>
      <send event="'later'" delay="'0.5s'"/>
    </onentry>
    <transition event="later"><queue:query requestid="App_B['requestid']"/></transition>
    <transition event="queue.query.done" target="ok"><assign location="out.q" expr="_event.data"/></transition>
    """
    r = run(block_strategy(block))
    assert r.session.final_state == "ok"
    q = value(r, "out.q")
    assert (q["priority"], q["positioninqueue"], q["requestid"]) == (7, 1, value(r, "App_B['requestid']"))
    assert q["invqwaittime"] == q["Invqwaittime"] == 0


def test_update_changes_the_priority_of_the_live_submit():
    block = """
    <onentry>
      <queue:submit requestid="App_B['requestid']" priority="1"><queue:targets><queue:targetid expr="'x@s.A'"/>
        </queue:targets></queue:submit>
      <queue:update requestid="App_B['requestid']" priority="9"/>
    </onentry>
    <transition event="queue.update.done" target="ok"/>
    """
    r = run(block_strategy(block))
    assert r.session.final_state == "ok"
    assert r.summary()["requests"][0]["attributes"]["priority"] == 9


def test_a_rule_answers_with_its_own_events_and_delay():
    fakes = {
        "rules": [
            {"module": "queue", "action": "submit", "match": {"queue": "VQ_Other"}, "params": {"delay": 99}},
            {
                "module": "queue",
                "action": "submit",
                "match": {"targets": "re:AG_Sales"},
                "events": [{"name": "queue.submit.done", "data": {"targetselected": "555@X.DN"}, "delay": 4}],
            },
        ]
    }
    r = run(block_strategy(SUBMIT, HELPERS), fakes)
    assert r.session.final_state == "ok"
    assert value(r, "out.done.targetselected") == "555@X.DN"
    assert r.group.clock.now == pytest.approx(4.0)
    assert r.summary()["requests"][0]["answered_by"] == "rule:1"


def test_the_queue_functions_and_enumerations_exist_and_do_not_throw():
    block = """
    <onentry><script>
      var q = _genesys.queue;
      out.rtypes = [q.rType.RouteTypeUnknown, q.rType.RouteTypeDefault, q.rType.RouteTypeGetFromDN];
      out.ow = [q.overwriteType.UseANI, _genesys.voice.overwriteType.UseDNIS];
      out.cap = [q.usecapcond.Never, q.usecapcond.Only, q.usecapcond.OnStatError];
      q.reserveTarget('0', 'A@S.A', 10); q.checkAgentState(true); q.priorityTuning('0', true, false, true);
      q.setIdealAgent('0', 'A1'); q.setDefaultDestination('0', '7000@SW.DN', 'VQ'); q.excludeAgents('A2');
      q.setTargetThreshold('x'); q.useCapacityRule('r'); q.clearTargets();
      out.key = q.getIntegerKey('k');
      out.cct = q.cCTExtractTargets('0', 'Stat', 'A1, A2@S.GA');
    </script></onentry>
    <transition target="ok"/>
    """
    r = run(block_strategy(block))
    assert r.session.final_state == "ok"
    assert value(r, "out.rtypes") == [0, 1, 11]
    assert value(r, "out.ow") == ["UseANI", "UseDNIS"]
    assert value(r, "out.cap") == [0, 1, 2]
    assert value(r, "out.key") == 0
    assert value(r, "out.cct") == "A1@Stat.A,A2@S.GA"
    calls = [c["call"] for c in r.platform.calls]
    assert calls == [
        "queue.reserveTarget",
        "queue.checkAgentState",
        "queue.priorityTuning",
        "queue.setIdealAgent",
        "queue.setDefaultDestination",
        "queue.excludeAgents",
        "queue.setTargetThreshold",
        "queue.useCapacityRule",
        "queue.clearTargets",
    ]
    assert r.platform.calls[0]["args"] == ["0", "A@S.A", 10]


def test_every_declared_js_member_exists_in_the_surface():
    r = run(block_strategy("<transition target='ok'/>"))
    for member in queue.MODULE.js_members:
        assert value(r, f"typeof _genesys.queue.{member.name}") != "undefined", member.name


def test_without_clearontimeout_the_request_stays_and_the_agent_still_arrives():
    block = """
    <onentry><queue:submit requestid="App_B['requestid']" timeout="2" clearontimeout="false">
      <queue:targets><queue:targetid expr="'x@s.A'"/></queue:targets></queue:submit></onentry>
    <transition event="error.queue.submit"><assign location="out.timedout" expr="true"/></transition>
    <transition event="queue.submit.done" target="ok"/>
    """
    r = run(block_strategy(block), {"queue": {"delay": 5}})
    assert r.session.final_state == "ok"
    assert value(r, "out.timedout") is True
    assert r.group.clock.now == pytest.approx(5.0)
    assert [x["name"] for x in r.summary()["requests"][0]["responses"]] == [
        "queue.submit.requestid",
        "error.queue.submit",
        "queue.submit.done",
    ]
