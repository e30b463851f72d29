"""Statistic module: sData, subscribe/unsubscribe and statistic.update (spec ors-core.md section 5)."""

from __future__ import annotations

import json

import pytest

from simulator.ors.extensions import module_for_namespace, statistic
from simulator.ors.fakes import FakesError, load_fakes
from simulator.runners.driver import OrsRun
from simulator.scxml.datamodel import ECMAScriptDataModel, JSError
from simulator.scxml.errors import DocumentError

VALUES = {
    "AG_Sales@StatServer.GA|StatAgentsAvailable": 3,
    "StatCallsInQueue": 7,
    "StatLoadBalance": 0.25,
    '{"Params":{"Category":"CurrentNumber","MainActionsMask":"CallWait"}}': 4,
}


@pytest.fixture
def js():
    """A datamodel with ``_genesys`` and the statistic surface over a profile's statistics."""
    dm = ECMAScriptDataModel()
    dm.execute("var _genesys = {}; var __orsFakes = " + json.dumps({"statistics": VALUES}) + ";")
    dm.execute(statistic.JS)
    yield dm
    dm.close()


# -- declarations -----------------------------------------------------------------------------


def test_it_is_selected_by_both_namespace_spellings():
    assert module_for_namespace("http://www.genesyslab.com/modules/statistic") is statistic.MODULE
    assert module_for_namespace("www.genesyslab.com/modules/statistic") is statistic.MODULE


def test_it_declares_subscribe_and_unsubscribe_with_their_attributes():
    sub = statistic.MODULE.actions["subscribe"]
    assert [a.name for a in sub.attributes] == ["requestid", "object", "statistic", "interval"]
    assert sub.attr("requestid").kind == "location"
    assert sub.attr("object").required and sub.attr("statistic").required
    assert sub.attr("interval").default == 30 and sub.attr("interval").type == "integer"
    unsub = statistic.MODULE.actions["unsubscribe"]
    assert [a.name for a in unsub.attributes] == ["requestid", "object", "statistic"]


def test_it_declares_every_event_with_its_data_fields():
    fields = {e.name: e.fields for e in statistic.MODULE.events}
    assert fields == {
        "statistic.subscribe.done": ("requestid",),
        "error.statistic.subscribe": ("requestid", "error", "description"),
        "statistic.unsubscribe.done": ("requestid",),
        "error.statistic.unsubscribe": ("requestid", "error", "description"),
        "statistic.update": ("object", "statistic", "value"),
    }
    assert statistic.MODULE.event("statistic.update").unsolicited


def test_it_declares_sdata():
    assert [m.name for m in statistic.MODULE.js_members] == ["sData"]


# -- sData ------------------------------------------------------------------------------------


def test_sdata_reads_a_value_for_one_object(js):
    assert js.evaluate("_genesys.statistic.sData('AG_Sales@StatServer.GA', 'StatAgentsAvailable')") == 3


def test_sdata_falls_back_to_the_value_for_every_object(js):
    assert js.evaluate("_genesys.statistic.sData('VQ1@StatServer.Q', 'StatCallsInQueue')") == 7
    assert js.evaluate("_genesys.statistic.sData('R', 'StatLoadBalance')") == 0.25


@pytest.mark.parametrize("name", statistic.PREDEFINED_STATISTICS)
def test_sdata_answers_every_predefined_statistic_without_a_subscription(js, name):
    value = js.evaluate(f"_genesys.statistic.sData('AG_Other@StatServer.GA', '{name}')")
    assert value == VALUES.get(name, 0)


def test_sdata_accepts_an_inline_statistic_definition_in_any_key_order(js):
    definition = "{Params: {MainActionsMask: 'CallWait', Category: 'CurrentNumber'}}"
    expr = f"_genesys.statistic.sData('VQ1@StatServer.Q', {definition})"
    assert js.evaluate(expr) == 4


def test_sdata_throws_a_type_error_without_a_statistic(js):
    with pytest.raises(JSError) as caught:
        js.evaluate("_genesys.statistic.sData('VQ1@StatServer.Q')")
    assert caught.value.name == "TypeError"


def test_composer_route_feature_reads_calls_entered_through_sdata(shared_dir):
    dm = ECMAScriptDataModel()
    try:
        fakes = {"statistics": {"R|CallsEntered": 11, "RP|CallsEntered": 5, "VQ_Sales|CallsEntered": 2}}
        dm.execute("var _genesys = {}; var __orsFakes = " + json.dumps(fakes) + ";")
        dm.execute(statistic.JS)
        dm.execute((shared_dir / "ors-samples/composer-stock/include/RouteFeature.js").read_text(encoding="utf-8"))
        assert dm.evaluate("irdCallEntered('Router')") == 11
        assert dm.evaluate("irdCallEntered('RoutingPoint')") == 5
        assert dm.evaluate("irdCallEntered('VirtualQueue', 'VQ_Sales')") == 2
    finally:
        dm.close()


