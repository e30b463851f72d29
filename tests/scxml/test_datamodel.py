"""The ECMAScript datamodel on a real quickjs-ng context: every public method, values, errors."""

from __future__ import annotations

import datetime
import math
import threading

import pytest

from simulator.scxml.datamodel import (
    UNDEFINED,
    ECMAScriptDataModel,
    JSError,
    SharedCode,
    XMLValue,
    check_syntax,
    operation_budget,
)

from .conftest import counted_models


@pytest.fixture
def dm():
    model = ECMAScriptDataModel()
    yield model
    model.close()


# -- evaluate / evaluate_bool -------------------------------------------------------------------


def test_it_evaluates_primitives_natively(dm):
    assert dm.evaluate("1 + 1") == 2
    assert type(dm.evaluate("1 + 1")) is int
    assert dm.evaluate("1.5") == 1.5
    assert dm.evaluate("'a' + 'b'") == "ab"
    assert dm.evaluate("1 < 2") is True


_LITERALS = [
    "'MainWorkflow'",
    '"a b"',
    "''",
    '""',
    " 'x' ",
    "\t10\t",
    "0",
    "7",
    "123456789",
    "1234567890",
    "true",
    "false",
    "null",
    "'it''s'",
    "'a:b'",
    "'const x'",
    "'é€😀'",
    "'\x01x'",
    "'\\x41'",
    "010",
    "00",
    "1.0",
    "-1",
    "1e3",
    "undefined",
    "'a' + 'b'",
    "'\u2028'",
    "'a\x00b'",
    "\x1c1",
    "'x'\x1c",
    "'a\x7f'",
    "'\ud800'",
    "truex",
    "nul",
    "null ;",
]


def test_literals_evaluate_to_what_javascript_gives(dm):
    # `evaluate` answers a plain literal without calling JavaScript (see datamodel._LITERAL); the
    # same text run by JS (inside a comma expression, which the shortcut never takes) is the oracle.
    for expr in _LITERALS:
        try:
            expected = ("value", dm.evaluate(f"(0, {expr}\n)"))
        except (JSError, UnicodeError) as exc:
            expected = ("error", type(exc).__name__)
        try:
            got = ("value", dm.evaluate(expr))
        except (JSError, UnicodeError) as exc:
            got = ("error", type(exc).__name__)
        assert got == expected and type(got[1]) is type(expected[1]), expr


def test_a_literal_is_answered_without_compiling_javascript():
    # a third of an ORS interaction's evaluations are literals: none of them is compiled into a
    # function, recorded for the sessions sharing the document's code, or called
    shared = SharedCode()
    model = ECMAScriptDataModel()
    model.share_code(shared)
    try:
        values = [model.evaluate(expr) for expr in ("'MainWorkflow'", "10", "true", "null", "'MainWorkflow'")]
        assert values == ["MainWorkflow", 10, True, None, "MainWorkflow"]
        assert len(shared) == 0
        assert model.evaluate("'a' + 1") == "a1" and len(shared) == 1
    finally:
        model.close()
    with pytest.raises(JSError, match="closed"):
        model.evaluate("'MainWorkflow'")


_SESSION_TEXTS = [
    "_sessionid + ': Inside Entry Block: Entry1'",
    '_sessionid+"x"',
    " \t_sessionid + ''\t ",
    "_sessionid + 'caf\u00e9 \u4e2d'",
    "_sessionid + 'a\\n'",  # an escape: JS evaluates it
    "_sessionid + 'a' + 'b'",
    "_sessionid + 1",
    "_sessionid + +'1'",
    "_sessionid + 'a'.length",
]


def test_sessionid_and_a_text_evaluate_to_what_javascript_gives():
    # `evaluate` joins `_sessionid + '...'` without JavaScript when the session id is plain text
    # (see datamodel._SESSION_TEXT); JS evaluating the same text in a comma expression is the
    # oracle: before `_sessionid` is defined (a ReferenceError), for ids plain or not, and after
    # it changes.
    model = ECMAScriptDataModel()
    try:
        for sessionid in (None, "e3e70682c2094cac629f6fbed82c07cd", "", "\x01a", "id \u00e9", "it's", 7, "next"):
            if sessionid is not None:
                model.set_system("_sessionid", sessionid)
            for expr in _SESSION_TEXTS:
                try:
                    expected = ("value", model.evaluate(f"(0, {expr}\n)"))
                except JSError as exc:
                    expected = ("error", exc.name)
                try:
                    got = ("value", model.evaluate(expr))
                except JSError as exc:
                    got = ("error", exc.name)
                assert got == expected, (sessionid, expr)
    finally:
        model.close()
    with pytest.raises(JSError, match="closed"):
        model.evaluate(_SESSION_TEXTS[0])


def test_sessionid_and_a_text_are_joined_without_compiling_javascript():
    shared = SharedCode()
    model = ECMAScriptDataModel()
    model.share_code(shared)
    try:
        model.set_system("_sessionid", "s1")
        assert model.evaluate("_sessionid + ': Inside'") == "s1: Inside" and len(shared) == 0
        model.set_system("_sessionid", "s2")
        assert model.evaluate("_sessionid + ': Inside'") == "s2: Inside" and len(shared) == 0
    finally:
        model.close()


