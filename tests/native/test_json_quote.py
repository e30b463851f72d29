"""JSON.stringify quotes strings into its output (patches/97-json-quote-in-place.patch): keys and
values, narrow and wide strings, ropes, every code unit, surrogate pairs and lone surrogates,
indented or not, are quoted as the standard says (a reference here), and out of memory while
stringifying throws the limit error and leaves the context whole. The C side is
native/quickjs/tests/function_list_atoms.sh.
"""

from __future__ import annotations

import json
import random

import orchweb_quickjs
import pytest

from tests.native.bytecode import out_of_memory_sweep

_ESCAPES = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"}


def quoted(units: list[int]) -> str:
    """QuoteJSONString of the UTF-16 code units `units` (ECMA-262, well-formed JSON.stringify)."""
    out = ['"']
    i = 0
    while i < len(units):
        c = units[i]
        if 0xD800 <= c < 0xDC00 and i + 1 < len(units) and 0xDC00 <= units[i + 1] < 0xE000:
            out.append(chr(0x10000 + ((c - 0xD800) << 10) + units[i + 1] - 0xDC00))
            i += 2
            continue
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif c < 0x20 or 0xD800 <= c < 0xE000:
            out.append(f"\\u{c:04x}")
        else:
            out.append(chr(c))
        i += 1
    out.append('"')
    return "".join(out)


#: for each list of code units: the string as a value, as a key, and as both, indented
STRINGIFY = r"""
(function (all) {
  return all.map(function (units) {
    var s = '';
    for (var i = 0; i < units.length; i += 4096) s += String.fromCharCode.apply(null, units.slice(i, i + 4096));
    var o = {};
    o[s] = s;
    return [JSON.stringify(s), JSON.stringify(o), JSON.stringify(o, null, 2)].join('\u0001');
  }).join('\u0002');
})(%s)
"""


def expected(units: list[int]) -> str:
    q = quoted(units)
    return "\x01".join([q, "{" + q + ":" + q + "}", "{\n  " + q + ": " + q + "\n}"])


def check(ctx: orchweb_quickjs.Context, cases: list[list[int]]) -> None:
    got = ctx.eval(STRINGIFY % json.dumps(cases)).split("\x02")
    for units, answer in zip(cases, got, strict=True):
        assert answer == expected(units), units[:20]


@pytest.mark.parametrize("intrinsics", ["modern", "es5"])
def test_every_code_unit_is_quoted_as_the_standard_says_in_keys_and_values(intrinsics):
    ctx = orchweb_quickjs.Context(intrinsics=intrinsics)
    try:
        for start in range(0, 0x10000, 0x1000):
            # alone, between plain characters, and after a wide one (a narrow string is made wide)
            check(ctx, [[c] for c in range(start, start + 0x1000)])
            check(ctx, [[0x61, c, 0x62] for c in range(start, start + 0x1000)])
            check(ctx, [[0x100, 0x41, c, c, 0x5C] for c in range(start, start + 0x1000, 7)])
    finally:
        ctx.close()


def test_mixed_strings_pairs_lone_surrogates_and_long_ones_are_quoted_as_the_standard_says(ctx):
    rng = random.Random(97)
    pools = [
        list(range(0x20, 0x7F)),
        list(range(0x80, 0x100)),
        [0x22, 0x5C, 0x08, 0x09, 0x0A, 0x0C, 0x0D, 0x00, 0x1F, 0x7F],
        [0x100, 0x4E2D, 0xFFFF, 0xFEFF, 0x2028],
        [0xD83D, 0xDE00, 0xDBFF, 0xDFFF, 0xD800, 0xDC00],
    ]
    cases = [[], [0xD83D, 0xDE00], [0xDE00, 0xD83D], [0xD83D], [0xDE00, 0x41], [0x41, 0xD83D]]
    for _ in range(600):
        units: list[int] = []
        for _ in range(rng.randrange(0, 12)):
            pool = rng.choice(pools)
            units += [rng.choice(pool) for _ in range(rng.randrange(1, 30))]
        cases.append(units)
    # long ones: plain runs of thousands, a rope (made by concatenation) among them
    cases += [[0x61] * 70_000, [0x61] * 5000 + [0x22] + [0x62] * 5000, [0xE9] * 9000 + [0x2028] + [0xD800] * 3]
    check(ctx, cases)


def test_stringify_quotes_ropes_and_objects_of_many_keys(ctx):
    answer = ctx.eval(
        "var s = ''; for (var i = 0; i < 3000; i++) s += 'k\"' + i + '\\n';"
        "var o = {}; o[s] = s; for (var i = 0; i < 500; i++) o['key ' + i + '\\t\u00e9'] = 'v\\\\' + i;"
        "JSON.stringify([s, o])"
    )
    s = "".join(f'k"{i}\n' for i in range(3000))
    o = {s: s} | {f"key {i}\t\u00e9": f"v\\{i}" for i in range(500)}
    assert answer == json.dumps([s, o], ensure_ascii=False, separators=(",", ":"))


def test_out_of_memory_while_stringifying_throws_the_limit_error_and_the_context_stays_whole():
    setup = "var o = {}; for (var i = 0; i < 300; i++) o['key \"' + i] = 'value\\n' + i + '\u0100'; JSON.stringify; 0"
    script = "JSON.stringify([o, o, o]).length"

    def whole(ctx: orchweb_quickjs.Context) -> None:
        assert ctx.eval(script) == ctx.eval("3 * JSON.stringify(o).length + 4")
        assert ctx.eval('JSON.stringify(o).indexOf(\'"key \\\\"299":"value\\\\n299\u0100"\') > 0')

    assert out_of_memory_sweep(setup, script, range(0, 120_000, 2_999), whole) == {"ok", "oom"}
