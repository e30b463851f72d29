"""The `_genesys` enumerations made by literals (`queue.rType`, `ixn.mediaType`,
`resource.resourceType`) instead of loops over their names: the surfaces as they were (rebuilt
here from the old lines) and as they are make the same objects, and a host function that throws
reports the same stack and line (host code's lines show there), line for line."""

from __future__ import annotations

import json

import pytest

from simulator.ors.dialect import surfaces_js
from simulator.ors.extensions.interaction import MEDIA_TYPES
from simulator.scxml.datamodel import ECMAScriptDataModel, JSError

#: (the lines as they are, the lines as they were): each pair the same number of lines
_OLD_LINES = [
    (
        "  // (rType below: the route types numbered from 0)\n",
        "  function en(names, start) { var o = {}; for (var i = 0; i < names.length; i++) o[names[i]] = start + i;"
        " return o; }\n",
    ),
    (
        '    rType: {"RouteTypeUnknown": 0, "RouteTypeDefault": 1, "RouteTypeLabel": 2, "RouteTypeOverwriteDNIS": 3,'
        ' "RouteTypeDDD": 4, "RouteTypeIDDD": 5, "RouteTypeDirect": 6, "RouteTypeReject": 7,'
        ' "RouteTypeAnnouncement": 8, "RouteTypePostFeature": 9, "RouteTypeDirectAgent": 10,'
        ' "RouteTypeGetFromDN": 11},\n'
        "    // (the names, in the order\n"
        "    //  of ROUTE_TYPES,\n"
        "    //  each its position)\n",
        '    rType: en(["RouteTypeUnknown", "RouteTypeDefault", "RouteTypeLabel", "RouteTypeOverwriteDNIS",\n'
        '               "RouteTypeDDD", "RouteTypeIDDD", "RouteTypeDirect", "RouteTypeReject",\n'
        '               "RouteTypeAnnouncement", "RouteTypePostFeature", "RouteTypeDirectAgent",\n'
        '               "RouteTypeGetFromDN"], 0),\n',
    ),
    (
        "  var ixn = { interactions: {}, mediaType: "
        + json.dumps(
            {
                **{m: i for i, m in enumerate(MEDIA_TYPES)},
                "TMediaAny": -1,
            }
        )
        + " };\n"
        "  // (mediaType: the MEDIA_TYPES in order, numbered from 0,\n"
        "  //  then TMediaAny = -1)\n"
        "\n",
        '  var media = ["TMediaVoice","TMediaVoIP","TMediaEMail","TMediaVMail","TMediaSMail","TMediaChat",'
        '"TMediaVideo","TMediaCobrowsing","TMediaWhiteboard","TMediaAppSharing","TMediaWebform","TMediaWorkItem",'
        '"TMediaCallback","TMediaFax","TMediaIMChat","TMediaBusinessEvent","TMediaAlert","TMediaSMS",'
        '"TMediaOutboundPreview","TMediaOpenMedia","TMediaNativeSMS"];\n'
        "  var ixn = { interactions: {}, mediaType: {} };\n"
        "  for (var i = 0; i < media.length; i++) ixn.mediaType[media[i]] = i;\n"
        "  ixn.mediaType.TMediaAny = -1;\n",
    ),
    ("(function (g, types) {\n", "(function (g, defaults) {\n"),
    (
        "  // (`types`, the literal below, is the enumeration:\n"
        "  //  the defaults in RESOURCE_TYPE's order; lines kept\n"
        "  //  as they were, as host code's lines show in\n"
        "  //  errors' stacks)\n",
        "  var types = {};\n"
        "  for (var k in defaults) {\n"
        "    if (Object.prototype.hasOwnProperty.call(defaults, k)) types[k] = defaults[k];\n"
        "  }\n",
    ),
]


def _old_surfaces() -> str:
    text = surfaces_js()
    for new, old in _OLD_LINES:
        assert text.count(new) == 1, new
        assert new.count("\n") == old.count("\n")
        text = text.replace(new, old)
    return text


#: what a document can read of an enumeration: keys in order, values, attributes, prototype,
#: extensibility and frozenness
_DESCRIBE = (
    "(function (t) { var out = [], ks = Object.getOwnPropertyNames(t);"
    " for (var i = 0; i < ks.length; i++) { var d = Object.getOwnPropertyDescriptor(t, ks[i]);"
    "  out.push([ks[i], d.value, d.writable, d.enumerable, d.configurable]); }"
    " var keys = []; for (var k in t) keys.push(k);"
    " return JSON.stringify([out, keys, Object.isFrozen(t), Object.isExtensible(t),"
    "  Object.getPrototypeOf(t) === Object.prototype]); })(%s)"
)

#: host functions that throw, and what the stack of each error says
_THROWS = [
    "_genesys.ixn.setuData({a: 1}, 'no such interaction')",
    "_genesys.ixn.setuData(5)",
    "_genesys.ixn.deleteuData(null, 'nope')",
    "_genesys.statistic.sData('x', 5)",
    "_genesys.session.isSpecialDay('t', 'd', 'Not/AZone')",
    "_genesys.queue.reserveTarget(1, 2)",
    "_genesys.queue.cCTExtractTargets(1, 2, {toString: function () { throw new Error('doc'); }})",
]


def _install(source: str, fakes: dict) -> ECMAScriptDataModel:
    dm = ECMAScriptDataModel(intrinsics="es5")

    def call(name: str, args: str) -> str:
        raise JSError("Error", f"{name} refused")

    dm.declare_value("__orsFakes", fakes)
    dm.define_function("__orsCall", call, native_args=True)
    dm.define_function("__orsLog", lambda *a: None, native_args=True)
    dm.execute_host(source)
    return dm


@pytest.mark.parametrize(
    "fakes",
    [
        {},
        {"resource": {"resourceType": {"CFGTrunk": 99, "CFGNew": 77, "7": 1}}},
    ],
)
def test_the_literal_enumerations_are_the_objects_the_loops_made(fakes):
    made = []
    for source in (_old_surfaces(), surfaces_js()):
        dm = _install(source, {"session": {"server": {}}, **fakes})
        try:
            seen = [dm.evaluate(_DESCRIBE % t) for t in ("_genesys.queue.rType", "_genesys.ixn.mediaType")]
            seen.append(dm.evaluate(_DESCRIBE % "_genesys.resource.resourceType"))
            seen.append(dm.evaluate("JSON.stringify(Object.getOwnPropertyNames(_genesys.ixn))"))
            seen.append(
                dm.evaluate("[_genesys.ixn.getMediaIntValue('TMediaChat'), _genesys.ixn.getMediaIntValue('TMediaAny')]")
            )
            for expr in _THROWS:
                seen.append(
                    dm.evaluate(
                        f"(function () {{ try {{ {expr}; return 'no error'; }} catch (e) {{ return e.stack; }} }})()"
                    )
                )
                try:
                    dm.execute(expr + ";")
                    seen.append("no error")
                except JSError as exc:
                    seen.append((exc.name, exc.message, exc.line, exc.source))
            made.append(seen)
        finally:
            dm.close()
    assert made[0] == made[1]
    assert json.loads(made[1][0])[0][11] == ["RouteTypeGetFromDN", 11, True, True, True]
    assert any(isinstance(s, tuple) and s[2] is not None for s in made[1])  # some line was reported
