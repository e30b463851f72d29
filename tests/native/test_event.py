"""Context.set_event / add_event_getter: the `_event` object the binding builds in C (module.c).

The datamodel's own tests (tests/scxml/test_datamodel.py) cover `_event` as documents see it;
these pin the binding's contract: one frozen object of one fixed shape per recorded event, built
on the getter's first call, data converted as the datamodel's decoder would, clean errors.
"""

from __future__ import annotations

import collections
import json

import orchweb_quickjs
import pytest

FIELDS = ["name", "type", "sendid", "origin", "origintype", "invokeid", "data"]


@pytest.fixture
def ctx():
    context = orchweb_quickjs.Context()
    context.add_event_getter("getEvent")
    yield context
    context.close()


def read(ctx, expression: str = "getEvent()"):
    return json.loads(ctx.eval(f"JSON.stringify({expression})"))


def test_before_any_event_the_getter_returns_undefined(ctx):
    assert ctx.eval("typeof getEvent()") == "undefined"


def test_the_object_has_the_fields_in_order_each_frozen(ctx):
    ctx.set_event("ping", "external", "id1", "#_internal", "http://www.w3.org/TR/scxml/#SCXMLEventProcessor", "inv",
                  1, '{"n": 5, "list": [1, "x", null]}')  # fmt: skip
    assert ctx.eval("Object.keys(getEvent()).join()") == ",".join(FIELDS)
    assert read(ctx) == {
        "name": "ping",
        "type": "external",
        "sendid": "id1",
        "origin": "#_internal",
        "origintype": "http://www.w3.org/TR/scxml/#SCXMLEventProcessor",
        "invokeid": "inv",
        "data": {"n": 5, "list": [1, "x", None]},
    }
    assert ctx.eval("Object.isFrozen(getEvent()) && !Object.isExtensible(getEvent())") is True
    assert ctx.eval("Object.getPrototypeOf(getEvent()) === Object.prototype") is True
    descriptor = read(ctx, "Object.getOwnPropertyDescriptor(getEvent(), 'name')")
    assert descriptor == {"value": "ping", "writable": False, "enumerable": True, "configurable": False}
    # strict code cannot change, add or delete a field; the data object itself is the document's
    for change in ("getEvent().name = 'x'", "getEvent().z = 1", "delete getEvent().type"):
        strict = f"(function () {{ 'use strict'; try {{ {change}; }} catch (e) {{ return e.name; }} }})()"
        assert ctx.eval(strict) == "TypeError", change
    assert ctx.eval("getEvent().data.n = 6, getEvent().data.n") == 6


def test_one_object_per_event_and_an_unread_event_never_shows_through(ctx):
    ctx.set_event("first", "internal", None, None, None, None, 2, None)
    ctx.eval("var first = getEvent();")
    assert ctx.eval("first === getEvent()") is True
    ctx.set_event("unread", "internal", None, None, None, None, 1, '{"a": 1}')
    ctx.set_event("third", "platform", None, None, None, None, 0, 3)
    seen = ctx.eval("[first.name, getEvent().name, getEvent().data, first !== getEvent()].join()")
    assert seen == "first,third,3,true"


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        (0, "text with \u00e9 and \U0001f600", "text with \u00e9 and \U0001f600"),
        (0, 2**31 - 1, 2**31 - 1),
        (0, 2.5, 2.5),
        (0, True, True),
        (0, None, None),
        (1, '"a\\u0000b"', "a\u0000b"),
        (1, '{"deep": {"x": [true, false]}, "\\u00e9": 1}', {"deep": {"x": [True, False]}, "\u00e9": 1}),
    ],
)
def test_data_round_trips_as_the_decoder_makes_it(ctx, kind, data, expected):
    ctx.set_event("e", "external", None, None, None, None, kind, data)
    assert read(ctx, "getEvent().data") == expected


def test_missing_fields_and_undefined_data_are_present_and_undefined(ctx):
    ctx.set_event("e", None, None, None, None, None, 2, None)
    assert ctx.eval("Object.keys(getEvent()).join()") == ",".join(FIELDS)
    assert ctx.eval("[getEvent().type, getEvent().invokeid, getEvent().data].every(v => v === undefined)") is True


