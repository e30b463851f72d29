"""Resource module: the resourceType enumeration and the resource object (spec ors-core.md section 6)."""

from __future__ import annotations

import json

import pytest

from simulator.ors.extensions import BY_NAME, module_for_namespace, resource
from simulator.ors.fakes import FakesError, load_fakes
from simulator.runners.driver import OrsRun
from simulator.scxml.datamodel import ECMAScriptDataModel

#: every member the spec names (documented 0..5, the Composer-used ones, and the wildcard)
SPEC_MEMBERS = [
    "CFGNoDN",
    "CFGExtension",
    "CFGACDPosition",
    "CFGACDQueue",
    "CFGRoutingPoint",
    "CFGVirtACDQueue",
    "CFGVirtRoutingPoint",
    "CFGVoiceMail",
    "CFGMixed",
    "CFGCellular",
    "CFGTrunk",
    "CFGTieLine",
    "CFGFAX",
    "CFGEmail",
    "CFGVoIP",
    "CFGVideo",
    "CFGChat",
    "CFGCoBrowse",
    "CFGWorkflow",
    "any",
]


@pytest.fixture
def js():
    """A datamodel with the ORS ``_genesys`` root and the resource surface installed."""

    def make(fakes: dict | None = None) -> ECMAScriptDataModel:
        dm = ECMAScriptDataModel()
        dm.execute("var _genesys = {}; var __orsFakes = " + json.dumps(fakes or {}) + ";")
        dm.execute(resource.JS)
        made.append(dm)
        return dm

    made: list[ECMAScriptDataModel] = []
    yield make
    for dm in made:
        dm.close()


def test_it_is_selected_by_every_namespace_spelling():
    for ns in (
        "http://www.genesyslab.com/modules/resource",
        "www.genesyslab.com/modules/resource",
    ):
        assert module_for_namespace(ns) is resource.MODULE
    assert BY_NAME["resource"] is resource.MODULE


def test_it_declares_no_actions_and_no_events():
    assert resource.MODULE.actions == {}
    assert resource.MODULE.events == ()


def test_it_declares_every_resource_type_member():
    (member,) = resource.MODULE.js_members
    assert member.name == "resourceType" and member.kind == "enum"
    assert set(member.members) == set(SPEC_MEMBERS)


def test_the_enumeration_has_the_documented_values_and_distinct_integers(js):
    types = js().evaluate("_genesys.resource.resourceType")
    assert set(types) == set(SPEC_MEMBERS)
    assert [types[n] for n in SPEC_MEMBERS[:6]] == [0, 1, 2, 3, 4, 5]
    assert types["any"] == -1
    assert len(set(types.values())) == len(types)
    assert all(isinstance(v, int) for v in types.values())


def test_the_enumeration_is_read_only(js):
    dm = js()
    dm.execute("_genesys.resource.resourceType.CFGExtension = 42;")
    assert dm.evaluate("_genesys.resource.resourceType.CFGExtension") == 1


def test_the_profile_overrides_enumeration_values(js):
    dm = js({"resource": {"resourceType": {"CFGTrunk": 99, "CFGNew": 77, "CFGBad": "x"}}})
    assert dm.evaluate("_genesys.resource.resourceType.CFGTrunk") == 99
    assert dm.evaluate("_genesys.resource.resourceType.CFGNew") == 77
    assert dm.evaluate("typeof _genesys.resource.resourceType.CFGBad") == "undefined"
    assert dm.evaluate("_genesys.resource.resourceType.CFGExtension") == 1


def test_composer_route_feature_maps_ird_names_onto_the_enumeration(js, shared_dir):
    dm = js()
    dm.execute((shared_dir / "ors-samples/composer-stock/include/RouteFeature.js").read_text(encoding="utf-8"))
    assert dm.evaluate("getDNTypeEnum('CFGExtension')") == 1
    assert dm.evaluate("getDNTypeEnum('any')") == -1
    for name in ("CFGCellular", "CFGChat", "CFGCoBrowse", "CFGEmail", "CFGFAX", "CFGVideo", "CFGVoiceMail"):
        assert dm.evaluate(f"getDNTypeEnum('{name}')") == resource.RESOURCE_TYPE[name]
    assert dm.evaluate("getDNTypeEnum('CFGUnknownName')") == "CFGUnknownName"


