"""Resource interface (``http://www.genesyslab.com/modules/resource``): DN types and resource objects.

Spec: ``spec/ors-core.md`` section 6.  The module has **no action elements and no events**; it
contributes

* the ``_genesys.resource.resourceType`` enumeration (Configuration Server DN types), which the
  Composer include ``RouteFeature.js`` maps IRD names onto;
* the shape of the ``resource`` object that ``queue.submit.done`` returns and that interaction
  actions accept in ``to``/``resource`` (either a string - DN, agent or place id - or an object
  such as ``{"dn": "11111", "switch": "another_switch"}``).  :func:`make_resource` builds one,
  :func:`resource_problem` says what is wrong with a value a strategy passes.

Fakes profile: ``resource.resourceType`` (object name -> integer) overrides enumeration values,
for a platform whose numbering differs from the one chosen below.

Unverified choices
------------------
* ``resourceType`` values: ``CFGNoDN``..``CFGVirtACDQueue`` are 0..5 as documented; the other
  members follow the Configuration Server ``CfgDNType`` numbering as remembered (not confirmed by
  a retrieved source): ``CFGVirtRoutingPoint`` 6, ``CFGVoiceMail`` 7, ``CFGMixed`` 8,
  ``CFGCellular`` 9, ``CFGTrunk`` 12, ``CFGTieLine`` 13, ``CFGFAX`` 17, ``CFGEmail`` 20,
  ``CFGVoIP`` 21, ``CFGVideo`` 22, ``CFGChat`` 23, ``CFGCoBrowse`` 24, ``CFGWorkflow`` 26, and the
  wildcard ``any`` is -1.  Strategies only compare them symbolically; the profile can override.
* The enumeration object is frozen (ORS exposes it read-only); assigning to a member is ignored
  as in non-strict ECMAScript.
* A resource object given by a strategy may omit every property (ORS fills the gaps from the
  interaction); only unknown ``type``/``wb_type`` codes and non-string property values are
  rejected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .base import FakesSection, JSMember, Module, module

#: ``_genesys.resource.resourceType``: Configuration Server DN types (see "Unverified choices").
RESOURCE_TYPE: dict[str, int] = {
    "CFGNoDN": 0,
    "CFGExtension": 1,
    "CFGACDPosition": 2,
    "CFGACDQueue": 3,
    "CFGRoutingPoint": 4,
    "CFGVirtACDQueue": 5,
    "CFGVirtRoutingPoint": 6,
    "CFGVoiceMail": 7,
    "CFGMixed": 8,
    "CFGCellular": 9,
    "CFGTrunk": 12,
    "CFGTieLine": 13,
    "CFGFAX": 17,
    "CFGEmail": 20,
    "CFGVoIP": 21,
    "CFGVideo": 22,
    "CFGChat": 23,
    "CFGCoBrowse": 24,
    "CFGWorkflow": 26,
    "any": -1,
}

#: ``resource.type`` codes (spec 6.1): agent, place, agent group, place group, workbin,
#: interaction queue, queue, route point, directory number
RESOURCE_OBJECT_TYPES: tuple[str, ...] = ("A", "AP", "GA", "GP", "WB", "IQ", "Q", "RP", "DN")
#: every property of a resource object, in the documented order
RESOURCE_FIELDS: tuple[str, ...] = ("type", "dn", "switch", "agent", "place", "id", "vq", "wb_type", "wb_owner")
#: ``resource.wb_type``: workbin owner types
WORKBIN_OWNER_TYPES: tuple[str, ...] = ("A", "AP", "AG", "PG")
#: JSON schema of the profile's ``resource`` section (see :data:`FAKES`)
FAKES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"resourceType": {"type": "object", "additionalProperties": {"type": "integer"}}},
}


def make_resource(rtype: str, **fields: str) -> dict[str, str]:
    """A resource object of type `rtype` (``A``, ``DN``, ...) with the given properties.

    Every documented property is present (empty string when not given) so strategies reading
    ``_event.data.resource.place`` get a string, as from ORS.  Raises ``ValueError`` for an
    unknown type code or property name (a programming error in a fake, not strategy input).
    """
    if rtype not in RESOURCE_OBJECT_TYPES:
        raise ValueError(f"unknown resource type {rtype!r} (expected one of {', '.join(RESOURCE_OBJECT_TYPES)})")
    unknown = sorted(set(fields) - set(RESOURCE_FIELDS))
    if unknown:
        raise ValueError(f"unknown resource properties: {', '.join(unknown)}")
    resource = {name: "" for name in RESOURCE_FIELDS}
    resource.update({name: "" if value is None else str(value) for name, value in fields.items()})
    resource["type"] = rtype
    return resource


def resource_problem(value: Any) -> str | None:
    """Why `value` is not a valid ``to``/``resource`` argument, or None when it is.

    Accepted: a non-empty string (DN number, agent id or place id) or an object whose known
    properties are strings (numbers are accepted for ``dn``-like ids) and whose ``type`` /
    ``wb_type`` are documented codes.  Unknown extra properties are tolerated (ORS ignores them).
    """
    if isinstance(value, str):
        return None if value.strip() else "the resource is an empty string"
    if not isinstance(value, Mapping):
        return f"a resource is a string or an object, not {_js_type(value)}"
    for name in RESOURCE_FIELDS:
        prop = value.get(name)
        if prop is None:
            continue
        if isinstance(prop, bool) or not isinstance(prop, (str, int, float)):
            return f"resource property '{name}' must be a string, not {_js_type(prop)}"
    rtype = value.get("type")
    if rtype not in (None, "") and rtype not in RESOURCE_OBJECT_TYPES:
        return f"unknown resource type {rtype!r} (expected one of {', '.join(RESOURCE_OBJECT_TYPES)})"
    wb_type = value.get("wb_type")
    if wb_type not in (None, "") and wb_type not in WORKBIN_OWNER_TYPES:
        return f"unknown workbin owner type {wb_type!r} (expected one of {', '.join(WORKBIN_OWNER_TYPES)})"
    return None


def _js_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "an array"
    return type(value).__name__


# The enumeration is built from RESOURCE_TYPE at import time: the text stays constant for every
# session (compiled once); profile overrides are applied per session from ``__orsFakes``. The
# literal is the enumeration itself (its own properties in RESOURCE_TYPE's order, as a copy of
# them had: the surfaces are installed before any document code, so nothing could have told a
# copy from it; copying the 20 keys was ~1% of an ORS interaction).
JS = (
    r"""