# -- profile keys (shared by sData and the fakes) ----------------------------------------------


def test_statistic_key_is_the_name_or_canonical_json():
    assert statistic.statistic_key("StatAgentsAvailable") == "StatAgentsAvailable"
    assert statistic.statistic_key({"b": 1, "a": {"d": [1, "x"], "c": None}}) == '{"a":{"c":null,"d":[1,"x"]},"b":1}'


def test_lookup_value_prefers_the_object_specific_value():
    assert statistic.lookup_value(VALUES, "AG_Sales@StatServer.GA", "StatAgentsAvailable") == 3
    assert statistic.lookup_value(VALUES, "AG_Other@StatServer.GA", "StatAgentsAvailable") == 0
    assert statistic.lookup_value(VALUES, "X", "StatCallsInQueue") == 7
    assert statistic.lookup_value({"S": True}, "X", "S") == 0


# -- subscribe / unsubscribe end to end -------------------------------------------------------

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<scxml version="1.0" xmlns="http://www.w3.org/2005/07/scxml"
    xmlns:session="http://www.genesyslab.com/modules/session"
    xmlns:statistic="http://www.genesyslab.com/modules/statistic"
    initial="Subscribe1" _persist="false" profile="ecmascript">
  <datamodel>
    <data id="updates" expr="[]"/>
    <data id="late" expr="[]"/>
    <data id="seen" expr="[]"/>
    <data id="error" expr="null"/>
    <data id="path" expr="''"/>
  </datamodel>
"""


def watcher(subscribe: str, unsubscribe: str, watch: str = "100s") -> str:
    """Subscribe, collect updates for `watch`, unsubscribe, collect late updates, exit."""
    return (
        HEAD
        + f"""
  <state id="Subscribe1">
    <onentry>
      <script>var App_Subscribe1 = new Object();</script>
      <statistic:subscribe requestid="App_Subscribe1['requestid']" {subscribe}/>
    </onentry>
    <transition event="statistic.subscribe.done" cond="_event.data.requestid==App_Subscribe1['requestid']"
        target="Watch"/>
    <transition event="error.statistic.subscribe" cond="_event.data.requestid==App_Subscribe1['requestid']"
        target="Exit">
      <assign location="_data.error" expr="_event.data"/>
      <assign location="_data.path" expr="'subscribe failed'"/>
    </transition>
  </state>
  <state id="Watch">
    <onentry><send event="'Watch.timeout'" delay="'{watch}'"/></onentry>
    <transition event="statistic.update">
      <script>updates.push({{o: _event.data.object, s: _event.data.statistic, v: _event.data.value}});
        seen.push(_genesys.statistic.sData(_event.data.object, _event.data.statistic));</script>
    </transition>
    <transition event="Watch.timeout" target="Unsubscribe1"/>
  </state>
  <state id="Unsubscribe1">
    <onentry>
      <script>var App_Unsubscribe1 = new Object();</script>
      <statistic:unsubscribe requestid="App_Unsubscribe1['requestid']" {unsubscribe}/>
    </onentry>
    <transition event="statistic.unsubscribe.done" cond="_event.data.requestid==App_Unsubscribe1['requestid']"
        target="After"/>
    <transition event="error.statistic.unsubscribe" cond="_event.data.requestid==App_Unsubscribe1['requestid']"
        target="Exit">
      <assign location="_data.error" expr="_event.data"/>
      <assign location="_data.path" expr="'unsubscribe failed'"/>
    </transition>
  </state>
  <state id="After">
    <onentry><send event="'After.timeout'" delay="'200s'"/></onentry>
    <transition event="statistic.update"><script>late.push(_event.data.value);</script></transition>
    <transition event="After.timeout" target="Exit"><assign location="_data.path" expr="'done'"/></transition>
  </state>
  <final id="Exit"/>