def test_a_literal_the_preprocessor_changes_is_evaluated_as_preprocessed():
    model = ECMAScriptDataModel(preprocess=lambda source: source.replace("'a'", "'b'"))
    try:
        assert model.evaluate("'a'") == "b" and model.evaluate("'c'") == "c"
    finally:
        model.close()


def test_it_tells_undefined_from_null(dm):
    assert dm.evaluate("undefined") is UNDEFINED
    assert dm.evaluate("void 0") is UNDEFINED
    assert dm.evaluate("null") is None
    assert not UNDEFINED
    assert repr(UNDEFINED) == "UNDEFINED"


def test_it_round_trips_special_numbers(dm):
    nan = dm.evaluate("NaN")
    assert nan != nan
    assert dm.evaluate("1/0") == float("inf")
    assert dm.evaluate("-1/0") == float("-inf")
    assert str(dm.evaluate("-0")) == "-0.0"
    assert dm.evaluate("JSON.parse('3')") == 3
    assert type(dm.evaluate("JSON.parse('3')")) is int


def test_python_integers_beyond_32_bits_reach_javascript_intact(dm):
    epoch_ms = 1_764_979_200_000
    dm.declare("x")
    for value in (2**31 - 1, 2**31, -(2**31) - 1, epoch_ms, 2**53, -(2**53)):
        dm.assign_value("x", value)
        assert dm.evaluate("x") == value
    dm.set_event("e", data=epoch_ms)
    assert dm.evaluate("_event.data === 1764979200000") is True
    dm.set_system("_big", epoch_ms)
    assert dm.evaluate("_big") == epoch_ms


def test_it_converts_objects_dates_and_nested_values_through_json(dm):
    value = dm.evaluate("({a: [1, 'x', null, undefined, {b: true}], d: new Date(0), u: undefined, f: function(){}})")
    assert value == {"a": [1, "x", None, None, {"b": True}], "d": "1970-01-01T00:00:00.000Z"}


def test_it_keeps_strings_that_look_like_internal_tags_or_contain_nul(dm):
    assert dm.evaluate("'\\x01u'") == "\x01u"
    assert dm.evaluate("'\\x01jnull'") == "\x01jnull"
    assert dm.evaluate("'a\\0b'") == "a\x00b"


def test_it_survives_cyclic_values_with_a_marker(dm):
    dm.execute("var o = {k: 1}; o.self = o;")
    assert dm.evaluate("o") == {"k": 1, "self": "[Circular]"}


def test_it_gives_functions_a_best_effort_string(dm):
    assert dm.evaluate("(function f(a) { return a; })") == "function f(a) { return a; }"


def test_it_converts_bigint_best_effort(dm):
    assert dm.evaluate("10n") == 10
    assert dm.evaluate("({n: 10n ** 30n})") == {"n": str(10**30)}


def test_evaluate_bool_uses_javascript_truthiness(dm):
    dm.declare("x", "0")
    assert dm.evaluate_bool("x") is False
    assert dm.evaluate_bool("x + 1") is True
    assert dm.evaluate_bool("''") is False
    assert dm.evaluate_bool("({})") is True
    assert dm.evaluate_bool("NaN") is False


def test_it_compiles_each_expression_once_and_sees_later_changes(dm):
    dm.declare("n", "1")
    assert dm.evaluate("n * 10") == 10
    dm.assign("n", "2")
    assert dm.evaluate("n * 10") == 20


def test_an_expression_may_end_with_a_line_comment(dm):
    assert dm.evaluate("1 + 1 // two") == 2
    assert dm.evaluate_bool("true // yes") is True


def test_expressions_run_in_the_global_scope_with_eval(dm):
    dm.execute("var App_Block = {requestid: 'r1'}; var name = 'Block';")
    assert dm.evaluate("eval('App_' + name + '.requestid')") == "r1"
    assert dm.evaluate("this === globalThis") is True


# -- errors -------------------------------------------------------------------------------------


def test_a_reference_error_has_its_name_message_and_line(dm):
    with pytest.raises(JSError) as info:
        dm.evaluate("1 +\n missing")
    assert (info.value.name, info.value.message, info.value.line) == ("ReferenceError", "missing is not defined", 2)
    assert str(info.value) == "ReferenceError: missing is not defined"


def test_a_syntax_error_is_reported_on_the_expression_line(dm):
    with pytest.raises(JSError) as info:
        dm.evaluate("1 +")
    assert info.value.name == "SyntaxError"
    assert info.value.line == 1


def test_a_type_error_from_a_script_carries_the_script_line(dm):
    with pytest.raises(JSError) as info:
        dm.execute("var a = 1;\nvar b = null;\nb.c = 2;")
    assert (info.value.name, info.value.line) == ("TypeError", 3)


def test_a_thrown_non_error_value_becomes_a_generic_error(dm):
    with pytest.raises(JSError) as info:
        dm.execute("throw 'TypeError: not really'")
    assert info.value.name == "Error"
    assert "not really" in info.value.message


