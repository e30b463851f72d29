"""Interaction module: actions, object model and ``_genesys.ixn`` functions (ors-interaction-dialog.md s1)."""

from __future__ import annotations

import pytest

from simulator.ors.extensions import interaction

from .strategies import block_strategy, events, run, value


def action_block(element: str, done: str, error: str) -> str:
    """A Composer-style block issuing `element` and waiting for its done/error event."""
    return f"""
    <onentry>{element}</onentry>
    <transition event="{done}" cond="_event.data.requestid==App_B['requestid']" target="ok">
      <assign location="out.done" expr="_event.data"/>
    </transition>
    <transition event="{error}" cond="_event.data.requestid==App_B['requestid']" target="failed">
      <assign location="out.error" expr="_event.data"/>
    </transition>
    """


IXN = "006502A8E4B1C002"


def test_the_interaction_exists_in_the_object_model_when_interaction_added_arrives():
    block = """
    <onentry><script>
      var x = _genesys.ixn.interactions[system.InteractionID];
      out.keys = [x.g_uid, x.category, x.voice.ani, x.voice.dnis, x.voice.type, x.voice.media, x.tenantid];
      out.parties = x.parties; out.udata = x.udata; out.first = _genesys.ixn.interactions[0].g_uid;
      out.firstid = _genesys.ixn.firstixnid; out.unknown = typeof _genesys.ixn.interactions['nope'];
      out.enumerable = Object.keys(_genesys.ixn.interactions);
    </script></onentry>
    <transition target="ok"/>
    """
    r = run(block_strategy(block), {"interaction": {"ani": "0800", "udata": {"lang": "fr"}}})
    assert value(r, "out.keys") == [IXN, "voice", "0800", "9000", "inbound", "TMediaVoice", 101]
    assert value(r, "out.parties") == [
        {"device": "9000", "devicetype": "routepoint"},
        {"device": None, "devicetype": "unknown"},
    ]
    assert value(r, "out.udata") == {"lang": "fr"}
    assert value(r, "[out.first, out.firstid, out.unknown]") == [IXN, IXN, "undefined"]
    assert value(r, "out.enumerable") == [IXN]


def test_an_email_interaction_has_a_msgbased_object_and_no_voice():
    block = """<onentry><script>var x = _genesys.ixn.interactions[system.InteractionID];
      out.v = typeof x.voice; out.m = x.msgbased.media; out.c = x.category;</script></onentry>
      <transition target="ok"/>"""
    r = run(block_strategy(block), {"interaction": {"media": "email"}})
    assert value(r, "[out.v, out.m, out.c]") == ["undefined", "TMediaEMail", "msgbased"]


def test_terminate_answers_done_then_the_interaction_is_deleted():
    block = (
        action_block(
            '<ixn:terminate requestid="App_B[\'requestid\']" interactionid="system.InteractionID" '
            "reason=\"'Disconnect interaction'\"/>",
            "interaction.terminate.done",
            "error.interaction.terminate",
        )
        .replace('target="ok"', "")
        .replace("</transition>", "</transition>", 1)
    )
    block += """<transition event="interaction.deleted" target="ok">
      <assign location="out.deleted" expr="_event.data"/>
      <assign location="out.still" expr="typeof _genesys.ixn.interactions[system.InteractionID]"/></transition>"""
    r = run(block_strategy(block))
    assert r.session.final_state == "ok"
    assert value(r, "out.done") == {"requestid": value(r, "App_B['requestid']"), "interactionid": IXN}
    assert value(r, "out.deleted") == {"interactionid": IXN, "resultof": "deletion"}
    assert value(r, "out.still") == "undefined"
    assert r.summary()["outcome"] == {"status": "terminated", "reason": "ixn:terminate"}


def test_terminate_of_an_interaction_that_is_gone_fails_with_invalidstate():
    block = action_block(
        "<ixn:terminate requestid=\"App_B['requestid']\" interactionid=\"'gone'\"/>",
        "interaction.terminate.done",
        "error.interaction.terminate",
    )
    r = run(block_strategy(block))
    assert r.session.final_state == "failed"
    assert value(r, "out.error.error") == "invalidstate.null"


