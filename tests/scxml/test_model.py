"""The document model: document order, collected definition errors, and one shared model per content."""

from __future__ import annotations

from simulator.scxml.model import get_model, model_from_string

from .conftest import chart


def test_states_and_transitions_are_in_document_order():
    model = model_from_string(
        chart(
            '<state id="a"><state id="a1"><transition event="x" target="b"/></state>'
            '<transition event="y" target="b"/></state><parallel id="b"><state id="b1"/></parallel>'
        )
    )
    assert [s.id for s in model.states][1:] == ["a", "a1", "b", "b1"]
    assert [(t.id, t.source.id) for t in model.transitions] == [("t1", "a1"), ("t2", "a")]
    assert model.states_by_id["a1"].ancestors[0].id == "a"
    assert model.states_by_id["a"].initial.targets[0].id == "a1"


def test_definition_errors_are_collected_with_lines_and_columns():
    model = model_from_string(
        '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0">\n'
        '<state id="a"><transition target="zz"/></state>\n'
        '<state id="a"/>\n'
        '  <state id="c"><onentry><send event="e" eventexpr="\'e\'"/><bogus/></onentry></state>\n'
        "</scxml>"
    )
    found = sorted((e.line, e.column, e.message) for e in model.errors)
    assert found == [
        (2, 15, "unknown target state 'zz'"),
        (3, 1, "duplicate state id 'a'"),
        (4, 26, "<send> may not have both 'event' and 'eventexpr'"),
        (4, 59, "<bogus> is not executable content"),
    ]


def test_the_model_is_shared_for_identical_content_and_rebuilt_when_a_dependency_changes():
    child = b'<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"><final id="f"/></scxml>'
    main = chart('<state id="s"><invoke src="child.scxml"/></state>').encode()
    first = get_model({"main.scxml": main, "child.scxml": child}, "main.scxml")
    again = get_model({"main.scxml": main, "child.scxml": child}, "main.scxml")
    changed = get_model({"main.scxml": main, "child.scxml": child.replace(b'"f"', b'"g"')}, "main.scxml")
    assert first is again
    assert changed is not first


def test_a_dependency_edited_in_place_rebuilds_the_model_although_its_object_is_the_same():
    child = bytearray(b'<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"><final id="f"/></scxml>')
    files = {"main.scxml": chart('<state id="s"><invoke src="child.scxml"/></state>').encode(), "child.scxml": child}
    first = get_model(files, "main.scxml")
    child[child.index(b'"f"') + 1] = ord("g")
    assert get_model(files, "main.scxml") is not first


def test_expression_attributes_follow_the_profile():
    from simulator.scxml.profile import Profile

    class Evaluating(Profile):
        name = "evaluating-send-event"

        def attribute_is_expression(self, tag, attribute):
            return (tag, attribute) == ("send", "event") or super().attribute_is_expression(tag, attribute)

    doc = chart("<state id=\"s\"><onentry><send event=\"'a' + 'b'\"/></onentry></state>")
    send = model_from_string(doc, profile=Evaluating()).states_by_id["s"].onentry[0][0]
    assert (send.event, send.event_expr) == (None, "'a' + 'b'")
    plain = model_from_string(doc).states_by_id["s"].onentry[0][0]
    assert (plain.event, plain.event_expr) == ("'a' + 'b'", None)
