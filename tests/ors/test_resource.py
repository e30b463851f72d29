"""Resource module: the resourceType enumeration and the resource object (spec ors-core.md section 6)."""

from __future__ import annotations

import json

import pytest

from simulator.ors.extensions import BY_NAME, module_for_namespace, resource
from simulator.ors.fakes import FakesError, load_fakes
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
