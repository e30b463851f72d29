"""ORS error events (ors-core.md 1.12): their names and their data fields."""

from __future__ import annotations

import pytest

from simulator.ors.extensions import MODULES

from .strategies import block_strategy, run, value

CATCH = """
    <transition event="error" target="failed">
      <assign location="out.name" expr="_event.name"/>
      <assign location="out.data" expr="_event.data"/>
      <script>system.LastErrorDescription = _event.data.description;</script>
    </transition>
"""


def test_a_script_error_carries_document_element_linenumber_and_description():
    doc = block_strategy("<onentry><script>var x = noSuchThing.field;</script></onentry>" + CATCH)
    r = run(doc)
    assert value(r, "out.name") == "error.script.ReferenceError"
    data = value(r, "out.data")
    assert (data["document"], data["element"]) == ("main.scxml", "script")
    assert data["linenumber"] == r.session.errors[0]["line"]  # the line of the failing statement
    assert "noSuchThing" in data["description"]
    assert value(r, "system.LastErrorDescription") == data["description"]  # what Composer reads


@pytest.mark.parametrize(
    "block",
    [
        '<transition cond="noSuchThing.field == 1" target="ok"/>',
        '<onentry><if cond="noSuchThing.field == 1"><log expr="1"/></if></onentry>',
        '<onentry><if cond="false"><log expr="1"/><elseif cond="noSuchThing.field"/></if></onentry>',
    ],
    ids=["transition", "if", "elseif"],
)
def test_a_failing_cond_raises_error_illegalcond(block):
    r = run(block_strategy(block + CATCH))
    assert value(r, "out.name") == "error.illegalcond.ReferenceError"
    data = value(r, "out.data")
    assert data["element"] in ("transition", "if") and data["document"] == "main.scxml"
    assert "noSuchThing" in data["description"] and isinstance(data["linenumber"], int)


def test_an_assign_to_a_bad_location_stays_a_script_error():
    r = run(block_strategy('<onentry><assign location="noSuchThing.field" expr="1"/></onentry>' + CATCH))
    assert value(r, "out.name") == "error.script.ReferenceError"
    assert value(r, "out.data.element") == "assign"


def test_every_module_error_event_is_declared_with_requestid_error_and_description():
    for module in MODULES:
        for event in module.events:
            if event.name.startswith("error.") and event.name != "error.notallowed":
                assert {"requestid", "error", "description"} <= set(event.fields), event.name
        for action in module.actions.values():
            if action.asynchronous:
                assert module.error_event(action) in {e.name for e in module.events}, action.name


def test_a_module_error_event_carries_requestid_error_and_description_at_run_time():
    doc = block_strategy("<onentry><session:fetch requestid=\"App_B['requestid']\" srcexpr=\"''\"/></onentry>" + CATCH)
    r = run(doc)
    assert value(r, "out.name") == "error.session.fetch"
    data = value(r, "out.data")
    assert data["requestid"] == value(r, "App_B['requestid']")
    assert data["error"] == "invalidattribute" and data["description"]