def test_extra_fields_follow_the_standard_ones_and_replace_same_named_ones(ctx):
    ctx.set_event("e", "external", None, None, None, None, 0, "d", '{"raw": "POST / HTTP/1.1", "type": "http", "0": 1}')
    assert ctx.eval("Object.keys(getEvent()).join()") == "0," + ",".join(FIELDS) + ",raw"
    assert read(ctx, "[getEvent().type, getEvent().raw, getEvent()[0]]") == ["http", "POST / HTTP/1.1", 1]
    assert ctx.eval("Object.isFrozen(getEvent())") is True


def test_other_kinds_go_through_the_decoder_at_the_build(ctx):
    decode = ctx.eval(
        "(function (kind, text) { globalThis.calls = (globalThis.calls || 0) + 1; return [kind, JSON.parse(text)]; })"
    )
    ctx.set_event("e", "external", None, None, None, None, 3, '{"x": 1}', None, decode)
    assert ctx.eval("globalThis.calls") is None  # not before the first read
    assert read(ctx, "getEvent().data") == [3, {"x": 1}]
    assert read(ctx, "getEvent().data") == [3, {"x": 1}]
    assert ctx.eval("globalThis.calls") == 1
    failing = ctx.eval("(function () { throw new RangeError('no tree'); })")
    ctx.set_event("e", "external", None, None, None, None, 3, "{}", None, failing)
    assert ctx.eval("(function () { try { getEvent(); } catch (e) { return String(e); } })()") == "RangeError: no tree"


def test_data_may_be_an_object_of_the_same_context_only(ctx):
    array = ctx.eval("[1, 2]")
    ctx.set_event("e", "external", None, None, None, None, 0, array)
    assert read(ctx, "getEvent().data") == [1, 2]
    other = orchweb_quickjs.Context()
    try:
        with pytest.raises(ValueError):
            ctx.set_event("e", "external", None, None, None, None, 0, other.eval("[1]"))
    finally:
        other.close()


@pytest.mark.parametrize(
    "args",
    [
        ("e", "external", None, None, None, None, 0),  # too few
        ("e", "external", None, None, None, None, 0, 1, None, None, None),  # too many
        (1, "external", None, None, None, None, 0, 1),  # a field that is no string
        ("e", "external", None, None, None, None, 1, 5),  # JSON that is no text
        ("e", "external", None, None, None, None, 0, [1]),  # data the binding cannot convert
        ("e", "external", None, None, None, None, 3, "{}"),  # a decoded kind without decoder
        ("e", "external", None, None, None, None, 0, 1, 7),  # extra that is no text
    ],
)
def test_bad_arguments_raise_and_keep_the_previous_state_clean(ctx, args):
    ctx.set_event("kept", "internal", None, None, None, None, 0, 1)
    with pytest.raises(TypeError):
        ctx.set_event(*args)
    # a failed call records nothing; the last complete one stands or, if cleared, undefined shows
    assert ctx.eval("typeof getEvent() === 'undefined' || getEvent().name === 'kept'") is True


def test_a_string_that_cannot_be_utf8_raises_and_records_nothing(ctx):
    ctx.set_event("kept", "internal", None, None, None, None, 0, 1)
    with pytest.raises(UnicodeEncodeError):
        ctx.set_event("bad \ud800", "internal", None, None, None, None, 0, 1)
    assert ctx.eval("typeof getEvent()") == "undefined"


def test_a_closed_context_refuses(ctx):
    ctx.close()
    with pytest.raises(orchweb_quickjs.JSException, match="closed"):
        ctx.set_event("e", "internal", None, None, None, None, 0, 1)
    with pytest.raises(orchweb_quickjs.JSException, match="closed"):
        ctx.add_event_getter("again")


def test_out_of_memory_fails_the_read_and_a_later_read_builds_it():
    ctx = orchweb_quickjs.Context()
    ctx.set_memory_limit(4 * 1024 * 1024)
    try:
        ctx.add_event_getter("getEvent")
        big = json.dumps({"s": "x" * 1_000_000, "n": 1})
        ctx.eval("var hog = []; try { for (;;) hog.push(new Array(1000).join('y') + hog.length); } catch (e) {}")
        ctx.set_event("e", "external", None, None, None, None, 1, big)
        with pytest.raises(orchweb_quickjs.JSException, match=r"^(InternalError: out of memory|null)\n"):
            ctx.eval("getEvent().data.n")
        with pytest.raises(orchweb_quickjs.JSException, match=r"^(InternalError: out of memory|null)\n"):
            ctx.eval("getEvent().data.n")  # still pending, fails again: never undefined
        ctx.eval("hog = null;")
        ctx.gc()
        assert ctx.eval("getEvent().data.n") == 1
        assert ctx.eval("getEvent() === getEvent() && getEvent().data.s.length") == 1_000_000
    finally:
        ctx.close()


