"""<send> targets and delays on the virtual clock, <cancel>, and error.communication."""

from __future__ import annotations

from .conftest import chart


def test_a_delayed_send_arrives_after_its_virtual_delay(run):
    r = run(
        chart(
            '<state id="s"><onentry><send event="later" delay="2.5s"/></onentry>'
            '<transition event="later" target="t"/></state><state id="t"/>'
        )
    )
    assert r.session.snapshot()["timers"][0]["due"] == 2.5
    r.group.advance(2)
    assert r.configuration == ["s"]
    r.group.advance(1)
    assert r.configuration == ["t"]
    assert r.group.clock.now == 3


def test_cancel_removes_a_pending_delayed_send(run):
    r = run(
        chart(
            '<state id="s"><onentry><send id="t1" event="late" delay="5s"/><send event="cancel" delay="1s"/>'
            '</onentry><transition event="cancel"><cancel sendid="t1"/></transition>'
            '<transition event="late" target="bad"/></state><state id="bad"/>'
        )
    )
    assert r.idle() == "idle"
    assert r.configuration == ["s"]
    assert r.of("cancel")[0]["sendid"] == "t1"
    assert r.session.snapshot()["timers"] == []


def test_idlocation_receives_the_generated_sendid_and_cancel_by_expression_works(run):
    r = run(
        chart(
            '<datamodel><data id="sid"/></datamodel>'
            '<state id="s"><onentry><send idlocation="sid" event="late" delay="1s"/>'
            '<cancel sendidexpr="sid"/></onentry><transition event="late" target="bad"/></state>'
            '<state id="bad"/>'
        )
    )
    r.idle()
    assert isinstance(r.value("sid"), str) and r.configuration == ["s"]


def test_internal_target_goes_to_the_internal_queue_before_external_events(run):
    r = run(
        chart(
            '<state id="s"><onentry><send event="ext"/><send event="int" target="#_internal"/></onentry>'
            '<transition event="int" target="t"/><transition event="ext" target="bad"/></state>'
            '<state id="t"/><state id="bad"/>'
        )
    )
    r.idle()
    assert r.configuration == ["t"]


def test_an_unknown_session_target_raises_error_communication(run):
    r = run(
        chart(
            '<state id="s"><onentry><send event="x" target="#_scxml_nobody"/></onentry>'
            '<transition event="error.communication" target="t"/></state><state id="t"/>'
        )
    )
    r.idle()
    assert r.configuration == ["t"]
    assert r.of("error")[0]["kind"] == "communication"


def test_an_invalid_target_raises_error_execution_with_the_sendid(run):
    r = run(
        chart(
            '<datamodel><data id="got"/></datamodel><state id="s"><onentry>'
            '<send id="mine" event="x" target="nowhere"/></onentry>'
            '<transition event="error.execution" target="t"><assign location="got" expr="_event.sendid"/>'
            '</transition></state><state id="t"/>'
        )
    )
    r.idle()
    assert r.value("got") == "mine"


def test_sessions_of_one_group_talk_through_scxml_session_ids(run):
    receiver = run(chart('<state id="wait"><transition event="hello" target="got"/></state><state id="got"/>'))
    target = "#_scxml_" + receiver.session.sessionid
    sender_model_text = chart(f'<state id="s"><onentry><send event="hello" target="{target}"/></onentry></state>')
    from simulator.scxml.model import model_from_string

    sender = receiver.group.create_session(model_from_string(sender_model_text))
    sender.start()
    receiver.idle()
    assert receiver.configuration == ["got"]
    assert receiver.of("macrostep")[-1]["event"]["origin"] == sender.location


def test_send_data_from_namelist_params_and_content(run):
    r = run(
        chart(
            '<datamodel><data id="a" expr="1"/><data id="seen"/></datamodel><state id="s"><onentry>'
            '<send event="p" namelist="a"><param name="b" expr="a + 1"/></send>'
            '<send event="c"><content>{"k": [1, 2]}</content></send></onentry>'
            '<transition event="p"><assign location="seen" expr="[_event.data.a, _event.data.b]"/></transition>'
            '<transition event="c" cond="_event.data.k[1] === 2" target="t"/></state><state id="t"/>'
        )
    )
    r.idle()
    assert r.value("seen") == [1, 2] and r.configuration == ["t"]
