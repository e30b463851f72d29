"""Dialog module: treatments and GVP applications (ors-interaction-dialog.md section 2)."""

from __future__ import annotations

import pytest

from .strategies import block_strategy, events, run, value


def block(element: str, action: str) -> str:
    return f"""
    <onentry>{element}</onentry>
    <transition event="dialog.{action}.done" cond="_event.data.requestid==App_B['requestid']" target="ok">
      <assign location="out.done" expr="_event.data"/>
    </transition>
    <transition event="error.dialog.{action}" cond="_event.data.requestid==App_B['requestid']" target="failed">
      <assign location="out.error" expr="_event.data"/>
    </transition>
    """


START = """<dialog:start type="'applid'" interactionid="system.InteractionID" requestid="App_B['requestid']">
  <param name="APP_URI" expr="'http://gvp/app.vxml'"/><param name="LANGUAGE" expr="'English (US)'"/></dialog:start>"""
PLAYANDCOLLECT = """<dialog:playandcollect interactionid="system.InteractionID" requestid="App_B['requestid']"
    language="'English (US)'" device="system.ThisDN">
  <dialog:prompts type="ann"><dialog:prompt interrupt="true" text="'menu.wav'"/></dialog:prompts>
  <dialog:input clear="true" total_timeout="0" digit_timeout="2" start_timeout="8" ignore_digits="'#'"
      term_digits="'*'" max_digits="1"/>
</dialog:playandcollect>"""


def test_start_runs_the_application_attaches_its_udata_and_completes():
    fakes = {"dialog": {"duration": 5, "udata": {"gvp_exitmenu": "xfer"}, "extensions": {"menu": "2"}}}
    doc = block_strategy(block(START, "start")).replace(
        b'<final id="ok"/>',
        b'<final id="ok"><onentry><assign location="out.u" '
        b'expr="_genesys.ixn.interactions[0].udata.gvp_exitmenu"/></onentry></final>',
    )
    r = run(doc, fakes)
    assert r.session.final_state == "ok"
    assert value(r, "out.done.extensions") == {"menu": "2"}
    assert value(r, "out.done.interactionid") == "006502A8E4B1C002"
    assert value(r, "out.u") == "xfer"
    assert events(r)[-2:] == ["interaction.udata.changed", "dialog.start.done"]
    assert r.group.clock.now == pytest.approx(5.0)
    params = r.summary()["requests"][0]["children"]
    assert [(p["attributes"]["name"], p["attributes"]["expr"]) for p in params] == [
        ("APP_URI", "http://gvp/app.vxml"),
        ("LANGUAGE", "English (US)"),
    ]


def test_start_fails_when_the_interaction_is_gone():
    r = run(block_strategy(block(START.replace("system.InteractionID", "'gone'"), "start")))
    assert r.session.final_state == "failed"
    assert value(r, "out.error") == {
        "requestid": value(r, "App_B['requestid']"),
        "error": "invalidstate.null",
        "description": "interaction 'gone' is not in this session",
        "extensions": {},
    }


def test_a_rule_makes_the_application_fail():
    fakes = {"rules": [{"module": "dialog", "action": "start", "error": {"error": "remote", "description": "GVP"}}]}
    r = run(block_strategy(block(START, "start")), fakes)
    assert (r.session.final_state, value(r, "out.error.error")) == ("failed", "remote")


def test_playandcollect_returns_the_digits_as_a_string_without_terminators():
    r = run(block_strategy(block(PLAYANDCOLLECT, "playandcollect")), {"dialog": {"digits": "42*"}})
    assert r.session.final_state == "ok"
    assert value(r, "out.done.digits") == "4"
    request = r.summary()["requests"][0]
    prompts = request["children"][0]
    assert (prompts["tag"], prompts["attributes"]["type"], prompts["children"][0]["attributes"]["text"]) == (
        "prompts",
        "ann",
        "menu.wav",
    )
    assert request["children"][1]["attributes"]["max_digits"] == 1


def test_no_input_is_an_error_by_default_and_empty_digits_when_configured():
    failed = run(block_strategy(block(PLAYANDCOLLECT, "playandcollect")), {"dialog": {"digits": ""}})
    assert (failed.session.final_state, value(failed, "out.error.error")) == ("failed", "timeout")
    done = run(block_strategy(block(PLAYANDCOLLECT, "playandcollect")), {"dialog": {"digits": "", "no_input": "done"}})
    assert (done.session.final_state, value(done, "out.done.digits")) == ("ok", "")