def test_contexts_sharing_a_runtime_keep_their_own_events():
    runtime = orchweb_quickjs.Runtime()
    a, b = orchweb_quickjs.Context(runtime), orchweb_quickjs.Context(runtime)
    try:
        for context in (a, b):
            context.add_event_getter("getEvent")
        a.set_event("for a", "internal", None, None, None, None, 0, 1)
        assert b.eval("typeof getEvent()") == "undefined"
        b.set_event("for b", "internal", None, None, None, None, 0, 2)
        assert (a.eval("getEvent().name"), b.eval("getEvent().name")) == ("for a", "for b")
        a.close()
        assert b.eval("getEvent().data") == 2
    finally:
        a.close()
        b.close()


FLAT = {
    "n": 5,
    "neg": -7,
    "big": 2**40,
    "huge": 2**70,
    "f": 2.5,
    "s": "t\u00e9xt \U0001f600 \u0000",
    "b": False,
    "none": None,
}


def json_parse(ctx, value):
    return ctx.eval(f"JSON.stringify(JSON.parse({json.dumps(json.dumps(value))}))")


@pytest.mark.parametrize(
    "data",
    [
        FLAT,
        {},
        {"2": "index keys first", "a": 1, "1": 0, "__proto__": 3},
        {"nan": float("nan"), "inf": float("-inf"), "zero": -0.0, "max": 2**53 + 1},
    ],
)
def test_a_flat_dict_crosses_as_json_parse_of_its_json_would_make_it(ctx, data):
    assert ctx.set_event("e", "external", None, None, None, None, 4, data) is True
    text = json.dumps(data).replace("NaN", "null").replace("-Infinity", "null")
    assert ctx.eval("JSON.stringify(getEvent().data)") == json_parse(ctx, json.loads(text))
    parsed_keys = ctx.eval(f"Object.keys(JSON.parse({json.dumps(text)})).join()")
    assert ctx.eval("Object.keys(getEvent().data).join()") == parsed_keys
    if "__proto__" in data:
        assert ctx.eval("Object.getPrototypeOf(getEvent().data) === Object.prototype") is True
        assert ctx.eval("Object.prototype.hasOwnProperty.call(getEvent().data, '__proto__')") is True
    if "zero" in data:
        assert ctx.eval("Object.is(getEvent().data.zero, -0)") is True
    # the snapshot is taken at set_event: a later change of the dict does not show
    data["later"] = 1
    assert ctx.eval("'later' in getEvent().data") is False
    data.pop("later")


class Count(int):
    pass


@pytest.mark.parametrize(
    "data",
    [
        {"nested": {"x": 1}},
        {"list": [1]},
        {str(i): i for i in range(9)},  # more fields than the binding takes
        {"\u00e9": 1},  # a key past ASCII
        {"s": "lone \ud800"},
        {"n": 10**400},  # beyond a double
        {"n": Count(3)},  # a subclass
        {1: "non-string key"},
    ],
)
def test_a_dict_that_is_not_flat_is_refused_and_nothing_is_recorded(ctx, data):
    ctx.set_event("kept", "internal", None, None, None, None, 0, 1)
    assert ctx.set_event("e", "external", None, None, None, None, 4, data) is False
    assert ctx.eval("typeof getEvent()") == "undefined"
    ctx.set_event("e", "external", None, None, None, None, 1, '{"fallback": true}')
    assert read(ctx, "getEvent().data") == {"fallback": True}


def test_a_dict_subclass_is_refused():
    ctx = orchweb_quickjs.Context()
    try:
        ctx.add_event_getter("getEvent")
        assert ctx.set_event("e", "external", None, None, None, None, 4, collections.OrderedDict(a=1)) is False
        with pytest.raises(ValueError):
            ctx.set_event("e", "external", None, None, None, None, 5, "{}")
    finally:
        ctx.close()
