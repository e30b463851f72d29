"""When the interaction leaves the strategy, what ran for it ends as on ORS; an ended session's
requests are closed; "no agent" stays queued until the timeout or the end of the call (issue 10)."""

from __future__ import annotations

import pytest

from simulator.runners.driver import OrsRun

from .strategies import block_strategy, events, run, value

PLAYING_THEN_REDIRECT = """
    <onentry>
      <dialog:playsound requestid="App_B['music']" interactionid="system.InteractionID" type="'music'"/>
      <ixn:redirect requestid="App_B['requestid']" interactionid="system.InteractionID" to="'7001'" detach="true"/>
    </onentry>
    <transition event="interaction.deleted" target="ok"/>
"""

SUBMIT = """
    <onentry>
      <queue:submit requestid="App_B['requestid']" {timeout}>
        <queue:targets><queue:target name="'Sales'" type="agentgroup"/></queue:targets>
      </queue:submit>
    </onentry>
    <transition event="queue.submit.done" target="ok"/>
    <transition event="error.queue.submit" target="failed"><assign location="out.t" expr="__orsNow()"/></transition>
"""


def test_a_redirected_call_ends_its_running_treatment_before_the_strategy_hears_it_left():
    r = run(block_strategy(PLAYING_THEN_REDIRECT))
    assert r.session.final_state == "ok"
    names = events(r)
    assert names.index("error.dialog.playsound") < names.index("interaction.redirect.done")
    assert names.index("interaction.redirect.done") < names.index("interaction.deleted")
    music = next(q for q in r.summary()["requests"] if q["action"] == "playsound")
    assert music["status"] == "cancelled"
    assert music["responses"][-1]["data"]["error"] == "cancelled"


def test_a_hang_up_closes_a_queued_submit_and_ends_the_treatment():
    doc = block_strategy(SUBMIT.format(timeout=""))
    r = run(doc, {"queue": {"available": False}, "inject": [{"event": "hangup", "at": 30}]})
    submit = r.summary()["requests"][0]
    assert submit["status"] == "cancelled" and [e["name"] for e in submit["responses"]] == ["queue.submit.requestid"]


def test_no_agent_and_no_timeout_stays_queued_until_the_call_ends():
    r = OrsRun({"main.scxml": block_strategy(SUBMIT.format(timeout=""))}, fakes={"queue": {"available": False}})
    r.run(max_time=3600)
    assert r.group.clock.now < 3600 and r.session.status == "running"  # idle: nothing more will come
    [submit] = r.pending_requests()
    assert submit["status"] == "pending"
    assert r.summary()["outcome"] == {"status": "waiting", "for": [f"queue:submit {submit['id']} (pending)"]}
    r.inject("hangup")
    r.run()
    assert r.summary()["requests"][0]["status"] == "cancelled"


def test_no_agent_with_a_timeout_fails_at_the_timeout_and_the_request_stays_queued():
    r = run(block_strategy(SUBMIT.format(timeout='timeout="20"')), {"queue": {"available": False}})
    assert r.session.final_state == "failed" and value(r, "out.t") == 20
    # clearontimeout false: URS keeps the request; the session ended, so it is closed
    assert r.summary()["requests"][0]["status"] == "closed"


def test_answering_a_request_of_an_ended_session_says_it_is_closed():
    manual = {"rules": [{"module": "session", "action": "fetch", "manual": True}]}
    doc = block_strategy(
        """
    <onentry><session:fetch requestid="App_B['requestid']" srcexpr="'http://api.example.com/x'"/></onentry>
    <transition target="ok"/>
    """
    )
    r = run(doc, manual)
    assert r.session.final_state == "ok"
    [request] = r.summary()["requests"]
    assert request["status"] == "closed"
    assert r.pending_requests() == []
    with pytest.raises(ValueError, match=f"request {request['id']} is closed: the session has ended"):
        r.respond(request["id"], [{"name": "session.fetch.done"}])