def test_redirect_with_detach_routes_and_the_interaction_leaves_without_deletion():
    block = action_block(
        '<ixn:redirect detach="true" requestid="App_B[\'requestid\']" interactionid="system.InteractionID" '
        "from=\"system.ThisDN\" to=\"({dn: '7001', switch: 'SW', agent: 'A7'})\" "
        'type="_genesys.queue.rType.RouteTypeDefault" hints="{}"/>',
        "interaction.redirect.done",
        "error.interaction.redirect",
    )
    r = run(block_strategy(block), max_time=5)
    assert r.session.final_state == "ok"
    request = r.summary()["requests"][0]
    assert request["attributes"]["to"] == {"dn": "7001", "switch": "SW", "agent": "A7"}
    assert request["attributes"]["type"] == 1 and request["attributes"]["hints"] == {}
    assert r.summary()["outcome"] == {"status": "routed", "target": "A7", "via": "ixn:redirect"}


def test_redirect_without_destination_fails_with_invaliddestination():
    block = action_block(
        '<ixn:redirect requestid="App_B[\'requestid\']" interactionid="system.InteractionID" to="\'\'"/>',
        "interaction.redirect.done",
        "error.interaction.redirect",
    )
    r = run(block_strategy(block))
    assert r.session.final_state == "failed"
    assert value(r, "out.error.error") == "invaliddestination"


def test_a_rule_can_fail_a_redirect_with_its_own_error_code():
    block = action_block(
        '<ixn:redirect requestid="App_B[\'requestid\']" interactionid="system.InteractionID" to="\'7001\'"/>',
        "interaction.redirect.done",
        "error.interaction.redirect",
    )
    fakes = {
        "rules": [
            {
                "module": "interaction",
                "action": "redirect",
                "match": {"to": "7001"},
                "error": {"error": "invalidstate.routed", "description": "already routed"},
            }
        ]
    }
    r = run(block_strategy(block), fakes)
    assert value(r, "[out.error.error, out.error.description]") == ["invalidstate.routed", "already routed"]


@pytest.mark.parametrize("action", ["attach", "detach", "accept", "associate"])
def test_attach_detach_accept_and_associate_answer_done_with_the_interaction(action):
    block = action_block(
        f'<ixn:{action} requestid="App_B[\'requestid\']" interactionid="system.InteractionID"/>',
        f"interaction.{action}.done",
        f"error.interaction.{action}",
    )
    r = run(block_strategy(block))
    assert r.session.final_state == "ok"
    assert value(r, "out.done.interactionid") == IXN


@pytest.mark.parametrize("action", ["detach", "accept", "associate"])
def test_actions_on_an_unknown_interaction_fail_with_invalidstate(action):
    block = action_block(
        f"<ixn:{action} requestid=\"App_B['requestid']\" interactionid=\"'other'\"/>",
        f"interaction.{action}.done",
        f"error.interaction.{action}",
    )
    r = run(block_strategy(block))
    assert (r.session.final_state, value(r, "out.error.error")) == ("failed", "invalidstate.null")


def test_attach_of_a_consult_parent_adds_it_to_the_object_model_before_attach_done():
    block = action_block(
        "<ixn:attach requestid=\"App_B['requestid']\" interactionid=\"'PARENT1'\"/>",
        "interaction.attach.done",
        "error.interaction.attach",
    ).replace(
        '<assign location="out.done" expr="_event.data"/>',
        '<assign location="out.done" expr="_genesys.ixn.interactions[_event.data.interactionid].g_uid"/>',
    )
    r = run(block_strategy(block))
    assert value(r, "out.done") == "PARENT1"


@pytest.mark.parametrize(
    ("element", "done"),
    [
        ("<ixn:createcall requestid=\"App_B['requestid']\" from=\"'7001'\" to=\"'8001'\"/>", "voice.createcall.done"),
        ('<ixn:hold requestid="App_B[\'requestid\']" interactionid="system.InteractionID"/>', "voice.hold.done"),
        (
            '<ixn:retrieve requestid="App_B[\'requestid\']" interactionid="system.InteractionID"/>',
            "voice.retrieve.done",
        ),
        ("<ixn:createmessage requestid=\"App_B['requestid']\"/>", "msgbased.createmessage.done"),
        ("<ixn:sendmessage requestid=\"App_B['requestid']\"/>", "msgbased.sendmessage.done"),
    ],
)
def test_the_design_spec_actions_answer_their_done_events(element, done):
    error = "error." + done.removesuffix(".done")
    r = run(block_strategy(action_block(element, done, error)))
    assert r.session.final_state == "ok"


def test_createcall_with_a_bad_type_fails_with_invalidattribute():
    element = "<ixn:createcall requestid=\"App_B['requestid']\" from=\"'7001'\" to=\"'8001'\" type=\"'bogus'\"/>"
    r = run(block_strategy(action_block(element, "voice.createcall.done", "error.voice.createcall")))
    assert (r.session.final_state, value(r, "out.error.error")) == ("failed", "invalidattribute")


