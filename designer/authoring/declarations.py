"""The extension declarations (simulator/ors/extensions) as JSON for the inspector.

The inspector of an extension action (`queue:submit`, `ixn:redirect`...) is generated from the
same declarations the ORS lint checks: each attribute with its required/optional status, type,
whether it is an expression, a literal or a location, its allowed values, default and help.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from simulator.ors.analysis import module_names
from simulator.ors.extensions import MODULES
from simulator.ors.extensions.base import NO_DEFAULT, Attr, Child


def _attr_json(attr: Attr) -> dict[str, Any]:
    return {
        "name": attr.name,
        "kind": attr.kind,
        "required": attr.required,
        "type": attr.type,
        "values": list(attr.values) if attr.values is not None else None,
        "default": None if attr.default is NO_DEFAULT else attr.default,
        "help": attr.doc,
    }


def _child_json(child: Child) -> dict[str, Any]:
    return {
        "tag": child.tag,
        "namespace": child.namespace,
        "min": child.min,
        "max": child.max,
        "attributes": [_attr_json(a) for a in child.attributes],
        "children": [_child_json(c) for c in child.children],
        "help": child.doc,
    }


@cache
def extension_declarations() -> list[dict[str, Any]]:
    """Every module: namespaces, short name and actions with their attribute declarations."""
    names = module_names()
    return [
        {
            "module": module.name,
            "short": names.get(module.namespace, module.name),
            "namespaces": list(module.namespaces),
            "help": module.doc,
            "actions": [
                {
                    "name": action.name,
                    "help": action.doc,
                    "attributes": [_attr_json(a) for a in action.attributes],
                    "children": [_child_json(c) for c in action.children],
                    "events": list(action.events),
                }
                for action in module.actions.values()
            ],
        }
        for module in MODULES
    ]
