"""Values the binding hands to Python: quickjs-ng's rope strings and small BigInts too."""

from __future__ import annotations

import orchweb_quickjs
import pytest

from simulator.scxml.datamodel import ECMAScriptDataModel


def test_a_long_concatenation_and_a_small_bigint_convert():
    ctx = orchweb_quickjs.Context()
    try:
        # quickjs-ng makes a rope of a long concatenation (tag JS_TAG_STRING_ROPE), and keeps
        # a small BigInt in the value (JS_TAG_SHORT_BIG_INT): both were "Unknown quickjs tag"
        assert ctx.eval("var a = 'x'.repeat(70000); a + 'y'") == "x" * 70000 + "y"
        assert ctx.eval("1n + 1n") == 2
        assert ctx.eval("-(2n ** 100n)") == -(2**100)
    finally:
        ctx.close()


def test_a_script_ending_in_such_a_value_runs():
    dm = ECMAScriptDataModel()
    try:
        dm.execute("var a = 'x'.repeat(70000); a = a + 'x';")
        dm.execute("var big = 1n + 1n;\nbig;")
        assert dm.evaluate("a.length") == 70001
    finally:
        dm.close()


def test_a_returned_string_keeps_its_nuls_and_a_callback_argument_ends_at_the_first():
    ctx = orchweb_quickjs.Context()
    try:
        # what JS returns to Python is the whole string: the datamodel's out() no longer scans
        # every string for a NUL to send such strings as JSON
        assert ctx.eval("'a\\0b'") == "a\x00b"
        assert ctx.eval("(function () { return '\\0' + 'é\\0\\u20ac'; })")() == "\x00é\x00€"
        assert ctx.eval("'x'.repeat(70000) + '\\0y'") == "x" * 70000 + "\x00y"  # a rope
        # the arguments of Python callbacks end at their first NUL, as they always did
        seen = []
        ctx.add_callable("py", lambda *args: seen.append(args))
        ctx.eval("py('a\\0b', 'c')")
        assert seen == [("a", "c")]
    finally:
        ctx.close()


def test_strings_with_nul_or_a_lone_surrogate_read_as_they_did_through_json():
    dm = ECMAScriptDataModel()
    try:
        # out() sent a string with a NUL as JSON, whose escapes json.loads read back as the
        # string's own code points, lone surrogates included
        assert dm.evaluate("'a\\0b'") == "a\x00b"
        assert dm.evaluate("'\\ud800\\0\\udc00x\\ud83d\\ude00'") == "\ud800\x00\udc00x\U0001f600"
        assert dm.evaluate("'\\x01\\0'") == "\x01\x00"
        # without a NUL a lone surrogate cannot cross, as ever
        with pytest.raises(UnicodeDecodeError):
            dm.evaluate("'\\ud800x'")
    finally:
        dm.close()


def test_unpack_reads_an_arrays_own_data_elements_and_nothing_else():
    # the datamodel reads _CORE's helpers with it (one read instead of a JS call per helper)
    ctx = orchweb_quickjs.Context()
    try:
        one, text, obj, none, fn = ctx.eval("[1, 'a', {b: 2}, null, function () { return 3; }]").unpack()
        assert (one, text, none, obj.json(), fn()) == (1, "a", None, '{"b":2}', 3)
        assert ctx.eval("[]").unpack() == ()
        for source in (
            "({0: 1, length: 1})",  # not an array
            "new Proxy([1], {get: function () { throw 1; }})",  # a proxy: no trap runs
            "[1, , 2]",  # a hole would read the prototype
            "(function () { var a = [1]; Object.defineProperty(a, 0, {get: function () { throw 1; }}); return a; })()",
        ):
            with pytest.raises(TypeError):
                ctx.eval(source).unpack()
        assert ctx.eval("1 + 1") == 2  # nothing left pending
    finally:
        ctx.close()