def test_make_resource_fills_every_documented_property():
    res = resource.make_resource("A", dn="7001", switch="SIP", agent="Agent001", vq="VQ1")
    assert list(res) == list(resource.RESOURCE_FIELDS)
    assert res == {
        "type": "A",
        "dn": "7001",
        "switch": "SIP",
        "agent": "Agent001",
        "place": "",
        "id": "",
        "vq": "VQ1",
        "wb_type": "",
        "wb_owner": "",
    }


@pytest.mark.parametrize("rtype", resource.RESOURCE_OBJECT_TYPES)
def test_make_resource_accepts_every_documented_type(rtype):
    assert resource.make_resource(rtype)["type"] == rtype


def test_make_resource_rejects_an_unknown_type_or_property():
    with pytest.raises(ValueError, match="unknown resource type 'X'"):
        resource.make_resource("X")
    with pytest.raises(ValueError, match="unknown resource properties: colour"):
        resource.make_resource("A", colour="red")


@pytest.mark.parametrize(
    "value",
    [
        "7001",
        "Agent001",
        {"dn": "11111", "switch": "another_switch"},
        {"type": "WB", "id": "MyWorkbin", "wb_type": "AG", "wb_owner": "Sales"},
        {"dn": 11111},
        {},
        {"dn": "1", "extra": [1, 2]},
    ],
)
def test_resource_problem_accepts_strings_and_resource_objects(value):
    assert resource.resource_problem(value) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty string"),
        (42, "not a number"),
        (None, "not null"),
        ([], "not an array"),
        ({"dn": {"x": 1}}, "'dn' must be a string, not dict"),
        ({"agent": True}, "'agent' must be a string, not a boolean"),
        ({"type": "Agent"}, "unknown resource type 'Agent'"),
        ({"wb_type": "Q"}, "unknown workbin owner type 'Q'"),
    ],
)
def test_resource_problem_explains_what_is_wrong(value, message):
    problem = resource.resource_problem(value)
    assert problem is not None and message in problem


def test_the_profile_section_is_validated_with_clear_errors():
    with pytest.raises(FakesError) as caught:
        load_fakes({"resource": {"resourceType": {"CFGTrunk": "12"}, "types": {}}})
    assert caught.value.problems == [
        "$.resource: unknown key(s) 'types'",
        "$.resource.resourceType.CFGTrunk: '12' is not of type 'integer'",
    ]


# -- in a running ORS session -------------------------------------------------------------------

ROUTE = """<?xml version="1.0" encoding="UTF-8"?>
<scxml version="1.0" xmlns="http://www.w3.org/2005/07/scxml"
    xmlns:queue="http://www.genesyslab.com/modules/queue"
    xmlns:ixn="http://www.genesyslab.com/modules/interaction"
    initial="wait" _persist="false" profile="ecmascript">
  <datamodel>
    <data id="resource" expr="null"/>
    <data id="edited" expr="null"/>
    <data id="dnType" expr="_genesys.resource.resourceType.CFGExtension"/>
  </datamodel>
  <state id="wait">
    <onentry><script>var system = {}; var App_Target1 = new Object(); var App_Route1 = new Object();</script></onentry>
    <transition event="interaction.added" target="Target1">
      <assign location="system.InteractionID" expr="_event.data.interactionid"/>
    </transition>
  </state>
  <state id="Target1">
    <onentry>
      <queue:submit route="false" requestid="App_Target1['requestid']" interactionid="system.InteractionID"
          queue="'VQ_Sales'" timeout="30" clearontimeout="true" priority="0" ordertype="'max'"
          orderstat="'StatAgentLoading'">
        <queue:targets><queue:target name="'AG_Sales'" type="agentgroup" statserver="'Stat_Server'"/></queue:targets>
      </queue:submit>
    </onentry>
    <transition event="queue.submit.done" cond="_event.data.requestid==App_Target1['requestid']" target="Route1">
      <assign location="_data.resource" expr="_event.data.resource"/>
      <script>var copy = JSON.parse(JSON.stringify(_event.data.resource)); copy.switch = 'another_switch';</script>
      <assign location="_data.edited" expr="copy"/>
    </transition>
    <transition event="error.queue.submit" target="failed"/>
  </state>
  <state id="Route1">
    <onentry>
      <ixn:redirect requestid="App_Route1['requestid']" interactionid="system.InteractionID"
          to="_data.edited" type="_genesys.queue.rType.RouteTypeDefault" hints="{}"/>
    </onentry>
    <transition event="interaction.redirect.done" cond="_event.data.requestid==App_Route1['requestid']" target="ok"/>
    <transition event="error.interaction.redirect" target="failed"/>
  </state>
  <final id="ok"/>
  <final id="failed"/>
</scxml>"""


