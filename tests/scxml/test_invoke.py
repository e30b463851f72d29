"""<invoke type="scxml">: child sessions on the same clock, data in, events out, cancellation."""

from __future__ import annotations

from .conftest import chart

CHILD = chart(
    '<datamodel><data id="greeting" expr="\'default\'"/></datamodel>'
    '<state id="c"><onentry><send target="#_parent" event="hello"><param name="g" expr="greeting"/></send>'
    '<send event="finish" delay="1s"/></onentry>'
    '<transition event="finish" target="end"/><transition event="ping"><send target="#_parent" event="pong"/>'
    '</transition><onexit><log label="child exit"/></onexit></state>'
    '<final id="end"><donedata><param name="result" expr="42"/></donedata></final>'
)


def parent(body_in_state: str = "", extra: str = "") -> str:
    return chart(
        '<datamodel><data id="got"/><data id="result"/></datamodel>'
        f'<state id="p"><invoke id="kid" src="child.scxml"><param name="greeting" expr="\'hi\'"/></invoke>'
        f"{body_in_state}"
        '<transition event="hello"><assign location="got" expr="_event.data.g"/></transition>'
        '<transition event="done.invoke.kid" target="after"><assign location="result" expr="_event.data.result"/>'
        "</transition></state>"
        f'<state id="after"/>{extra}'
    )


def test_a_child_gets_params_talks_to_its_parent_and_reports_done_with_donedata(run):
    r = run(parent(), project={"child.scxml": CHILD.encode()})
    r.idle()
    assert r.value("got") == "hi"
    assert r.value("result") == 42
    assert r.configuration == ["after"]
    assert r.group.clock.now == 1
    child_records = [x for x in r.records if x["session"] not in (None, r.session.sessionid)]
    assert child_records and all(x.get("invokeid") == "kid" for x in child_records)


def test_leaving_the_invoking_state_cancels_the_child_and_drops_its_later_events(run):
    r = run(
        parent('<transition event="hello" target="gone"/>', '<state id="gone"/>'),
        project={"child.scxml": CHILD.encode()},
    )
    r.idle()
    assert r.configuration == ["gone"]
    done = [x for x in r.of("done") if x.get("invokeid") == "kid"]
    assert done[0]["status"] == "cancelled"
    assert any(x["type"] == "log" and x["label"] == "child exit" for x in r.records)
    assert r.group.clock.now == 0  # the child's timer was cancelled with it


def test_the_parent_can_send_to_the_child_by_invokeid(run):
    r = run(
        parent(
            '<transition event="hello"><send target="#_kid" event="ping"/></transition>'
            '<transition event="pong" target="ponged"/>',
            '<state id="ponged"/>',
        ),
        project={"child.scxml": CHILD.encode()},
    )
    r.idle()
    assert r.configuration == ["ponged"]


def test_inline_content_and_finalize_run(run):
    r = run(
        chart(
            '<datamodel><data id="fin" expr="0"/></datamodel><state id="p"><invoke id="i">'
            '<content><scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript">'
            '<state id="x"><onentry><send target="#_parent" event="up"/></onentry></state></scxml></content>'
            '<finalize><assign location="fin" expr="fin + 1"/></finalize></invoke>'
            '<transition event="up" target="done"/></state><state id="done"/>'
        )
    )
    r.idle()
    assert r.value("fin") == 1 and r.configuration == ["done"]


def test_a_missing_src_is_a_definition_error():
    from simulator.scxml.model import model_from_string

    model = model_from_string(chart('<state id="p"><invoke src="nope.scxml"/></state>'))
    assert any("nope.scxml" in e.message for e in model.errors)