def test_a_custom_error_name_is_kept(dm):
    with pytest.raises(JSError) as info:
        dm.execute("var e = new Error('m'); e.name = 'MyError'; throw e;")
    assert (info.value.name, info.value.message) == ("MyError", "m")


def test_the_context_keeps_working_after_an_error(dm):
    with pytest.raises(JSError):
        dm.evaluate("nope()")
    assert dm.evaluate("2 + 2") == 4


# -- scripts, declarations, assignments -------------------------------------------------------------


def test_scripts_run_in_global_scope_with_var_semantics(dm):
    dm.execute("var a = 1; function inc(x) { return x + 1; }")
    dm.execute("var b = inc(a);")
    assert dm.evaluate("b") == 2
    assert dm.evaluate("typeof inc") == "function"


def test_declare_creates_a_variable_undefined_without_expression(dm):
    dm.declare("v")
    assert dm.evaluate("v") is UNDEFINED
    assert dm.evaluate("'v' in globalThis") is True
    dm.declare("w", "({k: [1, 2]})")
    assert dm.evaluate("w.k[1]") == 2


def test_a_failing_declaration_leaves_the_variable_declared_and_unbound(dm):
    for expr in ("missing.field", "return", "1 +\n"):
        with pytest.raises(JSError):
            dm.declare("broken", expr)
        assert dm.evaluate("typeof broken") == "undefined"
        assert dm.evaluate("'broken' in globalThis") is True
    with pytest.raises(JSError) as info:
        dm.declare("late", "1 +\n 2 +")
    assert (info.value.name, info.value.line) == ("SyntaxError", 2)


def test_declare_of_an_existing_variable_resets_it(dm):
    dm.declare("d", "1")
    dm.declare("d")
    assert dm.evaluate("d") is UNDEFINED


def test_declare_rejects_a_name_that_is_not_an_identifier(dm):
    with pytest.raises(JSError) as info:
        dm.declare("a; b")
    assert info.value.name == "SyntaxError"


def test_a_declaration_calls_javascript_once():
    # `<data>` declares and assigns in one compiled function (17 declarations per ORS interaction
    # were two calls each); what the engine's datamodel runs is counted through its `_run`
    calls: list[object] = []
    for model in counted_models(calls, 2):  # compiled, then from the shared bundle
        for id, expr in (("a", None), ("b", "1 + 1"), ("a", "b * 2")):
            model.declare(id, expr)
            model.declare(id, expr)  # cached
        del calls[:]
        model.declare("a")
        model.declare("b", "1 + 1")
        assert len(calls) == 2
        assert (model.evaluate("a"), model.evaluate("b")) == (UNDEFINED, 2)


def test_a_named_script_is_preprocessed_and_compiled_once_per_document():
    # every ORS session runs the document's ~30 named <script>s: the second session of a document
    # neither preprocesses them nor looks them up in the process-wide compile cache again
    preprocessed: list[str] = []

    def preprocess(source: str) -> str:
        preprocessed.append(source)
        return source.replace("const ", "var ")

    script = "const n = 1;\nfunction f() { return n + k; }\nvar k = 2;"
    failing = "var before = 1;\nnull.x;"
    shared = SharedCode()
    for session in range(2):
        del preprocessed[:]
        model = ECMAScriptDataModel(preprocess=preprocess)
        model.share_code(shared)
        try:
            model.execute(script, "<script a.scxml:3>")
            model.execute("var unnamed = 1;")  # not shared: each session's own, as before
            with pytest.raises(JSError) as caught:
                model.execute(failing, "<script a.scxml:9>")
            assert (caught.value.name, caught.value.source, caught.value.line) == ("TypeError", "<script a.scxml:9>", 2)
            assert preprocessed == ([script, "var unnamed = 1;", failing] if session == 0 else ["var unnamed = 1;"])
            assert model.evaluate("f() + before + unnamed") == 5
        finally:
            model.close()
    with pytest.raises(JSError, match="closed"):
        model.execute(script, "<script a.scxml:3>")
    assert len(shared.scripts) == 2


def test_identifiers_are_told_as_the_pattern_tells_them():
    # guard of `_is_identifier`'s ASCII shortcut against the pattern it stands for
    import re

    from simulator.scxml.datamodel import _is_identifier

    pattern = re.compile(r"(?:[^\W\d]|\$)(?:\w|\$)*")
    names = ["", "a", "_", "$", "$1", "1a", "a1", "a-b", "a b", " a", "a ", "if", "_$_", "x\u0660", "\u0660x", "\x00"]
    names += ["\u00e9t\u00e9", "a\u200c", "a\nb", "\u00aa", "ab\u00b2"]
    names += [chr(c) for c in range(256)] + ["a" + chr(c) for c in range(256)] + ["$" + chr(c) for c in range(256)]
    for name in names:
        assert _is_identifier(name) == (pattern.fullmatch(name) is not None), repr(name)