def test_setudata_updates_udata_at_once_and_sends_udata_changed():
    block = """
    <onentry><script>
      _genesys.ixn.setuData({k1: 'v1', n: 2}, system.InteractionID);
      out.now = _genesys.ixn.interactions[system.InteractionID].udata.k1;
      out.get = _genesys.ixn.getuData('n', system.InteractionID);
      out.missing = typeof _genesys.ixn.getuData('zzz', system.InteractionID);
    </script></onentry>
    <transition event="interaction.udata.changed" target="ok">
      <assign location="out.ev" expr="_event.data"/>
      <script>_genesys.ixn.deleteuData('k1', system.InteractionID); out.after = _genesys.ixn.interactions[0].udata;
      </script>
    </transition>
    """
    r = run(block_strategy(block), {"interaction": {"udata": {"keep": 1}}})
    assert r.session.final_state == "ok"
    assert value(r, "[out.now, out.get, out.missing]") == ["v1", 2, "undefined"]
    assert value(r, "out.ev") == {"interactionid": IXN}
    assert value(r, "out.after") == {"keep": 1, "n": 2}
    assert r.platform.interaction(IXN)["udata"] == {"keep": 1, "n": 2}


def test_deleteudata_without_keys_removes_all_user_data():
    block = """<onentry><script>_genesys.ixn.deleteuData(undefined, system.InteractionID);
      out.u = _genesys.ixn.interactions[0].udata;</script></onentry><transition target="ok"/>"""
    r = run(block_strategy(block), {"interaction": {"udata": {"a": 1, "b": 2}}})
    assert value(r, "out.u") == {}


def test_setudata_on_an_unknown_interaction_throws_a_catchable_error():
    block = """<onentry><script>try { _genesys.ixn.setuData({a: 1}, 'nope'); } catch (e) { out.e = String(e); }
      </script></onentry><transition target="ok"/>"""
    r = run(block_strategy(block))
    assert "unknown interaction nope" in value(r, "out.e")


def test_getmediaintvalue_maps_media_names_to_their_codes():
    block = """<onentry><script>var g = _genesys.ixn.getMediaIntValue;
      out.v = [g('TMediaVoice'), g('TMediaEMail'), g('TMediaChat'), g('TMediaSMS'), g('nonsense'), g('TMediaAny')];
      out.enum = _genesys.ixn.mediaType.TMediaFax;</script></onentry><transition target="ok"/>"""
    r = run(block_strategy(block))
    assert value(r, "out.v") == [0, 2, 5, 17, -1, -1]
    assert value(r, "out.enum") == 13


def test_injected_platform_events_reach_the_strategy():
    block = """
    <transition event="interaction.partystatechanged" target="moved">
      <assign location="out.focus" expr="_event.data.focusdeviceid"/>
      <assign location="out.dev" expr="_genesys.ixn.interactions[0].parties[0].device"/></transition>
    """
    doc = block_strategy(block).replace(
        b'<final id="ok"/>',
        b"""<state id="moved"><transition event="interaction.udata.changed" target="merged">
        <assign location="out.u" expr="_genesys.ixn.interactions[0].udata.x"/></transition></state>
        <state id="merged"><transition event="interaction.onmerge" target="ok">
        <assign location="out.m" expr="_event.data"/></transition></state><final id="ok"/>""",
    )
    r = run(doc, max_time=0)
    r.platform.party_changed("9100", "queue")
    r.platform.udata_changed({"x": "y"})
    r.platform.merge("C1", IXN)
    r.group.run_until_idle()
    assert r.session.final_state == "ok"
    assert value(r, "[out.focus, out.dev, out.u]") == ["9100", "9100", "y"]
    assert value(r, "out.m") == {"frominteractionid": "C1", "tointeractionid": IXN}


def test_every_declared_js_member_exists_in_the_surface():
    r = run(block_strategy("<transition target='ok'/>"))
    for member in interaction.MODULE.js_members:
        assert value(r, f"typeof _genesys.ixn.{member.name}") != "undefined", member.name


def test_a_hangup_removes_the_interaction_and_sends_deleted():
    block = """<transition event="interaction.deleted" target="ok">
      <assign location="out.d" expr="_event.data"/></transition>"""
    fakes = {"inject": [{"at": 3, "event": "abandon"}]}
    r = run(block_strategy(block), fakes)
    assert r.session.final_state == "ok"
    assert events(r)[-2:] == ["interaction.abandoned", "interaction.deleted"]
    assert r.platform.interactions == {}
    assert r.summary()["outcome"] == {"status": "abandoned"}
