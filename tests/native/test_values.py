"""Values the binding hands to Python: quickjs-ng's rope strings and small BigInts too."""

from __future__ import annotations

import orchweb_quickjs

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