@pytest.mark.parametrize("action", ["collect", "playandverify"])
def test_collect_and_playandverify_return_digits(action):
    element = f"""<dialog:{action} requestid="App_B['requestid']" interactionid="system.InteractionID">
      <dialog:input max_digits="'4'"/></dialog:{action}>"""
    r = run(block_strategy(block(element, action)), {"dialog": {"digits": "123456"}})
    assert value(r, "out.done.digits") == "1234"


def test_play_lasts_one_prompt_duration_per_prompt():
    element = """<dialog:play requestid="App_B['requestid']" language="'English (US)'"
        interactionid="system.InteractionID"><dialog:prompts type="ann">
        <dialog:prompt interrupt="true" text="'a.wav'"/><dialog:prompt text="'b.wav'"/>
        </dialog:prompts></dialog:play>"""
    r = run(block_strategy(block(element, "play")), {"dialog": {"prompt_seconds": 1.5}})
    assert r.session.final_state == "ok"
    assert r.group.clock.now == pytest.approx(3.0)


def test_playsound_with_a_duration_completes_after_it_and_without_plays_until_stopped():
    element = """<dialog:playsound requestid="App_B['requestid']" interactionid="system.InteractionID"
        type="'music'" resource="'music/on_hold'" duration="'10 '"/>"""
    r = run(block_strategy(block(element, "playsound")))
    assert r.session.final_state == "ok" and r.group.clock.now == pytest.approx(10.0)
    endless = run(block_strategy(block(element.replace("duration=\"'10 '\"", ""), "playsound")), max_time=100)
    assert endless.session.final_state is None
    assert endless.summary()["outcome"]["status"] == "waiting"
    assert "dialog:playsound" in endless.summary()["outcome"]["for"][0]


def test_playsound_with_a_bad_duration_fails_with_invalidattribute():
    element = """<dialog:playsound requestid="App_B['requestid']" type="'music'" duration="'long'"/>"""
    r = run(block_strategy(block(element, "playsound")))
    assert (r.session.final_state, value(r, "out.error.error")) == ("failed", "invalidattribute")


def test_stop_cancels_the_running_treatment():
    element = """<dialog:playsound requestid="App_B['requestid']" type="'music'"/>
      <dialog:stop requestid="App_B['stop']"/>"""
    doc = block(element, "playsound").replace(
        "<onentry>",
        '<transition event="dialog.stop.done" cond="_event.data.requestid==App_B[\'stop\']">'
        '<assign location="out.stopped" expr="true"/></transition><onentry>',
    )
    r = run(block_strategy(doc))
    assert r.session.final_state == "failed"
    assert value(r, "[out.stopped, out.error.error]") == [True, "cancelled"]


def test_createannouncement_returns_a_user_announcement_id():
    element = """<dialog:createannouncement requestid="App_B['requestid']" interactionid="system.InteractionID"/>"""
    r = run(block_strategy(block(element, "createannouncement")))
    assert value(r, "out.done.userannid").startswith("ANN")


def test_standalone_treatment_lists_generate_no_events_or_requests():
    element = """<dialog:runtreatments><dialog:playsound type="'music'" duration="5"/>
      <dialog:pause duration="2"/></dialog:runtreatments>"""
    r = run(block_strategy(f"<onentry>{element}</onentry><transition event='dialog' target='failed'/>"), max_time=60)
    assert r.summary()["requests"] == []
    assert r.session.final_state is None
    assert r.platform.calls[0]["call"] == "dialog.runtreatments"


def test_a_hangup_during_a_collection_fails_it_with_cancelled_then_deletes_the_interaction():
    fakes = {"inject": [{"on": {"module": "dialog", "action": "playandcollect"}, "after": 0.2, "event": "hangup"}]}
    doc = block(PLAYANDCOLLECT, "playandcollect").replace('target="failed"', "")
    doc += '<transition event="interaction.deleted" target="failed"/>'
    r = run(block_strategy(doc), fakes)
    assert r.session.final_state == "failed"
    assert value(r, "out.error.error") == "cancelled"
    assert events(r)[-2:] == ["error.dialog.playandcollect", "interaction.deleted"]
