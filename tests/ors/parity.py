"""Strategies that call every ORS action, every ``_genesys`` function and the engine's ``<send>``
(its I/O processors and the clock) with odd values, and their traces as text:
`tests/ors/test_compiled_parity.py` compares them between the mypyc build of the engine and the
ORS layer and their Python sources.

Compiled code converts what the interpreter leaves alone: an `int` where a `float` is declared
becomes a float (a statistic's count traced as ``1.0``), and a value of the wrong type for an
annotation raises a `TypeError` of its own. Either would make the trace of one recipe depend on
whether a process runs the build; the values here are the hostile and the ordinary values a
document can pass, and those a fakes profile can give (every field of the profile's schema set
to each odd value the schema admits: JSON Schema's "integer" admits `3.0`, "number" admits `3`).

    .venv/bin/python -m tests.ors.parity    # prints {case: trace} as JSON (the test's child)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

from simulator.ors.extensions import MODULES
from simulator.ors.extensions.base import SCXML_NS, Action, Child
from simulator.ors.fakes import SCHEMA, validate_fakes
from simulator.runners.driver import OrsRun

#: attribute expressions: absent-ish, numbers (integral, not), strings, objects, a throwing toString
VALUES = (
    "null",
    "undefined",
    "0",
    "7",
    "1.5",
    "NaN",
    "1e300",
    "''",
    "'x'",
    "true",
    "({a: {b: 1}})",
    "[1, 'x']",
    "({toString: function () { throw 1; }})",
)

#: argument lists for every function of `_genesys`
ARGUMENTS = (
    "[[], [undefined], [null], [0], [7], [-1.5], [NaN], [''], ['x'], [true], [{}], [[]], [{a: [1, {}]}],"
    " ['x', 1], [1, 'x'], ['x', {}], [{}, 'x'], ['x', 'y', 'z'], [1, 2, 3], ['x', null, 5], [12345678901234567890]]"
)

_DOCUMENT = """<?xml version="1.0"?>
<scxml xmlns="http://www.w3.org/2005/07/scxml" {namespaces} version="1.0" initial="wait" profile="ecmascript">
  <state id="wait"><transition event="interaction.added" target="block"/></state>
  <state id="block">
    <onentry><script>var out = [];</script>{content}</onentry>
    <transition event="*"><script>out.push(_event.name);</script></transition>
  </state>
</scxml>"""

_CALL_EVERY_FUNCTION = """
var args = %s;
function walk(obj, path, depth) {
  if (depth > 4 || obj === null || (typeof obj !== 'object' &amp;&amp; typeof obj !== 'function')) return;
  var keys = Object.getOwnPropertyNames(obj).sort();
  for (var i = 0; i &lt; keys.length; i++) {
    var k = keys[i], v;
    try { v = obj[k]; } catch (e) { out.push([path + '.' + k, String(e)]); continue; }
    if (typeof v === 'function' &amp;&amp; k !== 'constructor') {
      for (var j = 0; j &lt; args.length; j++) {
        var r;
        try { r = v.apply(obj, args[j]); r = r === undefined ? 'undefined' : JSON.stringify(r); }
        catch (e) { r = 'throw ' + (e &amp;&amp; e.name) + ': ' + (e &amp;&amp; e.message); }
        out.push([path + '.' + k, j, String(r)]);
      }
    } else if (typeof v === 'object' &amp;&amp; v !== null &amp;&amp; k !== 'prototype') {
      walk(v, path + '.' + k, depth + 1);
    }
  }
}
walk(_genesys, '_genesys', 0);
"""


#: fakes profile values: each field of the schema (a `*` key as "x") is set to each it admits
PROFILE_VALUES: tuple[Any, ...] = (
    *(0, 3, 3.0, 1.5, -2, 1e300, True, False),
    *("", "x", "2026-03-01T10:00:00Z", "Europe/Paris", None),
    *({}, [], {"x": 1}, [1, "x"], [{"x": "x"}]),
)

#: argument lists that read the profile's `*` keys ("x") through the `_genesys` functions
PROFILE_ARGUMENTS = "[[], ['x'], ['x', 'x'], ['x', 'x', 'x'], [1, 'x'], [{}, 'x'], ['x', 1.5]]"


#: `<send>`s whose every expression attribute takes each of VALUES: the engine's I/O processors
#: (targets, types, BasicHTTP's loopback) and the clock (delays, timers cancelled and fired). In
#: the ORS dialect `event`, `delay`, `target` and `type` are expressions too; `{e}` is `event`.
_SENDS = (
    '<send {e} delayexpr="{v}"/>',
    '<send {e} targetexpr="{v}"/>',
    '<send {e} typeexpr="{v}"/>',
    '<send eventexpr="{v}" delay="\'1.5s\'"/>',
    '<send {e} delay="\'2\'"><param name="p" expr="{v}"/></send>',
    '<send id="s" {e} delay="\'500ms\'"/><send {e} delayexpr="{v}"/><cancel sendidexpr="{v}"/>',
    "<send {e} type=\"'basichttp'\" target=\"'http://localhost/scxml/' + _sessionid\">"
    '<param name="p" expr="{v}"/></send>',
    '<send {e} type="\'http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor\'" targetexpr="{v}"/>',
    '<send type="\'basichttp\'" target="\'http://localhost/scxml/\' + _sessionid"><content expr="{v}"/></send>',
    '<send {e} target="\'#_internal\'" delayexpr="{v}"/>',
)


def _trace(files: dict[str, bytes], fakes: dict[str, Any] | None = None) -> str:
    """The run's records and its `out` as text, or the error that refused or stopped it."""
    try:
        run = OrsRun(files, entry="main.scxml", trace=True, fakes=fakes)
    except Exception as exc:  # a document refused: its message is the case's outcome
        return f"refused: {type(exc).__name__}: {exc}"
    try:
        run.run(max_time=120)
        result = run.session.datamodel.evaluate("JSON.stringify(out)")
    except Exception as exc:
        result = f"raised: {type(exc).__name__}: {exc}"
    return "\n".join([*(json.dumps(r, sort_keys=True, default=repr) for r in run.records), str(result)])