</scxml>"""
    )


QUEUE_STAT = "object=\"'VQ1@StatServer.Q'\" statistic=\"'StatCallsInQueue'\""


@pytest.fixture
def run():
    """Run a strategy on the virtual clock until idle; returns (session, platform)."""
    runs: list[OrsRun] = []

    def go(doc: str, fakes: dict | None = None):
        r = OrsRun({"Statistic.scxml": doc.encode()}, fakes={"none": True, **(fakes or {})})
        runs.append(r)
        r.run()
        assert r.session.errors == []
        return r.session, r.platform

    yield go
    for r in runs:
        if r.session.datamodel is not None:
            r.session.datamodel.close()


def subscription_rule(**params) -> dict:
    return {"module": "statistic", "action": "subscribe", "params": params}


def test_subscribe_answers_done_then_the_current_value(run):
    session, platform = run(watcher(QUEUE_STAT + ' interval="10"', QUEUE_STAT), {"statistics": {"StatCallsInQueue": 4}})
    assert session.datamodel.evaluate("_data.path") == "done"
    assert session.datamodel.evaluate("updates") == [{"o": "VQ1@StatServer.Q", "s": "StatCallsInQueue", "v": 4}]
    subscribe, unsubscribe = platform.requests.values()
    assert session.datamodel.evaluate("App_Subscribe1['requestid']") == subscribe.id
    assert subscribe.attributes == {"object": "VQ1@StatServer.Q", "statistic": "StatCallsInQueue", "interval": 10}
    assert [r["name"] for r in subscribe.responses] == ["statistic.subscribe.done", "statistic.update"]
    assert "requestid" not in subscribe.responses[1]["data"]
    assert subscribe.status == "cancelled" and unsubscribe.status == "answered"


def test_subscribe_accepts_a_numeric_string_interval(run):
    session, _ = run(watcher(QUEUE_STAT + " interval=\"'60'\"", QUEUE_STAT))
    assert session.datamodel.evaluate("_data.path") == "done"


def test_subscribe_defaults_the_interval_to_30_seconds(run):
    _, platform = run(watcher(QUEUE_STAT, QUEUE_STAT))
    assert next(iter(platform.requests.values())).attributes["interval"] == 30


def test_a_subscription_stays_pending_until_unsubscribed(run):
    doc = watcher(QUEUE_STAT, QUEUE_STAT).replace("'Watch.timeout'\" delay=\"'100s'\"", "'Never'\" delay=\"'1s'\"")
    session, platform = run(doc)
    assert session.final_state is None
    (live,) = platform.pending("statistic", "subscribe")
    assert live.attributes["object"] == "VQ1@StatServer.Q"


def test_scheduled_value_changes_arrive_as_updates_until_unsubscribe(run):
    rule = subscription_rule(updates=[{"after": 20, "value": 9}, {"after": 50, "value": 2}, {"after": 150, "value": 5}])
    session, _ = run(watcher(QUEUE_STAT, QUEUE_STAT), {"statistics": {"StatCallsInQueue": 1}, "rules": [rule]})
    assert [u["v"] for u in session.datamodel.evaluate("updates")] == [1, 9, 2]
    assert session.datamodel.evaluate("late") == []


def test_periodic_updates_repeat_every_interval_up_to_the_cap(run):
    rule = subscription_rule(periodic=True, max_updates=3)
    session, _ = run(watcher(QUEUE_STAT + ' interval="20"', QUEUE_STAT, watch="45s"), {"rules": [rule]})
    assert len(session.datamodel.evaluate("updates")) == 3  # at 0, 20 and 40 s
    assert session.datamodel.evaluate("late") == []  # the 60 s one was dropped by unsubscribe


def test_subscribe_accepts_an_inline_statistic_definition(run):
    stat = "object=\"'VQ1@StatServer.Q'\" statistic=\"({Params: {Category: 'CurrentNumber'}})\""
    key = '{"Params":{"Category":"CurrentNumber"}}'
    session, _ = run(watcher(stat, stat), {"statistics": {"VQ1@StatServer.Q|" + key: 12}})
    assert session.datamodel.evaluate("updates") == [{"o": "VQ1@StatServer.Q", "s": key, "v": 12}]
    assert session.datamodel.evaluate("_data.path") == "done"


@pytest.mark.parametrize(
    ("attributes", "description"),
    [
        (QUEUE_STAT + ' interval="5"', "greater than 5"),
        (QUEUE_STAT + ' interval="7.5"', "integer"),
        ("object=\"''\" statistic=\"'StatCallsInQueue'\"", "object is required"),
        ("object=\"'VQ1@StatServer.Q'\" statistic=\"''\"", "statistic is required"),
    ],
)
def test_subscribe_with_a_bad_value_is_request_invalid(run, attributes, description):
    session, platform = run(watcher(attributes, QUEUE_STAT))
    assert session.datamodel.evaluate("_data.path") == "subscribe failed"
    error = session.datamodel.evaluate("_data.error")
    assert error["error"] == "Request Invalid" and description in error["description"]
    assert platform.pending() == []


def test_subscribe_with_a_wrongly_typed_value_is_invalidattribute(run):
    session, _ = run(watcher("object=\"'VQ1'\" statistic=\"'S'\" interval=\"'often'\"", QUEUE_STAT))
    assert session.datamodel.evaluate("_data.error.error") == "invalidattribute"


def test_subscribing_twice_is_subscription_already_active(run):
    doc = (
        HEAD
        + f"""
  <state id="Subscribe1">
    <onentry>
      <script>var first = {{}}, second = {{}};</script>
      <statistic:subscribe requestid="first.requestid" {QUEUE_STAT}/>
      <statistic:subscribe requestid="second.requestid" {QUEUE_STAT}/>
    </onentry>
    <transition event="error.statistic.subscribe" cond="_event.data.requestid==second.requestid" target="Exit">
      <assign location="_data.error" expr="_event.data"/>
    </transition>
  </state>
  <final id="Exit"/>