def test_a_queue_result_is_a_documented_resource_that_interaction_actions_accept():
    r = OrsRun({"Route.scxml": ROUTE.encode()})
    try:
        r.run()
        assert r.session.errors == [] and r.session.final_state == "ok"
        evaluate = r.session.datamodel.evaluate
        assert evaluate("_data.dnType") == 1
        res = evaluate("_data.resource")
        assert resource.resource_problem(res) is None
        assert res["type"] in resource.RESOURCE_OBJECT_TYPES
        assert set(res) <= set(resource.RESOURCE_FIELDS)
        assert res["vq"] == "VQ_Sales" and res["dn"]
        redirect = next(q for q in r.platform.requests.values() if q.action == "redirect")
        assert redirect.attributes["to"] == {**res, "switch": "another_switch"}
        assert resource.resource_problem(redirect.attributes["to"]) is None
    finally:
        r.session.datamodel.close()


#: the surface as it was built before: a copy of the literal's keys (the reference the literal
#: itself, taken as the enumeration, must match)
_COPYING_JS = (
    r"""
(function (g, defaults) {
  var overrides = (typeof __orsFakes === 'object' && __orsFakes && __orsFakes.resource &&
                   __orsFakes.resource.resourceType) || {};
  var types = {};
  for (var k in defaults) {
    if (Object.prototype.hasOwnProperty.call(defaults, k)) types[k] = defaults[k];
  }
  for (var o in overrides) {
    if (Object.prototype.hasOwnProperty.call(overrides, o) && typeof overrides[o] === 'number') types[o] = overrides[o];
  }
  g.resource = {resourceType: Object.freeze(types)};
})(_genesys, """
    + json.dumps(resource.RESOURCE_TYPE)
    + ");\n"
)

#: everything a document can read of the enumeration: keys in order, values, attributes, prototype,
#: frozenness, and the holder's own keys
_DESCRIBE = (
    "(function () { var t = _genesys.resource.resourceType, out = [];"
    " var ks = Object.getOwnPropertyNames(t);"
    " for (var i = 0; i < ks.length; i++) { var d = Object.getOwnPropertyDescriptor(t, ks[i]);"
    "  out.push([ks[i], d.value, 1 / d.value < 0, d.writable, d.enumerable, d.configurable]); }"
    " var keys = []; for (var k in t) keys.push(k);"
    " return JSON.stringify([out, keys, Object.isFrozen(t), Object.isExtensible(t),"
    "  Object.getPrototypeOf(t) === Object.prototype, Object.getOwnPropertyNames(_genesys.resource),"
    "  Object.getOwnPropertySymbols(t).length]); })()"
)


@pytest.mark.parametrize(
    "fakes",
    [
        None,
        {},
        {"resource": {}},
        {"resource": {"resourceType": {}}},
        {"resource": {"resourceType": {"CFGTrunk": 99, "CFGNew": 77, "CFGBad": "x"}}},
        {"resource": {"resourceType": {"7": 1, "CFGNoDN": -0.0, "0": 2, "any": 1.5, "zz": None, "CFGFAX": True}}},
        {"resource": {"resourceType": {"__proto__": 5, "hasOwnProperty": 3, "constructor": 4}}},
        {"resource": {"resourceType": [1, 2]}},
        {"resource": {"resourceType": "CFGNoDN"}},
        {"resource": None},
    ],
)
def test_the_enumeration_is_the_object_a_copy_of_the_defaults_made(fakes):
    described = []
    for source in (_COPYING_JS, resource.JS):
        dm = ECMAScriptDataModel()
        try:
            prelude = "var _genesys = {};"
            if fakes is not None:
                prelude += " var __orsFakes = " + json.dumps(fakes) + ";"
            dm.execute(prelude)
            dm.execute(source)
            described.append(dm.evaluate(_DESCRIBE))
        finally:
            dm.close()
    assert described[0] == described[1]
    assert "CFGNoDN" in [row[0] for row in json.loads(described[1])[0]]  # the enumeration itself