def _required(declaration: Action | Child, but: str = "") -> str:
    """The required attributes of an element but `but`, each given an ordinary value."""
    return "".join(
        f' {a.name}="{"_event.data.interactionid" if a.name == "interactionid" else chr(39) + "x" + chr(39)}"'
        for a in declaration.attributes
        if a.required and a.name != but
    )


def _paths(action: Action) -> Iterator[list[Action | Child]]:
    """The action, and each of its children and their children (one path each)."""

    def below(path: list[Action | Child]) -> Iterator[list[Action | Child]]:
        yield path
        for child in path[-1].children:
            yield from below([*path, child])

    yield from below([action])


def _element(path: list[Action | Child], namespace: str, attribute: str, value: str) -> str:
    """The nested elements of `path`, the last with `attribute`="`value`"."""
    xml = ""
    for depth, declaration in enumerate(reversed(path)):
        if isinstance(declaration, Action):
            tag = f"m:{declaration.name}"
        elif declaration.namespace == SCXML_NS:
            tag = declaration.tag
        elif declaration.namespace not in (None, namespace):
            return ""  # another module's element: its own module's cases cover it
        else:
            tag = f"m:{declaration.tag}"
        fuzzed = f' {attribute}="{value}"' if depth == 0 else ""
        xml = f"<{tag}{_required(declaration, attribute if depth == 0 else '')}{fuzzed}>{xml}</{tag}>"
    return xml


def cases() -> dict[str, str]:
    """Every case's trace, by name."""
    traces: dict[str, str] = {}
    for module in MODULES:
        for action in module.actions.values():
            for path in _paths(action):
                for attr in path[-1].attributes:
                    if attr.kind != "expression":
                        continue
                    for value in VALUES:
                        element = _element(path, module.namespace, attr.name, value)
                        if not element:
                            continue
                        name = "/".join(getattr(d, "name", None) or getattr(d, "tag", "") for d in path)
                        document = _DOCUMENT.format(namespaces=f'xmlns:m="{module.namespace}"', content=element)
                        traces[f"{module.name}:{name}@{attr.name}={value}"] = _trace({"main.scxml": document.encode()})
    for index, send in enumerate(_SENDS):
        for value in VALUES:
            document = _DOCUMENT.format(namespaces="", content=send.format(e="event=\"'e'\"", v=value))
            traces[f"send {index}={value}"] = _trace({"main.scxml": document.encode()})
    script = f"<script>{_CALL_EVERY_FUNCTION % ARGUMENTS}</script>"
    traces["_genesys functions"] = _trace({"main.scxml": _DOCUMENT.format(namespaces="", content=script).encode()})
    return traces


def _fields(schema: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The paths of the profile schema's fields (an object's own properties, then any other key
    as "x"), objects and arrays included."""
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key, sub in properties.items():
        yield (*path, key)
        yield from _fields(sub, (*path, key))
    if isinstance(extra, dict):
        yield (*path, "x")
        yield from _fields(extra, (*path, "x"))


def _nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out: Any = value
    for key in reversed(path):
        out = {key: out}
    return out


def profile_cases() -> dict[str, str]:
    """A strategy doing every action once and calling every `_genesys` function, under each fakes
    profile that sets one field to one odd value (those the schema refuses are left out)."""
    namespaces = " ".join(f'xmlns:m{i}="{m.namespace}"' for i, m in enumerate(MODULES))
    actions = "".join(
        f"<onentry><m{i}:{action.name}{_required(action)}/></onentry>"  # one block each: an error ends only its own
        for i, module in enumerate(MODULES)
        for action in module.actions.values()
    )
    functions = f"<onentry><script>{_CALL_EVERY_FUNCTION % PROFILE_ARGUMENTS}</script></onentry>"
    document = _DOCUMENT.format(namespaces=namespaces, content="")
    document = document.replace("</onentry>", "</onentry>" + actions + functions, 1)  # after `var out`
    files = {"main.scxml": document.encode()}
    traces: dict[str, str] = {}
    for path in _fields(SCHEMA):
        for value in PROFILE_VALUES:
            fakes = _nested(path, value)
            if not validate_fakes(fakes):
                traces[f"fakes {'.'.join(path)}={json.dumps(value)}"] = _trace(files, fakes)
    return traces


def differences(these: dict[str, Any], those: dict[str, Any]) -> list[str]:
    """The cases whose traces differ (or that only one side has), by name."""
    return sorted(name for name in these.keys() | those.keys() if these.get(name) != those.get(name))


if __name__ == "__main__":
    json.dump({**cases(), **profile_cases()}, sys.stdout)
    sys.stdout.write("\n")
