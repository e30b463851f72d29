"""Compact nested diffs of JSON values, so a large variable that changed a little is traced as
its change, not whole (a document that appends to an array on every event would otherwise
cost n^2 bytes of trace over n events).

A diff is a list of operations, applied in order, each with a ``path`` (object keys and array
indexes from the value's root):

- ``{"path": p, "set": v}``: the value at ``p`` becomes ``v`` (``p`` may be a new object key);
- ``{"path": p, "remove": true}``: the object key at ``p`` is gone;
- ``{"path": p, "append": [items]}``: the array at ``p`` grew by ``items`` at its end.

Public API: ``same(old, new)`` (whether two values are the same JSON: Python's ``==`` but for
``True == 1``); ``diff(old, new)`` and ``apply(old, ops)`` (pure: ``old`` is never changed, and
``apply(old, diff(old, new)) == new``); ``large_change(old, new)`` (the diff when a variable is
worth patching); ``diff_variables(old, new)`` (the ``changed, removed, patches`` between two sets
of variables) and ``update_variables(variables, changes)`` (a ``{changed, removed, patches?}``
change, as `datamodel` records and frames carry it, applied to a dict of variables). Values are
JSON values (dict, list, str, number, bool, None).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

import orjson

Path = list[str | int]

#: a changed variable whose JSON is longer than this travels as a patch (when it is a container)
PATCH_THRESHOLD = 2048


#: `{variable name: (value, whether its JSON is at most PATCH_THRESHOLD long)}`: what a diff of
#: the variables measured, for a later diff of the very same value object (see diff_variables)
Sizes = dict[str, tuple[Any, bool]]


def large_change(old: Any, new: Any, small: bool | None = None) -> list[dict[str, Any]] | None:
    """`diff(old, new)` when `new` is a large object/array and `old` a container too; None when
    the variable should travel whole (small, or a different kind of value). `small`: whether
    `new`'s JSON is short, when the caller knows it (None: measured here)."""
    if not (isinstance(old, (dict, list)) and isinstance(new, (dict, list))):
        return None
    if small is None:
        small = _small(new)
    return None if small else diff(old, new) or None


def _small(value: Any) -> bool:
    """Whether `json.dumps(value, separators=(",", ":"))` is at most PATCH_THRESHOLD long."""
    return _surely_small(value) or len(json.dumps(value, separators=(",", ":"))) <= PATCH_THRESHOLD


def _surely_small(value: Any) -> bool:
    """Whether `json.dumps(value, separators=(",", ":"))` is surely at most PATCH_THRESHOLD long,
    told from orjson's text (~15x cheaper; this runs for every changed container variable of every
    step) by an upper bound of the difference; False when unsure (the caller measures exactly).

    orjson's text differs from `json`'s (ASCII only: every string is, and `json`'s escapes of
    ASCII characters are as long as orjson's but for DEL, 1 -> 6) in the numbers: both print a
    float's shortest round-trip digits, `json` with an exponent sign and at least two exponent
    digits (orjson's `1e-8`, `1e16` are `1e-08`, `1e+16`: at most one character more for each `e`
    orjson printed, and never more where orjson printed none), and NaN and +-Infinity, which
    orjson prints as `null` (at most 5 characters more). Counting every `e`, `null` and DEL byte
    (in keys and strings too) only makes the bound looser. Integers past 64 bits, non-string
    keys, subclasses and types `json` cannot encode make orjson raise: unsure (but UUIDs and
    enums, which no parsed JSON value is). The `e`s are counted loosely first (all of them), then,
    when that bound is too large, only those after a digit."""
    try:
        text = orjson.dumps(value, option=_STRICT)
    except TypeError:  # orjson.JSONEncodeError is one
        return False
    if not text.isascii():
        return False
    bound = len(text) + 5 * (text.count(b"null") + text.count(b"\x7f"))
    if bound + text.count(b"e") <= PATCH_THRESHOLD:
        return True
    # Only an exponent's `e` counts, and orjson prints a digit before it; most `e`s are in keys and
    # strings ("Type", "Event"), which rarely have one there. ~2 us for 2 KB, where `json.dumps`
    # would take ~15 (a 2 KB variable near the threshold changes on every step of the sample).
    return bound <= PATCH_THRESHOLD and bound + text.translate(_DIGITS_AS_0).count(b"0e") <= PATCH_THRESHOLD


#: every ASCII digit as `0`, so one count finds the `e`s that follow a digit
_DIGITS_AS_0 = bytes.maketrans(b"123456789", b"000000000")


# orjson raises for what it would encode otherwise than `json` (or where `json` raises)
_STRICT = orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def diff_variables(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    sizes: Sizes | None = None,
    names: AbstractSet[str] | None = None,
) -> tuple[dict[str, Any], list[str], dict[str, list[dict[str, Any]]]]:
    """(changed, removed, patches) from the variables `old` to `new`: a new or changed variable
    is in `changed` whole, unless it is a large container that changed a little (`large_change`):
    then its patch is in `patches`. `update_variables` applies the three.

    `sizes`: the sizes earlier diffs measured (updated here): a value that is the very object
    measured under its name is not measured again (a step's frame diffs the objects its trace's
    `datamodel` record diffed). Only for values nobody changes in place, as the parsed values
    of the trace are (see SessionBase.record_datamodel).

    `names`: the only variables that may differ (None: any): the same diff, in the same order,
    over those only (a step's frame diffs the variables its records named)."""
    if names is not None:
        old, new = _named(old, names), _named(new, names)
    changed: dict[str, Any] = {}
    patches: dict[str, list[dict[str, Any]]] = {}
    for name, value in new.items():
        if name not in old:
            changed[name] = value
        elif not same(old[name], value):
            small = None
            if sizes is not None and isinstance(value, (dict, list)) and isinstance(old[name], (dict, list)):
                known = sizes.get(name)
                if known is not None and known[0] is value:
                    small = known[1]
                else:
                    small = _small(value)
                    sizes[name] = (value, small)
            ops = large_change(old[name], value, small)
            if ops:
                patches[name] = ops
            else:
                changed[name] = value
    removed = [name for name in old if name not in new]
    if sizes:
        for name in removed:  # kept only for variables that are there
            sizes.pop(name, None)
    return changed, removed, patches


