"""jsonpatch: compact diffs of JSON values (large datamodel variables travel as their change)."""

import copy
import json
import math
import random
import re
import struct

import orjson
import pytest

from simulator.scxml import jsonpatch
from simulator.scxml.interpreter import SessionGroup
from simulator.scxml.jsonpatch import PATCH_THRESHOLD, apply, diff, diff_variables, large_change, same, update_variables
from simulator.scxml.model import model_from_string

from .conftest import chart


def _value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return rng.randrange(-3, 4)
    if kind == 1:
        return rng.choice(["a", "b", "", "ü"])
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return rng.random()
    if kind in (4, 5):
        return {rng.choice("abcde"): _value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def _mutate(rng: random.Random, value):
    """A value near `value`: most parts kept, some changed, added, removed or appended."""
    if isinstance(value, dict) and rng.random() < 0.8:
        out = {k: _mutate(rng, v) if rng.random() < 0.5 else v for k, v in value.items() if rng.random() < 0.85}
        if rng.random() < 0.4:
            out[rng.choice("abcdefg")] = _value(rng, 2)
        return out
    if isinstance(value, list) and rng.random() < 0.8:
        out = [_mutate(rng, v) if rng.random() < 0.3 else v for v in value]
        if rng.random() < 0.5:
            out += [_value(rng, 2) for _ in range(rng.randrange(1, 3))]
        elif rng.random() < 0.2 and out:
            out.pop()
        return out
    return _value(rng, 1) if rng.random() < 0.7 else value


@pytest.mark.parametrize("seed", range(300))
def test_applying_the_diff_of_two_values_gives_the_new_one_and_leaves_the_old_one_alone(seed):
    rng = random.Random(seed)
    old = _value(rng)
    new = _mutate(rng, old)
    before = copy.deepcopy(old)
    ops = diff(old, new)
    assert apply(old, ops) == new
    assert json.dumps(apply(old, ops), sort_keys=True) == json.dumps(new, sort_keys=True)
    assert old == before
    assert ops or old == new  # nothing to do only when nothing changed
    if json.dumps(old) == json.dumps(new):
        assert ops == []


def test_an_array_that_grew_at_its_end_is_an_append_of_the_new_items_only():
    old = {"system": {"uncaught": [{"n": i} for i in range(500)], "x": 1}}
    new = {"system": {"uncaught": [*old["system"]["uncaught"], {"n": 500}], "x": 1}}
    assert diff(old, new) == [{"path": ["system", "uncaught"], "append": [{"n": 500}]}]


def test_keys_added_removed_and_shapes_changed_are_set_or_removed():
    old = {"a": 1, "b": [1, 2, 3], "c": {"d": 1}, "e": "x"}
    new = {"a": 2, "b": [1, 2], "c": [1], "f": None}
    assert diff(old, new) == [
        {"path": ["a"], "set": 2},
        {"path": ["b"], "set": [1, 2]},
        {"path": ["c"], "set": [1]},
        {"path": ["f"], "set": None},
        {"path": ["e"], "remove": True},
    ]


def test_a_number_that_becomes_a_boolean_is_a_change():
    assert apply([1], diff([1], [True])) == [True]
    assert diff([1], [True]) == [{"path": [0], "set": True}]


def test_same_tells_a_boolean_from_a_number_where_python_equality_does_not():
    for old, new in [(1, True), (0, False), ({"a": 1}, {"a": True}), ([0, [1]], [0, [True]]), ((1,), (True,))]:
        assert old == new  # what Python says
        assert not same(old, new) and not same(new, old)
    for old, new in [(1, 1.0), ({"a": 1, "b": [True]}, {"b": [True], "a": 1.0}), (None, None), ("x", "x")]:
        assert same(old, new) and same(new, old)
    assert not same({"a": 1}, {"a": 2}) and not same([1], [1, 2])


def test_a_variable_that_turns_from_a_number_into_a_boolean_is_traced():
    assert diff_variables({"x": 1, "y": {"a": [0]}}, {"x": True, "y": {"a": [False]}}) == (
        {"x": True, "y": {"a": [False]}},
        [],
        {},
    )
    doc = chart(
        '<datamodel><data id="x" expr="1"/><data id="y" expr="({a: [0]})"/></datamodel>'
        '<state id="a"><transition event="go" target="b">'
        '<assign location="x" expr="true"/><assign location="y.a[0]" expr="false"/></transition></state>'
        '<state id="b"/>'
    )
    group = SessionGroup(seed=1)
    records: list[dict] = []
    group.listeners.append(records.append)
    session = group.create_session(model_from_string(doc))
    session.start()
    session.inject("go")
    group.run_until_idle()
    changes = [r["changed"] for r in records if r["type"] == "datamodel"]
    assert changes == [{"x": 1, "y": {"a": [0]}}, {"x": True, "y": {"a": [False]}}]
    assert changes[-1]["x"] is True and changes[-1]["y"]["a"][0] is False


def test_only_large_containers_are_patched():
    small_old, small_new = {"a": [1]}, {"a": [1, 2]}
    assert large_change(small_old, small_new) is None
    big_old = {"a": ["x" * 100] * (PATCH_THRESHOLD // 100)}
    big_new = {"a": [*big_old["a"], "y"]}
    assert large_change(big_old, big_new) == [{"path": ["a"], "append": ["y"]}]
    assert large_change("x" * 5000, "y" * 5000) is None
    assert large_change(big_old, "y" * 5000) is None


def test_a_change_record_updates_variables_without_touching_shared_values():
    shared = {"list": [1, 2]}
    variables = {"s": shared, "gone": 1, "same": 2}
    patches = {"s": [{"path": ["list"], "append": [3]}]}
    update_variables(variables, {"changed": {"n": 3}, "removed": ["gone"], "patches": patches})
    assert variables == {"s": {"list": [1, 2, 3]}, "same": 2, "n": 3}
    assert shared == {"list": [1, 2]}


def _floats() -> list[float]:
    rng = random.Random(12)
    out = [0.0, -0.0, 5e-324, 1.7976931348623157e308, 0.1, 1 / 3, 12.5]
    for exponent in range(-330, 309):
        out += [float(f"{mantissa}e{exponent}") for mantissa in ("1", "-1", "1.5", "9.999", "2.2250738585072014")]
    out += [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(20000)]
    return [x for x in out if math.isfinite(x)]


def test_json_prints_a_float_at_most_one_character_longer_than_orjson_for_each_e():
    # the bound `_surely_small` counts on (checked on every exponent, both ends and random bits)
    for x in _floats():
        fast = orjson.dumps(x)
        assert len(json.dumps(x)) - len(fast) <= fast.count(b"e"), (x, fast)
        # and each of those `e`s follows a digit (the tighter count of the second bound)
        assert fast.count(b"e") == len(re.findall(rb"[0-9]e", fast)), (x, fast)


@pytest.mark.parametrize(
    "item", [1e16, 1e-8, 1e-5, 2.5e-300, float("nan"), float("-inf"), "\x7f", "ü", "e", "9e9", "0e", None, "abc"]
)
def test_the_size_check_says_what_the_size_of_json_text_says(item):
    # large_change measures orjson's text first and json's only when unsure: the same answers,
    # for texts that json prints a few characters either side of the threshold and orjson shorter
    for count in (1, 7, 60):
        for pad in range(-12, 12):
            for odd in ([], [10]):
                head = [item] * count + odd
                zeros = (PATCH_THRESHOLD + pad - len(json.dumps(head, separators=(",", ":")))) // 2
                new = head + [0] * zeros
                small = len(json.dumps(new, separators=(",", ":"))) <= PATCH_THRESHOLD
                assert (large_change([], new) is None) == small, (item, count, pad, odd)
    # values orjson refuses (non-string keys, integers past 64 bits) are measured by json
    assert large_change({}, {1: "x" * PATCH_THRESHOLD}) == [{"path": [1], "set": "x" * PATCH_THRESHOLD}]
    assert large_change([], [2**70] * 200) == [{"path": [], "append": [2**70] * 200}]


def test_diff_variables_reads_a_size_only_for_the_very_object_measured_and_drops_removed_names():
    big = {"a": ["x" * 50] * 60}  # ~3 KB: a patch
    grown = {"a": ["x" * 50] * 61}
    sizes: dict = {}
    plain = diff_variables({"v": big, "w": [1], "gone": 1}, {"v": grown, "w": [2]})
    assert diff_variables({"v": big, "w": [1], "gone": 1}, {"v": grown, "w": [2]}, sizes) == plain
    assert sizes == {"v": (grown, False), "w": ([2], True)}
    # a size said of the very object is believed (this one is false on purpose: it shows it is read)
    sizes["v"] = (grown, True)
    assert diff_variables({"v": big}, {"v": grown}, sizes) == ({"v": grown}, [], {})
    # an equal value that is another object is measured afresh
    again = copy.deepcopy(grown)
    assert diff_variables({"v": big}, {"v": again}, sizes) == ({}, [], {"v": plain[2]["v"]})
    assert sizes["v"] == (again, False)
    diff_variables({"v": big, "w": [2]}, {"w": [3]}, sizes)
    assert "v" not in sizes  # removed: its value is not kept


def test_diff_sets_a_change_below_its_depth_bound_whole():
    # compiled by mypyc, `diff` has no recursion limit of its own: it stops at MAX_DEPTH
    def nested(depth: int, leaf: object) -> list:
        value: list = [leaf]
        for _ in range(depth):
            value = [value]
        return value

    old, new = nested(jsonpatch.MAX_DEPTH + 100, 1), nested(jsonpatch.MAX_DEPTH + 100, 2)
    (op,) = jsonpatch.diff(old, new)
    assert len(op["path"]) == jsonpatch.MAX_DEPTH
    assert jsonpatch.apply(old, [op]) == new
    assert jsonpatch.diff(old, nested(jsonpatch.MAX_DEPTH + 100, 1)) == []
    shallow = jsonpatch.diff(nested(3, 1), nested(3, 2))  # unchanged above the bound
    assert shallow == [{"path": [0, 0, 0, 0], "set": 2}]
