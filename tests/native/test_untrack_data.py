"""`orchweb_quickjs.untrack_data`: JSON-like data is taken out of Python's cycle collector whole, and
anything else (or data beyond the bounds) is left exactly as it was."""

from __future__ import annotations

import gc

import pytest
from orchweb_quickjs import untrack_data


def containers(value: object) -> list[object]:
    found: list[object] = []
    if isinstance(value, dict):
        found.append(value)
        for item in value.values():
            found += containers(item)
    elif isinstance(value, list | tuple):
        found.append(value)
        for item in value:
            found += containers(item)
    return found


def record() -> dict:
    # built item by item: a dict holding only atoms is never tracked, one holding a list is
    return {
        "type": "macrostep",
        "entered": ["a", "b"],
        "event": {"name": "e", "data": {"x": [1, 2.5, None, True, "s"], "y": []}},
        "pair": (["n"], 1),
    }


def test_data_is_untracked_whole() -> None:
    value = record()
    assert any(gc.is_tracked(c) for c in containers(value))
    assert untrack_data(value) is True
    assert not any(gc.is_tracked(c) for c in containers(value))
    assert value == record()  # untouched otherwise


@pytest.mark.parametrize(
    "make",
    [
        lambda: {"a": [1, object()]},  # not data
        lambda: {"a": [1], 2: "int key"},
        lambda: {"a": [1], "b": {"c": {1.5, 2}}},  # a set
        lambda: {"a": [1], "b": bytearray(b"x")},
        # data first (its 200 lists untracked as the walk leaves them), then not: all tracked again
        lambda: {"a": [[i] for i in range(200)], "b": ({"c": []}, [object()])},
    ],
)
def test_anything_else_is_left_tracked(make) -> None:
    value = make()
    before = [gc.is_tracked(c) for c in containers(value)]
    assert untrack_data(value) is False
    assert [gc.is_tracked(c) for c in containers(value)] == before


def test_a_cycle_and_a_tree_beyond_the_bounds_are_left_tracked() -> None:
    cycle: list = [1]
    cycle.append({"back": cycle})
    assert untrack_data(cycle) is False
    assert gc.is_tracked(cycle) and gc.is_tracked(cycle[1])

    deep: list = []
    for _ in range(64):
        deep = [deep]
    assert untrack_data(deep) is False and gc.is_tracked(deep)
    assert untrack_data(deep[0]) is True  # 64 levels: within the bound
    assert not gc.is_tracked(deep[0])

    # shared subtrees count at each visit: 2**20 visits of one list, over the bound, not walked
    shared: list = ["x"]
    for _ in range(20):
        shared = [shared, shared]
    assert untrack_data(shared) is False and gc.is_tracked(shared)
    assert all(gc.is_tracked(c) for c in containers(shared[0][0][0][0][0][0][0]))


def test_a_dict_given_a_container_later_is_tracked_again() -> None:
    value = record()
    untrack_data(value)
    value["event"]["data"]["z"] = [1]
    assert gc.is_tracked(value["event"]["data"])


def test_atoms_are_data() -> None:
    for atom in ("s", 1, 2**80, 1.5, True, None):
        assert untrack_data(atom) is True
