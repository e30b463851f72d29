"""The datamodel's JSON reader (`_loads`: orjson, with `json` where orjson would read otherwise)
reads every text to the values `json.loads` gives: same types, same floats, same order."""

from __future__ import annotations

import json
import math
import random
import struct

import pytest

from simulator.scxml import datamodel
from simulator.scxml.datamodel import ECMAScriptDataModel, JSError


def _exact(a, b) -> bool:
    """Equal with the same types all the way down (1 == 1.0 == True in Python), -0.0 and key order
    (iterative: deep values too)."""
    pending = [(a, b)]
    while pending:
        a, b = pending.pop()
        if type(a) is not type(b):
            return False
        if isinstance(a, dict):
            if list(a) != list(b):
                return False
            pending += [(a[k], b[k]) for k in a]
        elif isinstance(a, list):
            if len(a) != len(b):
                return False
            pending += zip(a, b, strict=True)
        elif isinstance(a, float):
            if struct.pack("d", a) != struct.pack("d", b):
                return False
        elif a != b:
            return False
    return True


def _js_number(x: float) -> str:
    """A double as JavaScript prints it (shortest digits; `1e-7`, `1e+21`, integers below 1e21 whole)."""
    with ECMAScriptDataModel() as dm:
        return dm.evaluate(f"String({x!r})")


def _floats() -> list[float]:
    rng = random.Random(7)
    out = [0.1, 1 / 3, 5e-324, 2.2250738585072014e-308, 2.2250738585072011e-308, 1.7976931348623157e308, 1e21, 1e-7]
    out += [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(30000)]
    out += [rng.uniform(-1e6, 1e6) for _ in range(5000)] + [10.0 ** rng.randint(-320, 308) for _ in range(2000)]
    return [x for x in out if math.isfinite(x)]


def test_floats_read_as_json_reads_them_in_pythons_and_javascripts_forms():
    floats = _floats()
    texts = [repr(x) for x in floats]  # shortest round trip, `1e-07`, `1e+16`
    texts += [t.replace("e-0", "e-").replace("e+", "e") for t in texts]  # orjson's and JS's exponents
    texts += [_js_number(x) for x in floats[:300]]
    texts += [f"{x:.17g}" for x in floats[:3000]] + [f"{x:.25g}" for x in floats[:3000]]  # longer than needed
    whole = "[" + ",".join(texts) + "]"
    assert _exact(datamodel._loads(whole), json.loads(whole))
    for text in texts[:2000]:
        assert _exact(datamodel._loads(text), json.loads(text)), text


@pytest.mark.parametrize(
    "text",
    [
        "9223372036854775807",
        "-9223372036854775808",
        "-9223372036854775809",  # past 64 bits: orjson would read a float
        "18446744073709551615",
        "18446744073709551616",
        "100000000000000000000",
        "123456789012345680000",  # JSON.stringify(123456789012345678901)
        '{"a": [1, -9999999999999999999, {"b": 12345678901234567890123}]}',
        '"a 1234567890123456789012 in a string"',
        '"\\ud800 lone"',  # a lone surrogate escaped: orjson refuses, json reads it
        '{"a": 1, "b": 2, "a": 3}',
        "-0",
        "-0.0",
        '"\\u0000\\u2028\\ud83d\\ude00é"',
        "[1e400]",  # json: inf
    ],
)
def test_texts_orjson_would_read_otherwise_are_read_as_json_reads_them(text):
    assert _exact(datamodel._loads(text), json.loads(text))


def test_deep_values_are_read_by_json_as_they_were():
    # orjson reads 1,024 levels, json as many as the interpreter's recursion limit leaves: a text
    # with 500 brackets or more is json's, so a value json could not read still raises
    for depth in (499, 500, 700, 990, 1024, 1100):
        for opening, closing in (("[", "]"), ('{"a":', "}")):
            text = opening * depth + "1" + closing * depth
            try:
                expected = json.loads(text)
            except RecursionError:
                with pytest.raises(JSError, match="too deeply nested"):
                    datamodel._loads(text)
            else:
                assert _exact(datamodel._loads(text), expected)
    with pytest.raises(JSError, match="too deeply nested"):
        datamodel._loads("[" * 200000 + "]" * 200000)