def _named(values: Mapping[str, Any], names: AbstractSet[str]) -> dict[str, Any]:
    """The items of `values` whose names are in `names`, in the order of `values`. A step names a
    few of the variables: they are looked up (and put in order in C), not found by walking all."""
    if len(names) > 8:
        return {name: value for name, value in values.items() if name in names}
    present = [name for name in names if name in values]
    if len(present) > 1:
        present.sort(key=list(values).index)
    return {name: values[name] for name in present}


def update_variables(variables: dict[str, Any], changes: Mapping[str, Any]) -> None:
    """Apply a `{changed, removed, patches?}` change to `variables` in place (patched values are
    new objects: values shared with earlier states are not changed)."""
    variables.update(changes.get("changed") or {})
    for name in changes.get("removed") or ():
        variables.pop(name, None)
    for name, ops in (changes.get("patches") or {}).items():
        variables[name] = apply(variables.get(name), ops)


#: how deep `diff` goes into nested containers; below that a changed value is set whole. This
#: module is compiled by mypyc (simulator/scxml/compiled.py), whose recursion has no interpreter
#: limit: the bound keeps the C stack and the paths (quadratic in the depth) small whatever the
#: values are. Interpreted, `diff` stopped near it anyway (the limit is 1,000 frames, less the
#: caller's), and the datamodel reads no value much deeper (datamodel._loads)
MAX_DEPTH = 800


def same(old: Any, new: Any) -> bool:
    """Whether `old` and `new` are the same JSON value. Python's `==` says `True == 1`, `False == 0`
    (and so `{"a": True} == {"a": 1}`), where JSON's booleans are not numbers: a variable, a field
    or an expectation that went from `1` to `true` is a change. Numbers compare by value (`1` and
    `1.0` are one JSON number); objects by their members, whatever their order."""
    return old is new or (old == new and _same_kinds(old, new, 0))


def _same_kinds(old: Any, new: Any, depth: int) -> bool:
    """For `old == new`: whether no boolean stands where the other has a number. Below MAX_DEPTH
    (see `diff`) the values are taken as `==` says."""
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new)
    if depth >= MAX_DEPTH:
        return True
    if isinstance(old, dict):
        for key, value in old.items():
            other = new[key]
            if value is not other and not _same_kinds(value, other, depth + 1):
                return False
    elif isinstance(old, (list, tuple)):
        for index, value in enumerate(old):
            other = new[index]
            if value is not other and not _same_kinds(value, other, depth + 1):
                return False
    return True


def diff(old: Any, new: Any) -> list[dict[str, Any]]:
    """The operations that turn `old` into `new` (empty when they are equal)."""
    ops: list[dict[str, Any]] = []
    _diff(old, new, [], ops)
    return ops


def _diff(old: Any, new: Any, path: Path, ops: list[dict[str, Any]]) -> None:
    if type(old) is not type(new):  # 1 == 1.0 == True in Python, not in JSON
        ops.append({"path": path, "set": new})
    elif len(path) >= MAX_DEPTH:  # compared whole (by C, within the interpreter's recursion limit)
        if not same(old, new):
            ops.append({"path": path, "set": new})
    elif isinstance(old, dict):
        for key, value in new.items():
            if key in old:
                _diff(old[key], value, [*path, key], ops)
            else:
                ops.append({"path": [*path, key], "set": value})
        ops.extend({"path": [*path, key], "remove": True} for key in old if key not in new)
    elif isinstance(old, list) and len(new) >= len(old):
        # Grown or changed in place, item by item; a shorter array is set whole (rare, and simple).
        for index, value in enumerate(old):
            _diff(value, new[index], [*path, index], ops)
        if len(new) > len(old):
            ops.append({"path": path, "append": new[len(old) :]})
    elif old != new:
        ops.append({"path": path, "set": new})


def apply(old: Any, ops: list[dict[str, Any]]) -> Any:
    """`old` with the operations applied; containers on the changed paths are copied, so `old`
    (and any state that shares its parts) stays as it was."""
    root = [old]
    for op in ops:
        path = op["path"]
        parent: Any = root
        key: str | int = 0
        for step in path:  # copy each container down the path before changing it
            child = parent[key]
            child = dict(child) if isinstance(child, dict) else list(child)
            parent[key] = child
            parent, key = child, step
        if "set" in op:
            if isinstance(parent, list) and key == len(parent):
                parent.append(op["set"])
            else:
                parent[key] = op["set"]
        elif op.get("remove"):
            del parent[key]
        else:
            parent[key] = [*parent[key], *op["append"]]
    return root[0]