(function (g, types) {
  var overrides = (typeof __orsFakes === 'object' && __orsFakes && __orsFakes.resource &&
                   __orsFakes.resource.resourceType) || {};
  // (`types`, the literal below, is the enumeration:
  //  the defaults in RESOURCE_TYPE's order; lines kept
  //  as they were, as host code's lines show in
  //  errors' stacks)
  for (var o in overrides) {
    if (Object.prototype.hasOwnProperty.call(overrides, o) && typeof overrides[o] === 'number') types[o] = overrides[o];
  }
  g.resource = {resourceType: Object.freeze(types)};
})(_genesys, """
    + json.dumps(RESOURCE_TYPE)
    + ");\n"
)

#: the profile section this module reads; a rule's ``params`` follow the same schema
FAKES = (FakesSection("resource", FAKES_SCHEMA, {}, js=True),)

MODULE: Module = module(
    "resource",
    fakes=FAKES,
    events=(),
    js=JS,
    js_members=(
        JSMember(
            "resourceType",
            "enum",
            members=tuple(RESOURCE_TYPE),
            doc="Configuration Server DN types (CFGNoDN=0 ... CFGVirtACDQueue=5, any=-1)",
        ),
    ),
    doc="resource objects (queue results, interaction targets) and the DN type enumeration; no actions",
)