def test_declarations_keep_what_they_did_in_two_calls(dm):
    # guards: the property a declaration makes, the order of its effects and its errors
    dm.declare("v", "1")
    assert dm.evaluate("JSON.stringify(Object.getOwnPropertyDescriptor(globalThis, 'v'))") == (
        '{"value":1,"writable":true,"enumerable":true,"configurable":false}'
    )
    dm.execute("var log = []; function f() { log.push(typeof g); return 5; }")
    dm.declare("g", "f()")
    assert dm.evaluate("log") == ["undefined"] and dm.evaluate("g") == 5
    dm.execute("let lex = 1;")  # a global lexical binding: the assignment writes it, as `lex = ...` does
    dm.declare("lex", "2")
    assert dm.evaluate("lex") == 2 and dm.evaluate("globalThis.lex") is UNDEFINED
    dm.execute("const fixed = 1;")
    with pytest.raises(JSError) as info:
        dm.declare("fixed", "2")
    assert info.value.name == "TypeError"
    with pytest.raises(JSError) as info:
        dm.declare("if")
    assert (info.value.name, info.value.message) == ("SyntaxError", "invalid location: 'if'")
    assert dm.evaluate("'if' in globalThis") is True
    dm.execute("Object.preventExtensions(globalThis);")
    for expr in (None, "1", "1 +"):
        with pytest.raises(JSError) as info:
            dm.declare("fresh", expr)
        assert info.value.name == "TypeError" and "fresh" not in str(dm.evaluate("Object.keys(globalThis)"))


def test_declare_value_takes_python_values(dm):
    dm.declare_value("cfg", {"list": [1, 2.5, None, "s"], "nested": {"t": True}})
    assert dm.evaluate("cfg.list[1] + cfg.list.length") == 6.5
    assert dm.evaluate("cfg.nested.t") is True
    dm.declare_value("nothing", UNDEFINED)
    assert dm.evaluate("typeof nothing") == "undefined"
    dm.declare_value("nul", None)
    assert dm.evaluate("nul === null") is True


def test_declare_value_cannot_overwrite_a_system_variable(dm):
    dm.set_system("_sessionid", "s1")
    with pytest.raises(JSError) as info:
        dm.declare_value("_sessionid", "hijack")
    assert info.value.name == "TypeError"
    assert dm.evaluate("_sessionid") == "s1"


def test_assign_sets_nested_locations(dm):
    dm.declare("o", "({a: {b: [0, 0]}})")
    dm.assign("o.a.b[1]", "5 * 2")
    dm.assign("o.a['c']", "'x'")
    assert dm.evaluate("o") == {"a": {"b": [0, 10], "c": "x"}}


def test_assigning_an_undeclared_variable_is_an_error(dm):
    with pytest.raises(JSError) as info:
        dm.assign("undeclared", "1")
    assert info.value.name == "ReferenceError"
    assert dm.evaluate("typeof undeclared") == "undefined"


def test_assigning_into_an_undeclared_object_is_an_error(dm):
    with pytest.raises(JSError) as info:
        dm.assign("foo.bar.baz", "1")
    assert info.value.name == "ReferenceError"


def test_assign_to_an_invalid_location_is_a_syntax_error(dm):
    dm.declare("a", "1")
    for location in ["f()", "a; a", "1", "a = 2", "a +", "", "a.", "a[1"]:
        with pytest.raises(JSError) as info:
            dm.assign(location, "3")
        assert info.value.name == "SyntaxError", location
    assert dm.evaluate("a") == 1


def test_is_valid_location_checks_lvalue_syntax(dm):
    assert dm.is_valid_location("x")
    assert dm.is_valid_location("x.y[0]['z'].w")
    assert dm.is_valid_location("x[a[1] + ']']")
    assert dm.is_valid_location(" $x . _y ")
    for bad in ["x()", "x;y", "x = 1", "x + 1", "1x", "x.1", "x[", "x)", "this", "(x)", "x?.y", "x, y"]:
        assert not dm.is_valid_location(bad), bad


def test_assign_value_stores_python_values_including_nan_and_undefined(dm):
    dm.declare("v")
    dm.assign_value("v", {"a": float("nan"), "b": [1, {"c": "d"}]})
    assert dm.evaluate("v") == {"a": None, "b": [1, {"c": "d"}]}
    dm.assign_value("v", float("nan"))
    assert dm.evaluate("isNaN(v) && typeof v === 'number'") is True
    dm.assign_value("v", UNDEFINED)
    assert dm.evaluate("v") is UNDEFINED
    dm.assign_value("v", 2**60)
    assert dm.evaluate("typeof v") == "number"
    dm.assign_value("v", "a\x00b")
    assert dm.evaluate("v.length") == 3


def test_assign_value_converts_odd_python_values_or_fails_clearly(dm):
    import datetime

    dm.declare("v")
    dm.assign_value("v", {(1, 2): "tuple key", "when": datetime.date(2026, 1, 2), "set": {3}})
    assert dm.evaluate("v") == {"(1, 2)": "tuple key", "when": "2026-01-02", "set": [3]}
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(JSError) as info:
        dm.assign_value("v", cyclic)
    assert info.value.name == "TypeError"


def test_assign_value_to_an_undeclared_variable_is_an_error(dm):
    with pytest.raises(JSError):
        dm.assign_value("ghost", 1)


# -- _event and system variables ---------------------------------------------------------------------


