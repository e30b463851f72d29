"""Every declared timeout attribute is honoured (issue 10): an answer slower than the timeout is an
``error.<module>.<action> {error: 'timeout'}`` at that virtual time, and the late answer never comes."""

from __future__ import annotations

from typing import Any

from .strategies import NAMESPACES, block_strategy, run, value


def timed(element: str, error: str, done: str, top: str = "") -> bytes:
    return block_strategy(
        f"""
    <onentry>{element}</onentry>
    <transition event="{error}" target="failed">
      <assign location="out.e" expr="_event.data"/><assign location="out.t" expr="__orsNow()"/></transition>
    <transition event="{done}" target="ok"><assign location="out.t" expr="__orsNow()"/></transition>
    """
    )


def outcome(r: Any) -> tuple[str | None, Any, float]:
    return r.session.final_state, value(r, "out.e && out.e.error"), value(r, "out.t")


def test_a_fetch_slower_than_its_timeout_fails_with_timeout_at_that_time():
    fetch = '<session:fetch requestid="App_B[\'requestid\']" srcexpr="\'http://api.example.com/slow\'" timeout="2"/>'
    slow = {"http": {"responses": [{"url": "http://api.example.com/slow", "delay": 5}]}}
    r = run(timed(fetch, "error.session.fetch", "session.fetch.done"), slow)
    assert outcome(r) == ("failed", "timeout", 2.0)
    [request] = r.summary()["requests"]
    assert [e["name"] for e in request["responses"]] == ["error.session.fetch"]  # the late answer never came
    fast = {"http": {"responses": [{"url": "http://api.example.com/slow", "delay": 1}]}}
    assert outcome(run(timed(fetch, "error.session.fetch", "session.fetch.done"), fast))[0] == "ok"


def test_a_redirect_slower_than_its_timeout_fails_with_timeout():
    redirect = (
        '<ixn:redirect requestid="App_B[\'requestid\']" interactionid="system.InteractionID" to="\'7001\'"'
        ' timeout="3"/>'
    )
    slow = {"interaction_actions": {"delay": 10}}
    r = run(timed(redirect, "error.interaction.redirect", "interaction.redirect.done"), slow)
    assert outcome(r) == ("failed", "timeout", 3.0)
    assert r.summary()["outcome"]["status"] != "routed"


def test_a_submit_timeout_shorter_than_the_agent_wait_fails_with_timeout():
    submit = (
        '<queue:submit requestid="App_B[\'requestid\']" timeout="10" clearontimeout="true">'
        '<queue:targets><queue:target name="\'Sales\'" type="agentgroup"/></queue:targets></queue:submit>'
    )
    r = run(timed(submit, "error.queue.submit", "queue.submit.done"), {"queue": {"delay": 30}})
    assert outcome(r) == ("failed", "timeout", 10.0)


def test_a_dialog_input_start_timeout_is_when_no_input_fails():
    collect = (
        '<dialog:playandcollect requestid="App_B[\'requestid\']" interactionid="system.InteractionID">'
        '<dialog:prompts type="ann"><dialog:prompt text="\'Your account\'"/></dialog:prompts>'
        '<dialog:input start_timeout="7" max_digits="4"/></dialog:playandcollect>'
    )
    r = run(timed(collect, "error.dialog.playandcollect", "dialog.playandcollect.done"), {"dialog": {"digits": ""}})
    assert outcome(r) == ("failed", "timeout", 8.0)  # 1 s of prompt, then 7 s without a digit


def test_an_elasticconnector_timeout_is_in_milliseconds():
    doc = block_strategy(
        """
    <onentry><es:createdoc requestid="App_B['requestid']" index="'calls'" type="'doc'" doc="({a: 1})"
                           timeout="500"/></onentry>
    <transition event="error.elasticconnector.createdoc" target="failed">
      <assign location="out.e" expr="_event.data"/><assign location="out.t" expr="__orsNow()"/></transition>
    <transition event="elasticconnector.createdoc.done" target="ok"><assign location="out.t" expr="__orsNow()"/>
    </transition>
    """
    ).replace(
        NAMESPACES.encode(), (NAMESPACES + ' xmlns:es="http://www.genesyslab.com/modules/elasticconnector"').encode()
    )
    r = run(doc, {"elasticconnector": {"delay": 2}})
    assert outcome(r) == ("failed", "timeout", 0.5)
    assert outcome(run(doc, {"elasticconnector": {"delay": 0.1}}))[0] == "ok"


def test_a_manual_request_with_a_timeout_times_out_when_nobody_answers():
    fetch = '<session:fetch requestid="App_B[\'requestid\']" srcexpr="\'http://api.example.com/x\'" timeout="4"/>'
    manual = {"rules": [{"module": "session", "action": "fetch", "manual": True}]}
    r = run(timed(fetch, "error.session.fetch", "session.fetch.done"), manual)
    assert outcome(r) == ("failed", "timeout", 4.0)