</scxml>"""
    )
    session, platform = run(doc)
    assert session.final_state == "Exit"
    assert session.datamodel.evaluate("_data.error.error") == "Subscription Already Active"
    # the first subscription stayed live until the session ended (its requests are then closed)
    live = [r["id"] for r in platform.requests_json() if r["module"] == "statistic" and r["status"] == "closed"]
    assert live == [session.datamodel.evaluate("first.requestid")]


def test_subscribe_without_object_is_a_definition_error():
    with pytest.raises(DocumentError) as caught:
        OrsRun({"NoObject.scxml": watcher("statistic=\"'S'\"", QUEUE_STAT).encode()})
    assert "missing required attribute 'object'" in str(caught.value)


def test_a_fakes_rule_can_fail_subscribe(run):
    rule = {"module": "statistic", "action": "subscribe", "error": {"error": "Request Invalid", "description": "no SS"}}
    session, _ = run(watcher(QUEUE_STAT, QUEUE_STAT), {"rules": [rule]})
    assert session.datamodel.evaluate("_data.path") == "subscribe failed"
    assert session.datamodel.evaluate("_data.error.description") == "no SS"


def test_unsubscribe_of_something_not_subscribed_is_request_invalid(run):
    other = "object=\"'VQ2@StatServer.Q'\" statistic=\"'StatCallsInQueue'\""
    session, platform = run(watcher(QUEUE_STAT, other))
    assert session.datamodel.evaluate("_data.path") == "unsubscribe failed"
    error = session.datamodel.evaluate("_data.error")
    assert error["error"] == "Request Invalid" and "VQ2@StatServer.Q" in error["description"]
    assert [r["status"] for r in platform.requests_json() if r["action"] == "subscribe"] == ["closed"]


def test_a_fakes_rule_can_fail_unsubscribe(run):
    rule = {"module": "statistic", "action": "unsubscribe", "error": {"error": "Request Invalid"}}
    session, _ = run(watcher(QUEUE_STAT, QUEUE_STAT), {"rules": [rule]})
    assert session.datamodel.evaluate("_data.path") == "unsubscribe failed"


BRANCH_ON_SDATA = (
    HEAD
    + """
  <state id="Subscribe1">
    <transition cond="_genesys.statistic.sData('AG_Sales@StatServer.GA', 'StatAgentsAvailable') &gt; 0" target="Exit">
      <assign location="_data.path" expr="'agents'"/>
    </transition>
    <transition target="Exit"><assign location="_data.path" expr="'nobody'"/></transition>
  </state>
  <final id="Exit"/>