def test_set_event_builds_one_object_per_event(dm):
    dm.set_event(
        "foo.bar", "external", "s1", "#_scxml_x", "http://www.w3.org/TR/scxml/#SCXMLEventProcessor", None, {"k": 1}
    )
    assert dm.evaluate("_event") == {
        "name": "foo.bar",
        "type": "external",
        "sendid": "s1",
        "origin": "#_scxml_x",
        "origintype": "http://www.w3.org/TR/scxml/#SCXMLEventProcessor",
        "data": {"k": 1},
    }
    dm.execute("var first = _event;")
    assert dm.evaluate_bool("first === _event")
    dm.set_event("next")
    assert dm.evaluate_bool("first !== _event")
    assert dm.evaluate("_event.name") == "next"


def test_an_event_bound_but_never_read_is_replaced_by_the_next(dm):
    # `_event` is built on its first read: an unread event must never show through later ones,
    # and a plain event (name, type, data) reads like one with every field given.
    dm.set_event("first", "external", data={"n": 1})
    dm.set_event("second", "internal", data={"n": 2})
    assert dm.evaluate("[_event.name, _event.type, _event.data.n]") == ["second", "internal", 2]
    dm.execute("var kept = _event;")
    dm.set_event("third", "external", "id3", data=[3])
    dm.set_event("fourth", "platform")
    assert dm.evaluate("[kept.name, _event.name, typeof _event.data, Object.isFrozen(_event)]") == [
        "second",
        "fourth",
        "undefined",
        True,
    ]
    assert dm.evaluate_bool("kept !== _event && _event === _event")
    assert dm.evaluate("Object.keys(_event)") == ["name", "type", "sendid", "origin", "origintype", "invokeid", "data"]


def test_event_data_crosses_as_json_whatever_encoder_writes_it(dm):
    # orjson writes plain data; what it refuses (non-string keys, integers beyond 64 bits, lone
    # surrogates, dates, str subclasses) is written by the json encoder as before.
    class Name(str):
        pass

    data = {
        "plain": {"a": [1, 2.5, None, True, "é"]},
        "keys": {1: "one"},
        "big": 2**70,
        "nan": math.nan,
        "surrogate": "\ud800",
        "when": datetime.date(2026, 12, 6),
        "name": Name("x"),
        "tuple": (1, 2),
    }
    dm.set_event("e", "external", data=data)
    assert dm.evaluate("_event.data") == {
        "plain": {"a": [1, 2.5, None, True, "é"]},
        "keys": {"1": "one"},
        "big": float(2**70),
        "nan": None,
        "surrogate": "\ud800",
        "when": "2026-12-06",
        "name": "x",
        "tuple": [1, 2],
    }


def test_missing_event_fields_are_undefined(dm):
    dm.set_event("e", "internal")
    for field in ("sendid", "origin", "origintype", "invokeid", "data"):
        assert dm.evaluate_bool(f"typeof _event.{field} === 'undefined'"), field
    assert dm.evaluate_bool("'invokeid' in _event")


def test_event_data_may_be_a_primitive_and_extra_fields_are_added(dm):
    dm.set_event("e", "external", data="text", extra={"raw": "POST / HTTP/1.1"})
    assert dm.evaluate("_event.data") == "text"
    assert dm.evaluate("_event.raw") == "POST / HTTP/1.1"


def test_an_event_built_out_of_memory_fails_the_reading_evaluation_and_a_later_read_builds_it():
    small = ECMAScriptDataModel(memory_limit=4 * 1024 * 1024, time_limit=5.0)
    try:
        small.execute("var hog = []; try { for (;;) hog.push(new Array(1000).join('y') + hog.length); } catch (e) {}")
        small.set_event("big", "external", data={"s": "x" * 1_000_000, "n": 1})  # nothing is built yet
        for _ in range(2):  # still pending after a failure: never undefined, never the previous event
            with pytest.raises(JSError) as info:
                small.evaluate_bool("_event.data.n === 1")
            assert info.value.name == "InternalError" and "memory" in info.value.message
        small.execute("hog = null;")
        assert small.evaluate("[_event.name, _event.data.n, _event.data.s.length, Object.isFrozen(_event)]") == [
            "big",
            1,
            1_000_000,
            True,
        ]
    finally:
        small.close()


def test_event_is_undefined_before_the_first_event(dm):
    assert dm.evaluate("typeof _event") == "undefined"


def test_the_document_cannot_replace_or_modify_event(dm):
    dm.set_event("e", "internal", data={"x": 1})
    with pytest.raises(JSError) as info:
        dm.execute("_event = 1")
    assert info.value.name == "TypeError"
    assert "read-only" in info.value.message
    with pytest.raises(JSError):
        dm.assign("_event", "1")
    with pytest.raises(JSError):
        dm.execute("'use strict'; _event.name = 'changed';")
    dm.execute("_event.name = 'changed'")  # sloppy mode: silently ignored on a frozen object
    assert dm.evaluate("_event.name") == "e"
    assert dm.evaluate("delete globalThis._event") is False
    assert dm.evaluate("_event.name") == "e"
    with pytest.raises(JSError):
        dm.declare("_event", "1")


