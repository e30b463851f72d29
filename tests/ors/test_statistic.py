"""Statistic module: sData, subscribe/unsubscribe and statistic.update (spec ors-core.md section 5)."""

from __future__ import annotations

import json

import pytest

from simulator.ors.extensions import module_for_namespace, statistic
from simulator.scxml.datamodel import ECMAScriptDataModel, JSError

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
