"""Same document + inputs + seed -> the same trace, record for record; records are JSON."""

from __future__ import annotations

import json
from pathlib import Path

from simulator.scxml.jsonpatch import update_variables
from simulator.scxml.trace import RECORD_TYPES, jsonable

from .conftest import Run, chart

DOC = chart(
    '<datamodel><data id="n" expr="0"/></datamodel>'
    '<state id="a"><onentry><send event="t" delay="1s"/><log label="hi" expr="n"/></onentry>'
    '<transition event="t" target="b"><assign location="n" expr="n + 1"/><raise event="r"/></transition></state>'
    '<state id="b"><invoke id="k"><content><scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0">'
    '<final id="f"/></scxml></content></invoke><transition event="done.invoke.k" target="c"/></state>'
    '<final id="c"/>'
)


def _trace(seed: int) -> list[dict]:
    r = Run(DOC, seed=seed)
    r.session.inject("external", {"x": 1})
    r.idle()
    return r.records


def test_the_same_seed_gives_the_same_trace():
    assert _trace(3) == _trace(3)


def test_another_seed_changes_only_session_ids():
    a, b = _trace(3), _trace(4)
    assert a != b
    assert [r["type"] for r in a] == [r["type"] for r in b]


def test_records_are_numbered_typed_and_json_serialisable():
    records = _trace(1)
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert {r["type"] for r in records} <= set(RECORD_TYPES)
    assert {"start", "macrostep", "microstep", "log", "send", "raise", "datamodel", "clock", "invoke", "done"} <= {
        r["type"] for r in records
    }
    assert json.loads(json.dumps(records)) == records


def test_datamodel_records_carry_only_changed_variables():
    changes = [r["changed"] for r in _trace(1) if r["type"] == "datamodel"]
    assert changes[0] == {"n": 0}
    assert {"n": 1} in changes


def test_datamodel_records_name_globals_a_script_adds_or_deletes():
    doc = chart(
        '<datamodel><data id="n" expr="0"/></datamodel>'
        '<state id="a"><transition event="add" target="b"><script>globalThis.extra = {k: 1}; n = 1;</script>'
        "</transition></state>"
        '<state id="b"><transition event="del" target="c"><script>delete globalThis.extra;</script>'
        "</transition></state>"
        '<state id="c"/>'
    )
    r = Run(doc)
    r.session.inject("add")
    r.idle()
    r.session.inject("del")
    r.idle()
    records = [(x["changed"], x["removed"]) for x in r.records if x["type"] == "datamodel"]
    assert records == [({"n": 0}, []), ({"extra": {"k": 1}, "n": 1}, []), ({}, ["extra"])]
    variables: dict = {}
    for record in (x for x in r.records if x["type"] == "datamodel"):
        update_variables(variables, record)
    assert variables == r.session.datamodel.snapshot() == {"n": 1}


def test_macrostep_records_carry_transition_source_lines():
    macro = next(r for r in _trace(1) if r["type"] == "macrostep" and r["transitions"])
    assert macro["transitions"][0]["line"] == 1
    assert macro["transitions"][0]["file"] == "chart.scxml"


def test_the_trace_documentation_lists_every_record_type():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "trace.md").read_text()
    for name in RECORD_TYPES:
        assert f"`{name}`" in doc


GROWING = chart(
    '<datamodel><data id="log" expr="{seen: [], small: 0}"/><data id="small" expr="[]"/></datamodel>'
    '<state id="a"><transition event="e"><script>log.seen.push({name: _event.name, pad: "x".repeat(40)});'
    "small = [log.seen.length]; log.small = log.seen.length</script></transition></state>"
)


def test_a_large_variable_that_grows_is_traced_as_its_change_and_rebuilds_exactly():
    r = Run(GROWING)
    for n in range(200):
        r.session.inject("e", {"n": n})
        r.idle()
    records = [rec for rec in r.records if rec["type"] == "datamodel"]
    variables: dict = {}
    for record in records:
        update_variables(variables, record)

    assert variables == jsonable(r.session.datamodel.snapshot())
    assert records[-1]["changed"] == {"small": [200]} and records[-1]["removed"] == []
    assert records[-1]["patches"] == {
        "log": [{"path": ["seen"], "append": [{"name": "e", "pad": "x" * 40}]}, {"path": ["small"], "set": 200}]
    }
    assert all("patches" not in rec for rec in records[:20])  # small values: whole, as before
    assert max(len(json.dumps(rec)) for rec in records[-100:]) < 400


MIXED = chart(
    '<datamodel><data id="big" expr="{list: [1, 2, 3], name: \'x\'}"/><data id="n" expr="0"/><data id="u"/>'
    '</datamodel><state id="a">'
    '<transition event="count"><assign location="n" expr="n + 1"/></transition>'
    '<transition event="reorder"><script>big = {name: big.name, list: big.list}</script></transition>'
    '<transition event="add"><script>globalThis.extra = {n: n}</script></transition>'
    '<transition event="grow"><script>big.list.push(n)</script></transition>'
    '<transition event="drop"><script>delete globalThis.extra</script></transition>'
    '<transition event="undef"><script>u = undefined; n = undefined</script></transition></state>'
)


def test_datamodel_records_follow_changes_across_steps_and_stay_as_emitted():
    # The engine parses only the variables whose JSON text changed and keeps the others' values:
    # a reordered object (new text, equal value) is no change, and earlier records never move.
    r = Run(MIXED)
    r.idle()
    emitted: list[tuple[str, dict]] = []
    for event in ["count", "reorder", "add", "count", "grow", "drop", "count", "undef"]:
        before = len(r.records)
        r.session.inject(event)
        r.idle()
        emitted += [(event, json.loads(json.dumps(rec))) for rec in r.records[before:] if rec["type"] == "datamodel"]
    changes = [(event, rec["changed"], rec["removed"]) for event, rec in emitted]
    assert changes == [
        ("count", {"n": 1}, []),
        ("add", {"extra": {"n": 1}}, []),
        ("count", {"n": 2}, []),
        ("grow", {"big": {"name": "x", "list": [1, 2, 3, 2]}}, []),
        ("drop", {}, ["extra"]),
        ("count", {"n": 3}, []),
        ("undef", {"n": None}, []),
    ]
    records = [rec for rec in r.records if rec["type"] == "datamodel"]
    assert [rec for _, rec in emitted] == records[-len(emitted) :]  # unchanged after later steps
    variables: dict = {}
    for record in records:
        update_variables(variables, record)
    assert (
        variables
        == jsonable(r.session.datamodel.snapshot())
        == {
            "big": {"name": "x", "list": [1, 2, 3, 2]},
            "n": None,
            "u": None,
        }
    )