def test_system_variables_are_readable_and_read_only(dm):
    dm.set_system("_sessionid", "abc")
    dm.set_system("_name", "doc")
    dm.set_system("_ioprocessors", {"http://www.w3.org/TR/scxml/#SCXMLEventProcessor": {"location": "#_scxml_abc"}})
    dm.set_system("_x", {})
    assert dm.evaluate("_sessionid + '/' + _name") == "abc/doc"
    assert dm.evaluate("_ioprocessors['http://www.w3.org/TR/scxml/#SCXMLEventProcessor'].location") == "#_scxml_abc"
    for name in ("_sessionid", "_name", "_ioprocessors", "_x"):
        with pytest.raises(JSError) as info:
            dm.assign(name, "'hijack'")
        assert info.value.name == "TypeError", name
        with pytest.raises(JSError):
            dm.execute(f"{name} = 1;")
    assert dm.evaluate("_sessionid") == "abc"
    dm.set_system("_sessionid", "def")  # the engine may update it
    assert dm.evaluate("_sessionid") == "def"


def test_set_system_rejects_event_and_bad_names(dm):
    for name in ("_event", "a b"):
        with pytest.raises(JSError):
            dm.set_system(name, 1)


# -- Python functions ---------------------------------------------------------------------------------


def test_a_python_function_receives_and_returns_json_values(dm):
    seen = []

    def get_udata(conn, key):
        seen.append((conn, key))
        return {"conn": conn, "value": [key, 1]}

    dm.define_function("getUData", get_udata)
    assert dm.evaluate("getUData('00ae', 'Segment').value[0]") == "Segment"
    assert seen == [("00ae", "Segment")]


def test_a_python_function_may_be_defined_on_a_dotted_path(dm):
    dm.define_function("_genesys.session.getCount", lambda: 3)
    assert dm.evaluate("_genesys.session.getCount() + 1") == 4
    assert "_genesys" not in dm.snapshot()


def test_a_python_exception_comes_back_as_a_catchable_js_error(dm):
    dm.define_function("boom", lambda: 1 / 0)
    assert dm.evaluate("(function(){ try { boom(); } catch (e) { return 'caught ' + e.message; } })()") == (
        "caught ZeroDivisionError: division by zero"
    )
    with pytest.raises(JSError) as info:
        dm.evaluate("boom()")
    assert info.value.name == "Error"
    assert "ZeroDivisionError" in info.value.message


def test_a_raised_jserror_keeps_its_js_type(dm):
    def strict(x):
        raise JSError("TypeError", f"bad argument {x}")

    dm.define_function("strict", strict)
    assert dm.evaluate(
        "(function(){ try { strict(1) } catch (e) { return e instanceof TypeError && e.message } })()"
    ) == ("bad argument 1")


def test_a_raised_jserror_with_a_custom_name_keeps_the_name(dm):
    def custom():
        raise JSError("GenesysError", "no such interaction")

    dm.define_function("custom", custom)
    with pytest.raises(JSError) as info:
        dm.evaluate("custom()")
    assert (info.value.name, info.value.message) == ("GenesysError", "no such interaction")


def test_a_python_function_returning_undefined_or_none(dm):
    dm.define_function("undef", lambda: UNDEFINED)
    dm.define_function("none", lambda: None)
    assert dm.evaluate_bool("undef() === undefined")
    assert dm.evaluate_bool("none() === null")


def test_a_python_function_may_evaluate_in_the_same_datamodel(dm):
    dm.declare("depth", "41")
    dm.define_function("inner", lambda: dm.evaluate("depth + 1"))
    assert dm.evaluate("inner()") == 42


def test_a_bad_function_name_is_rejected(dm):
    with pytest.raises(JSError):
        dm.define_function("a-b", lambda: 1)


# -- XML values (W3C B.2, optional) ---------------------------------------------------------------------

BOOKS = """
  <books xmlns="">
    <book title="title1"/>
    <book title="title2">x &amp; y<!-- note --></book>
  </books>
"""


def test_xml_data_becomes_a_dom_document(dm):
    dm.declare_value("var1", XMLValue(BOOKS))
    assert dm.evaluate("var1.getElementsByTagName('book')[0].getAttribute('title')") == "title1"
    assert dm.evaluate("var1.getElementsByTagName('book').item(1).textContent") == "x & y"
    assert dm.evaluate("var1.documentElement.nodeName") == "books"
    assert dm.evaluate("var1.nodeType") == 9
    assert dm.evaluate("var1.documentElement.children.length") == 2
    assert dm.evaluate("var1.documentElement.firstChild.nodeType") == 3  # whitespace text
    assert dm.evaluate("var1.getElementsByTagName('book')[0].nextSibling.nodeValue.trim()") == ""
    assert dm.evaluate("var1.getElementsByTagName('book')[0].hasAttribute('nope')") is False


def test_xml_event_data_is_a_dom(dm):
    dm.set_event("foo", "external", data=XMLValue("<books><book title='a'/><book title='b'/></books>"))
    assert dm.evaluate("_event.data.getElementsByTagName('book')[1].getAttribute('title')") == "b"