</scxml>"""
)


def test_a_strategy_branches_on_sdata(run):
    doc = BRANCH_ON_SDATA
    session, _ = run(doc, {"statistics": {"AG_Sales@StatServer.GA|StatAgentsAvailable": 2}})
    assert session.datamodel.evaluate("_data.path") == "agents"
    session, _ = run(doc, {"statistics": {"AG_Sales@StatServer.GA|StatAgentsAvailable": 0}})
    assert session.datamodel.evaluate("_data.path") == "nobody"


def test_the_default_statistics_agree_with_the_default_queue(run):
    """An agent is available by default (queue.available): the availability statistics say so
    too, and say the opposite when the profile makes every submit wait."""
    doc = BRANCH_ON_SDATA
    session, _ = run(doc)
    assert session.datamodel.evaluate("_data.path") == "agents"
    assert session.datamodel.evaluate("_genesys.statistic.sData('X', 'StatAgentsInQueueReady')") == 1
    assert session.datamodel.evaluate("_genesys.statistic.sData('X', 'StatExpectedWaitingTime')") == 1
    session, _ = run(doc, {"queue": {"available": False}})
    assert session.datamodel.evaluate("_data.path") == "nobody"
    assert session.datamodel.evaluate("_genesys.statistic.sData('X', 'StatAgentsBusy')") == 1


def test_unsubscribe_without_statistic_is_a_definition_error():
    with pytest.raises(DocumentError) as caught:
        OrsRun({"NoStatistic.scxml": watcher(QUEUE_STAT, "object=\"'VQ1@StatServer.Q'\"").encode()})
    assert "<statistic:unsubscribe>: missing required attribute 'statistic'" in str(caught.value)


def test_unsubscribe_with_an_empty_object_is_request_invalid(run):
    session, _ = run(watcher(QUEUE_STAT, "object=\"''\" statistic=\"'StatCallsInQueue'\""))
    assert session.datamodel.evaluate("_data.path") == "unsubscribe failed"
    assert "object is required" in session.datamodel.evaluate("_data.error.description")


def test_sdata_follows_the_scheduled_value_changes(run):
    rule = subscription_rule(updates=[{"after": 50, "value": 2}, {"after": 20, "value": 9}])
    session, platform = run(watcher(QUEUE_STAT, QUEUE_STAT), {"statistics": {"StatCallsInQueue": 1}, "rules": [rule]})
    assert [u["v"] for u in session.datamodel.evaluate("updates")] == [1, 9, 2]
    assert session.datamodel.evaluate("seen") == [1, 9, 2]
    assert session.datamodel.evaluate("_genesys.statistic.sData('VQ1@StatServer.Q', 'StatCallsInQueue')") == 2
    assert session.datamodel.evaluate("_genesys.statistic.sData('VQ2@StatServer.Q', 'StatCallsInQueue')") == 1
    assert statistic.current_values(platform)["VQ1@StatServer.Q|StatCallsInQueue"] == 2


def test_periodic_updates_carry_the_value_of_their_time(run):
    rule = subscription_rule(periodic=True, max_updates=3, updates=[{"after": 25, "value": 6}])
    session, _ = run(watcher(QUEUE_STAT + ' interval="10"', QUEUE_STAT, watch="35s"), {"rules": [rule]})
    assert [u["v"] for u in session.datamodel.evaluate("updates")] == [0, 0, 0, 6, 6]  # 0, 10, 20, 25, 30 s


def test_a_run_time_change_reaches_sdata_and_live_subscriptions():
    r = OrsRun({"Statistic.scxml": watcher(QUEUE_STAT, QUEUE_STAT).encode()}, fakes={"none": True})
    try:
        r.run(max_time=10)
        assert statistic.set_statistic(r.platform, "VQ2@StatServer.Q", "StatCallsInQueue", 4) == []
        (live,) = r.platform.pending("statistic", "subscribe")
        assert statistic.set_statistic(r.platform, "VQ1@StatServer.Q", "StatCallsInQueue", 8) == [live.id]
        r.run(max_time=20)
        evaluate = r.session.datamodel.evaluate
        assert [u["v"] for u in evaluate("updates")] == [0, 8]
        assert evaluate("_genesys.statistic.sData('VQ1@StatServer.Q', 'StatCallsInQueue')") == 8
        assert evaluate("_genesys.statistic.sData('VQ2@StatServer.Q', 'StatCallsInQueue')") == 4
        # a change for every object does not reach a subscription with an object-specific value
        assert statistic.set_statistic(r.platform, None, "StatCallsInQueue", 3) == []
        assert evaluate("_genesys.statistic.sData('VQ3@StatServer.Q', 'StatCallsInQueue')") == 3
        with pytest.raises(ValueError, match="is a number"):
            statistic.set_statistic(r.platform, None, "StatCallsInQueue", "many")
        r.run()
        assert evaluate("_data.path") == "done" and [u["v"] for u in evaluate("updates")] == [0, 8]
    finally:
        r.session.datamodel.close()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"updates": [{"after": "soon", "value": 3}]},
            "$.rules[0].params.updates[0].after: 'soon' is not of type 'number'",
        ),
        ({"updates": {"after": 1}}, "$.rules[0].params.updates: {'after': 1} is not of type 'array'"),
        ({"periodic": True, "max_updates": -1}, "$.rules[0].params.max_updates: -1 is less than the minimum of 0"),
        ({"delay": None}, "$.rules[0].params.delay: None is not of type 'number'"),
        ({"dealy": 1}, "$.rules[0].params: unknown key(s) 'dealy' (did you mean 'delay'?)"),
    ],
)
def test_bad_statistic_settings_are_refused_when_the_profile_is_loaded(params, message):
    with pytest.raises(FakesError) as caught:
        load_fakes({"none": True, "rules": [subscription_rule(**params)]})
    assert caught.value.problems == [message]
