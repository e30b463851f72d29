"""`trace.jsonable`: the JSON-safe copy of a value, kind by kind (its exact-type fast path for
dict, list, str, int, bool and None must give what the general checks give subclasses)."""

from __future__ import annotations

import enum
import math
from collections import OrderedDict

import orjson

from simulator.scxml.datamodel import UNDEFINED
from simulator.scxml.trace import jsonable


class Key(str):
    pass


class Level(enum.IntEnum):
    HIGH = 3


class Plain(enum.Enum):
    A = "a"


def test_plain_values_are_equal_copies_with_fresh_containers():
    value = {"a": [1, 2.5, "s", None, True, {"b": []}], "c": {}}
    copy = jsonable(value)
    assert copy == value
    assert copy is not value and copy["a"] is not value["a"] and copy["a"][5] is not value["a"][5]
    assert orjson.dumps(copy) == orjson.dumps(value)


def test_keys_become_strings_in_plain_and_subclassed_dicts():
    for container in (dict, OrderedDict):
        copy = jsonable(container([(1, "one"), (Key("k"), [Key("v")]), (None, 0), (2.5, 1)]))
        assert type(copy) is dict and list(copy) == ["1", "k", "None", "2.5"]
        assert all(type(key) is str for key in copy)
    # a str subclass as a value is kept as it is (the general check), inside a plain list too
    assert type(jsonable([Key("v")])[0]) is Key


def test_booleans_stay_booleans_and_int_subclasses_are_kept():
    copy = jsonable([True, False, 0, 1, Level.HIGH])
    assert [type(v) for v in copy] == [bool, bool, int, int, Level]
    assert jsonable(Level.HIGH) is Level.HIGH


def test_other_kinds():
    assert jsonable([math.nan, math.inf, -math.inf, -0.0, 1e-5]) == [None, None, None, -0.0, 1e-5]
    assert jsonable((1, (2, 3))) == [1, [2, 3]]
    assert jsonable({"s": {3, 1, 2}, "f": frozenset({"b", "a"})}) == {"s": [1, 2, 3], "f": ["a", "b"]}
    assert jsonable({"u": UNDEFINED, "l": [UNDEFINED]}) == {"u": None, "l": [None]}
    assert jsonable([Plain.A]) == ["Plain.A"]  # str() of anything else
    assert jsonable([[{"deep": [UNDEFINED, math.nan]}]]) == [[{"deep": [None, None]}]]


def test_an_item_of_a_container_is_what_jsonable_gives_it_alone():
    # dict and list items of the exact kept types are kept inline, without a call each: every
    # kind, in both containers, must come out as (the same type and value as) the item's own copy
    items = ["s", Key("k"), 0, 7, True, False, None, Level.HIGH, 2.5, math.nan, -0.0]
    items += [(1,), {3}, UNDEFINED, Plain.A, [1], {}]
    for item in items:
        alone = jsonable(item)
        for inside in (jsonable({"k": item})["k"], jsonable([item])[0]):
            assert type(inside) is type(alone)
            assert orjson.dumps(inside) == orjson.dumps(alone)