def test_xml_values_serialise_back_to_xml_text(dm):
    dm.declare_value("doc", XMLValue('<a k="1 &amp; &quot;2&quot;">t &lt; u<b/></a>'))
    assert dm.evaluate("doc") == '<a k="1 &amp; &quot;2&quot;">t &lt; u<b/></a>'
    dm.execute(
        "doc.documentElement.setAttribute('k', 'v'); doc.documentElement.removeChild(doc.getElementsByTagName('b')[0]);"
    )
    assert dm.evaluate("String(doc)") == '<a k="v">t &lt; u</a>'
    assert dm.snapshot(["doc"]) == {"doc": '<a k="v">t &lt; u</a>'}


def test_xml_with_several_roots_is_a_fragment(dm):
    dm.declare_value("frag", XMLValue("<a/>text<b/>"))
    assert dm.evaluate("frag.nodeType") == 11
    assert dm.evaluate("frag.childNodes.length") == 3
    assert dm.evaluate("frag.getElementsByTagName('*').length") == 2


def test_xml_values_resolve_no_entities_and_reject_bad_xml():
    value = XMLValue('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    assert "root" not in repr(value)
    with pytest.raises(JSError) as info:
        XMLValue("<a>")
    assert info.value.name == "SyntaxError"


def test_xml_namespaces_are_exposed(dm):
    dm.declare_value("ns", XMLValue('<a xmlns:p="urn:p"><p:b/></a>'))
    assert dm.evaluate("ns.getElementsByTagNameNS('urn:p', 'b')[0].nodeName") == "p:b"
    assert dm.evaluate("ns.getElementsByTagName('p:b').length") == 1


# -- snapshot ------------------------------------------------------------------------------------------


def test_snapshot_lists_user_variables_only(dm):
    dm.set_system("_sessionid", "s")
    dm.set_event("e")
    dm.define_function("helper", lambda: 1)
    dm.declare("a", "1")
    dm.declare("u")
    dm.execute("var b = {c: [1, 2]}; function fn() {} implicit = 'x';")
    assert dm.snapshot() == {"a": 1, "u": None, "b": {"c": [1, 2]}, "implicit": "x"}


def test_snapshot_json_gives_per_variable_text_for_cheap_diffs(dm):
    dm.declare("a", "1")
    dm.declare("b", "({x: 1})")
    before = dm.snapshot_json()
    dm.assign("b.x", "2")
    after = dm.snapshot_json()
    assert before == {"a": "1", "b": '{"x":1}'}
    assert [k for k in after if after[k] != before.get(k)] == ["b"]


def test_changes_name_only_what_changed_since_the_last_call(dm):
    dm.declare("a", "1")
    dm.declare("b", "({x: 1})")
    dm.execute("var f = function () {}; var u;")
    assert dm.changes() == ({"a": 1, "b": {"x": 1}, "u": None}, [])
    assert dm.changes() == ({}, [])
    dm.execute("b.x = 2; globalThis.added = [1]; delete globalThis.gone;")
    assert dm.changes() == ({"b": {"x": 2}, "added": [1]}, [])
    dm.execute("delete globalThis.added; f = 3; a = function () {};")
    assert dm.changes() == ({"f": 3}, ["a", "added"])  # a function is not a variable
    assert dm.changes(reset=True) == ({"b": {"x": 2}, "u": None, "f": 3}, [])


def test_changes_read_accessors_as_the_snapshot_does(dm):
    dm.execute(
        "var n = 0; Object.defineProperty(globalThis, 'g', {get: function () { return ++n; }, enumerable: true,"
        " configurable: true}); Object.defineProperty(globalThis, 'fg', {get: function () { return function () {}; },"
        " enumerable: true, configurable: true}); Object.defineProperty(globalThis, 'bad', {get: function () {"
        " throw new Error('no'); }, enumerable: true, configurable: true});"
    )
    changed, removed = dm.changes()
    assert changed == {"n": 0, "g": 1, "fg": None, "bad": "<Error: no>"} and removed == []
    assert dm.changes() == ({"n": 1, "g": 2}, [])  # the getter ran once per call
    assert set(dm.snapshot()) == {"n", "g", "fg", "bad"}


def test_changes_of_variables_past_the_contexts_memo_are_compared_outside(dm):
    # The context keeps at most 65,536 characters of texts: the rest cross each time, as text.
    dm.execute("var small = 1; var big = 'x'.repeat(70000); globalThis.other = 'y'.repeat(70000);")
    assert dm.changes() == ({"small": 1, "big": "x" * 70000, "other": "y" * 70000}, [])
    assert dm.changes() == ({}, [])
    dm.execute("big = 'z'.repeat(70000);")
    assert dm.changes() == ({"big": "z" * 70000}, [])
    dm.execute("big = 2;")  # small again, then back to the text it had while past the memo
    assert dm.changes() == ({"big": 2}, [])
    dm.execute("big = 'z'.repeat(70000); delete globalThis.other;")
    assert dm.changes() == ({"big": "z" * 70000}, ["other"])
    assert dm.changes(reset=True) == ({"small": 1, "big": "z" * 70000}, [])


def test_changes_survive_a_document_that_replaces_builtins(dm):
    dm.execute("var a = 1; Array.prototype.join = null; Object.create = null; JSON.stringify = null;")
    assert dm.changes() == ({"a": 1}, [])


def test_snapshot_of_selected_names_skips_unknown_ones(dm):
    dm.declare("a", "1")
    dm.declare("b", "2")
    assert dm.snapshot(["b", "nope"]) == {"b": 2}


def test_hidden_globals_are_left_out_of_the_snapshot(dm):
    dm.execute("var shim = {version: 1}; var mine = 2;")
    dm.hide_globals(["shim"])
    assert dm.snapshot() == {"mine": 2}


def test_a_throwing_getter_does_not_break_the_snapshot(dm):
    dm.execute("var bad = {get x() { throw new Error('no'); }}; var ok = 1;")
    snap = dm.snapshot()
    assert snap["ok"] == 1
    assert "no" in snap["bad"]


# -- preprocess, close, threads ------------------------------------------------------------------------


def test_preprocess_rewrites_scripts_and_expressions_before_compiling():
    calls = []

    def rewrite(source: str) -> str:
        calls.append(source)
        return source.replace("SAY", "'said'")

    with ECMAScriptDataModel(preprocess=rewrite) as model:
        model.execute("var s = SAY;")
        assert model.evaluate("SAY + '!'") == "said!"
        assert model.evaluate("SAY + '!'") == "said!"
        model.declare("t", "SAY")
        assert model.evaluate("t") == "said"
    assert calls.count("SAY + '!'") == 1  # compiled once


def test_a_labelled_statement_is_a_syntax_error_in_w3c_mode(dm):
    with pytest.raises(JSError) as info:
        dm.evaluate("caller_id: 1 + 1")
    assert info.value.name == "SyntaxError"


def test_program_fallback_evaluates_a_non_expression_as_a_program_like_spidermonkey():
    with ECMAScriptDataModel(program_fallback=True) as model:
        model.declare("x", "({connid: 'c1'})")
        assert model.evaluate("caller_id: x.connid") == "c1"
        assert model.evaluate_bool("caller_id: x.connid == 'c1'") is True
        model.declare("y")
        model.assign("y", "label: x.connid + '!'")
        assert model.evaluate("y") == "c1!"
        assert model.evaluate("var z = 5; z * 2") == 10
        assert model.evaluate("z") == 5  # a global program: var is global
        with pytest.raises(JSError) as info:
            model.evaluate("1 +")  # neither an expression nor a program
        assert info.value.name == "SyntaxError"
        with pytest.raises(JSError) as info:
            model.evaluate("label: missing")
        assert info.value.name == "ReferenceError"


def test_close_frees_the_context_and_later_calls_fail_clearly():
    model = ECMAScriptDataModel()
    model.declare("a", "1")
    model.close()
    model.close()
    assert model.closed
    with pytest.raises(JSError) as info:
        model.evaluate("a")
    assert "closed" in info.value.message


def test_a_datamodel_can_move_between_threads(dm):
    dm.declare("n", "0")
    errors = []

    def work():
        try:
            for _ in range(200):
                dm.execute("n = n + 1;")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert dm.evaluate("n") == 600


# -- check_syntax --------------------------------------------------------------------------------------


def test_check_syntax_accepts_valid_sources():
    assert check_syntax("var a = 1;\nfunction f() { return a; }") == []
    assert check_syntax("a.b + 1 > 2 && x == 'y'", "expression") == []


def test_check_syntax_reports_line_and_column_of_a_script_error():
    [(line, column, message)] = check_syntax("var a = 1;\nvar b = ;\n")
    assert (line, column) == (2, 9)
    assert message


def test_check_syntax_reports_an_unfinished_expression_at_its_end():
    [(line, column, _message)] = check_syntax("a +", "expression")
    assert (line, column) == (1, 4)
    [(line, column, _message)] = check_syntax("a b", "expression")
    assert (line, column) == (1, 3)


def test_check_syntax_never_runs_the_source():
    assert check_syntax("while (true) {}") == []
    assert check_syntax("}); while(true){}; (function(){") != []


def test_check_syntax_rejects_an_unknown_kind():
    with pytest.raises(ValueError):
        check_syntax("1", "module")


def test_the_operation_budget_caps_the_threads_evaluations_inside_it_only():
    # `_run` reads whether any thread is inside a budget from a Final list (no global lookup)
    with ECMAScriptDataModel(time_limit=30) as model:
        other: list[str] = []
        inside = threading.Event()
        done = threading.Event()

        def elsewhere() -> None:
            inside.wait()
            with ECMAScriptDataModel(time_limit=0.2) as mine:
                try:
                    mine.execute("for (;;) {}")
                except JSError as exc:
                    other.append(exc.message)
            done.set()

        thread = threading.Thread(target=elsewhere)
        thread.start()
        with operation_budget(0.05), pytest.raises(JSError, match=r"time budget of 0\.05 s ran out"):
            inside.set()
            done.wait()
            model.execute("for (;;) {}")
        thread.join()
        assert other == ["interrupted: exceeded the time limit of 0.2 s"]
        assert model.evaluate("1 + 1") == 2  # after the block: no cap
