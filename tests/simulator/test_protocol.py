"""The protocol is defined once (simulator.protocol): schemas, handlers and the document agree."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest

from simulator import protocol
from simulator.consumers import SimulationConsumer
from simulator.protocol import ACTIONS, OpError

DOC = Path(__file__).resolve().parents[2] / protocol.DOC


def test_every_action_has_one_handler_and_every_handler_an_action():
    assert set(SimulationConsumer.HANDLERS) == set(ACTIONS)


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_each_action_schema_is_a_valid_json_schema_with_documented_fields(name):
    action = ACTIONS[name]

    jsonschema.Draft202012Validator.check_schema(action.schema)
    assert action.effect
    assert all(spec.get("description") for spec in action.fields.values()), "document every field"


def test_the_documented_action_table_is_the_one_generated_from_the_schemas():
    text = DOC.read_text()

    assert protocol.documented(text) == text, "run `python -m simulator.protocol` to regenerate the table"


def test_the_document_names_only_actions_that_exist():
    table = DOC.read_text().split(protocol.BEGIN)[1].split(protocol.END)[0]
    named = set(re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE))

    assert named == set(ACTIONS)


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"action": "step", "unit": "macrostep", "speed": 2}, "step has no field(s) ['speed']"),
        ({"action": "respond", "request": "REQ1", "events": [{"name": "x", "delay": -1}]}, "events[0].delay"),
        ({"action": "inject", "kind": "udata_changed", "data": {}}, "udata_changed needs data"),
        ({"action": "advance"}, "advance seconds"),
        ({"action": "set_breakpoints", "breakpoints": {"entered": [""]}}, "breakpoints.entered"),
        # the seed is stored in an integer column: beyond it PostgreSQL refused every save
        ({"action": "start", "seed": 2**40}, "seed must be an integer from -2147483648 to 2147483647"),
    ],
)
def test_validation_names_the_field_and_the_problem(message, problem):
    with pytest.raises(OpError) as refused:
        protocol.validate(message)

    assert problem in str(refused.value)


def test_parse_op_normalises_a_valid_message_into_an_operation():
    assert protocol.parse_op({"action": "step", "unit": "next-timer"}) == {"op": "step", "unit": "timer"}
    assert protocol.parse_op({"action": "inject", "event": " ping ", "data": None}) == {
        "op": "inject",
        "kind": "event",
        "event": "ping",
        "data": {},
        "delay": 0.0,
    }


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"action": "inject", "event": "ping\ud800"}, "inject event must be Unicode text (it has a lone surrogate)"),
        (
            {"action": "respond", "request": "R1", "events": [{"name": "\udc00done"}]},
            "an event name must be Unicode text (it has a lone surrogate)",
        ),
    ],
)
def test_an_event_name_with_a_lone_surrogate_is_refused_before_it_is_logged(message, problem):
    # JSON may carry "\ud800"; bound to `_event` it would fail the step, and a logged operation
    # would fail every replay of the simulation
    with pytest.raises(OpError, match=re.escape(problem)):
        protocol.parse_op(message)


def test_a_message_found_valid_is_remembered_only_when_its_strings_are_short():
    protocol._VALID_STRINGS.clear()
    step = {"action": "step", "unit": "macrostep", "id": 1}
    long_eval = {"action": "eval", "expression": "1 + " * 100 + "1"}

    protocol.validate(step)
    protocol.validate({**step, "id": "other"})  # the id does not count
    protocol.validate(long_eval)

    remembered = protocol._VALID_STRINGS
    assert remembered == {(("action", "step"), ("unit", "macrostep"))}
    with pytest.raises(OpError, match="step unit"):  # a remembered message does not vouch for others
        protocol.validate({"action": "step", "unit": "century"})
