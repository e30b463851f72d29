"""The virtual clock in QuickJS (native/quickjs/patches/80-virtual-clock.patch) against the clock
it replaced: the JavaScript `_TIME` orchweb installed in every session (tests/scxml/
clock_reference.js, verbatim). Both run side by side in contexts of both built-in profiles over
generated instants (every transition of each zone and around it, random ones over +-300 years,
edge years), every Date method, local wall times in daylight-saving gaps and repeats, strings
to parse (what Date itself prints, ISO forms, spellings of zones and offsets), Math.random's
sequence and performance. Every result must be identical, -0 and error messages included.

Deliberate differences, left out of the comparison and pinned by their own tests below: a local
time within a day of the time value range's end (the JS clock printed "undefined undefined NaN"
there), `setYear` of a year in (-1, 0) (ECMA-262 truncates; the JS clock floored), the method
objects themselves (native functions' names, lengths and source text) and `performance`'s
property attributes, and the built-ins a document may replace (String.prototype.trim and the like
changed the JS clock's parsing; the native clock does not read them).
"""

from __future__ import annotations

import gc
import json
import random
import time
import weakref
from pathlib import Path
from zoneinfo import ZoneInfo

import orchweb_quickjs
import pytest

from simulator.scxml.clock import DEFAULT_START_MS, ZoneRules
from simulator.scxml.datamodel import _seed_words, _zone_table

REFERENCE = (Path(__file__).resolve().parents[1] / "scxml" / "clock_reference.js").read_text()
AROUND = DEFAULT_START_MS


def tz(name: str) -> ZoneRules:
    return ZoneRules.from_tzinfo(name, ZoneInfo(name), AROUND)


ZONES = {
    "UTC": ZoneRules(),
    "Paris": tz("Europe/Paris"),
    "New York": tz("America/New_York"),
    "Lord Howe": tz("Australia/Lord_Howe"),  # a 30-minute daylight saving change
    "St Johns": tz("America/St_Johns"),  # -03:30 / -02:30
    "Kolkata": ZoneRules.fixed("Asia/Kolkata", 330, "IST"),
    "west": ZoneRules.fixed("x", -570, "Marquesas \u00e9t\u00e9"),  # non-ASCII name
}


def reference_config(zone: ZoneRules, seed: str, performance: bool) -> str:
    return json.dumps(
        {
            "transitions": list(zone.transitions),
            "offsets": list(zone.offsets),
            "abbreviations": list(zone.abbreviations),
            "seed": list(_seed_words(seed)),
            "performance": performance,
        }
    )


class Clock:
    """A clock both contexts read (epoch ms, moved by the test)."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def contexts(zone: ZoneRules, clock: Clock, intrinsics: str, seed: str = "seed") -> tuple:
    old = orchweb_quickjs.Context(intrinsics=intrinsics)
    old.add_callable("__now", clock)
    install = old.eval(REFERENCE)
    install("__now", reference_config(zone, seed, intrinsics != "es5"))
    new = orchweb_quickjs.Context(intrinsics=intrinsics)
    new.set_clock(clock, _zone_table(zone), _seed_words(seed))
    return old, new


def instants(zone: ZoneRules, count: int = 150) -> list[float]:
    rng = random.Random(f"instants/{zone.name}")
    out = {0, -1, 1, AROUND, 951_782_400_000, -62_135_596_800_000}  # epoch, 2000-02-29, year 1
    for year in (-271_820, -10_000, -1, 0, 1, 99, 100, 1900, 1969, 9999, 10_000, 275_759):
        for month in (0, 1, 11):
            out.add(float(_utc(year, month, 1)))
            out.add(float(_utc(year, month, 28, 23, 59)))
    for t in zone.transitions[:: max(1, len(zone.transitions) // 40)]:
        for delta in (0, 1, -1, 1_800_000, -1_800_000, 3_600_000, -3_600_000, 5_400_000, -86_400_000):
            out.add(t + delta)
    for _ in range(count):
        out.add(rng.randint(-(10**13), 10**13))
        out.add(rng.randint(-8_639_000_000_000_000, 8_639_000_000_000_000))
    return sorted(float(t) for t in out)


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Date.UTC for any year (proleptic Gregorian, as ECMA-262)."""
    days = _days_from_civil(year, month + 1, day)
    return (days * 86_400 + hour * 3600 + minute * 60) * 1000


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


# Runs in each context; returns every result as text (-0, NaN and errors told apart).
SUITE = r"""
(function (instants, strings) {
  var out = [], EDGE = 8.64e15 - 2 * 86400000;
  function show(v) {
    if (typeof v === 'number') return v === 0 && 1 / v < 0 ? '-0' : String(v);
    return typeof v + ':' + String(v);
  }
  function probe(label, f) {
    var v;
    try { v = show(f()); } catch (e) { v = 'throws ' + e.name + ': ' + e.message; }
    out[out.length] = label + ' = ' + v;
  }
  var GET = ['getFullYear', 'getMonth', 'getDate', 'getDay', 'getHours', 'getMinutes', 'getSeconds',
             'getMilliseconds', 'getYear', 'getTimezoneOffset', 'getTime', 'valueOf', 'getUTCHours',
             'toString', 'toDateString', 'toTimeString', 'toLocaleString', 'toLocaleDateString',
             'toLocaleTimeString', 'toUTCString', 'toISOString', 'toJSON', 'toGMTString'];
  var SET = [['setFullYear', [2024], [1999, 1, 29], [-5, 11, 31], [NaN]], ['setMonth', [0], [13, 40], [-1]],
             ['setDate', [31], [0], [-400]], ['setHours', [2, 30], [25], [0, 0, 0, 0, 'extra'], [Infinity]],
             ['setMinutes', [90], [-30, 30]], ['setSeconds', [3600, 999]], ['setMilliseconds', [-1], [8.6e15]],
             ['setYear', [99], [2000], [-1], [NaN], [1e9]], ['setTime', [0]], ['setUTCHours', [3]],
             ['setHours', []], ['setMonth', [{valueOf: function () { return 5; }}]]];
  for (var i = 0; i < instants.length; i++) {
    var t = instants[i];
    if (Math.abs(t) > EDGE) continue;  // a deliberate difference (see the module's docstring)
    var d = new Date(t);
    for (var g = 0; g < GET.length; g++) {
      probe(t + ' ' + GET[g], function () { return d[GET[g]](); });
    }
    for (var s = 0; s < SET.length; s++) {
      for (var a = 1; a < SET[s].length; a++) {
        probe(t + ' ' + SET[s][0] + JSON.stringify(SET[s][a]), function () {
          var x = new Date(t), r = x[SET[s][0]].apply(x, SET[s][a]);
          return r + ' ' + x.getTime();
        });
      }
    }
    // its local fields again (a repeated or skipped wall time near a change), shifted by steps
    for (var k = -4; k <= 4; k++) {
      probe(t + ' fields' + k, function () {
        return new Date(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes() + k * 15,
                        d.getSeconds(), d.getMilliseconds()).getTime();
      });
      probe(t + ' wall' + k, function () {  // the UTC fields read as a wall time
        var u = new Date(t + k * 900000);
        return new Date(u.getUTCFullYear(), u.getUTCMonth(), u.getUTCDate(), u.getUTCHours(),
                        u.getUTCMinutes()).getTime();
      });
    }
    probe(t + ' two', function () { return new Date(d.getFullYear(), d.getMonth()).getTime(); });
    var texts = [d.toString(), d.toDateString(), d.toTimeString(), d.toLocaleString(), d.toLocaleDateString(),
                 d.toUTCString(), d.toISOString(), d.toISOString().slice(0, 16), d.toISOString().slice(0, 10),
                 d.toISOString().slice(0, 19).split('T').join(' '), d.toISOString().slice(0, 7),
                 d.toString().slice(0, 24), d.toString().slice(0, 33), d.toLocaleString().split(',').join('')];
    for (var x = 0; x < texts.length; x++) {
      probe('parse ' + JSON.stringify(texts[x]), function () { return Date.parse(texts[x]); });
      probe('new ' + JSON.stringify(texts[x]), function () { return new Date(texts[x]).getTime(); });
    }
  }
  for (var p = 0; p < strings.length; p++) {
    probe('parse ' + JSON.stringify(strings[p]), function () { return Date.parse(strings[p]); });
  }
  var ARGS = [[2026, 0], [99, 11, 31, 23, 59, 59, 999], [0, 0], [-1, 0], [275760, 8, 13], [2026, 2, 29, 2, 30],
              [2026, 9, 25, 2, 30], [2026, 10, 1, 1, 30], [NaN, 0], [2026, NaN], [2026, 0, 1, 0, 0, 0, 0, 99],
              [1e20, 0], [2026.7, 0.5, 1.9], ['2026', '3'], [null, undefined]];
  for (var c = 0; c < ARGS.length; c++) {
    probe('ctor ' + JSON.stringify(ARGS[c]), function () {
      var a = ARGS[c];
      return new Date(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]).getTime() + ' ' +
             (a.length === 2 ? new Date(a[0], a[1]).getTime() : '');
    });
  }
  var ONE = [undefined, null, true, '', 0, -0, 1e16, 8.64e15, NaN, '0', '2026', new Date(5),
             {valueOf: function () { return 7; }}, {toString: function () { return '2026-01-05'; }},
             {valueOf: function () { return {}; }, toString: function () { return 'Jan 5 2026'; }}, [2026, 1]];
  for (var o = 0; o < ONE.length; o++) {
    probe('one ' + o, function () { return new Date(ONE[o]).getTime(); });
  }
  probe('called', function () { return Date(1, 2, 3); });
  probe('called new', function () { return Date() === new Date().toString(); });
  probe('now', function () { return Date.now(); });
  probe('UTC', function () { return Date.UTC(2026, 0, 5); });
  probe('not a date', function () { return Date.prototype.getHours.call({}); });
  probe('not a date set', function () { return Date.prototype.setHours.call(5, 1); });
  probe('not a date string', function () { return Date.prototype.toString.call([]); });
  probe('invalid', function () { var d = new Date(NaN); return [d.getHours(), String(d), d.toLocaleString(),
                                                               d.getTimezoneOffset(), d.setHours(1)].join(); });
  probe('subclass', function () {
    function D() { return Reflect.construct(Date, [0], D); }
    D.prototype = Object.create(Date.prototype);
    var d = new D(); return Object.getPrototypeOf(d) === D.prototype && d.getTime();
  });
  probe('primitive', function () { return new Date(2026, 0, 5) + ''; });
  probe('json', function () { return JSON.stringify({d: new Date(0)}); });
  var R = [];
  for (var r = 0; r < 300; r++) R[r] = Math.random();
  probe('random', function () { return R.join(); });
  return out;
})
"""

STRINGS = [
    "Jan 5, 2026 10:00",
    "01/05/2026",
    "2026-01-05 10:00",
    "2026-01-05T10:00",
    "5 January 2026 10:00 PM",
    "Monday, January 5, 2026 10:00 AM",
    "Jan 5 2026 10:00 (CET)",
    "Jan 5 2026 10:00:00 -0500",
    "2026-01-05T10:00:00.000+0100",
    "2026-01-05T10:00:00+01:00",
    "Tue, 05 Jan 2026 10:00:00 +0100",
    "1/5/2026 10:00 PM EST",
    "2026-01-05t10:00",
    "Jan 5 2026 10:00-11:00",
    "  2026-01-05  ",
    "\u00a02026-01-05\n",
    "2026-03-29T02:30",
    "2026-10-25T02:30",
    "2026-03-08T02:30",
    "2026-11-01T01:30",
    "Mar 29 2026 02:30",
    "Oct 25 2026 02:30:00",
    "2026-03-29 02:30 UTC",
    "2026-03-29 02:30 ut",
    "2026-03-29 02:30 z",
    "2026-03-29 02:30 Z",
    "Mar 29 2026 2:30 CEST",
    "Mar 29 2026 2:30 cest",
    "Mar 29 2026 2:30 EEST",
    "Mar 29 2026 2:30 WET",
    "Mar 29 2026 2:30 PDT",
    "Mar 29 2026 2:30 XST",
    "Mar 29 2026 2:30 GMTX",
    "Mar 29 2026 2:30 (UTC)",
    "Mar 29 2026 2:30 (x) +0100",
    "Mar 29 2026 2:30:15.250 pm +1",
    "Mar 29 2026 2:30 am-1",
    "2:30 +1",
    "Mar 29 2026 2:30 (unclosed +0100",
    "Mar 29 2026 2:30 )",
    "+002026-01-05",
    "-000001-01-01",
    "-000001-01-01T00:00",
    "+275760-09-13",
    "275760-09-13T00:00",
    "-271821-04-20T00:00",
    "-271821-04-20",
    "2026",
    "2026-01",
    "20260-01-05",
    "2026-01-05T10:00:00.123456",
    "2026-01-05T24:00",
    "2026-02-30T10:00",
    "2026-13-01",
    "Jan 2026",
    "2026 Jan 5",
    "Symbol(2026)",
    "",
    "   ",
    "garbage",
    "12/31/1969 23:59:59",
    "Dec 31 1969 23:59:59 GMT+0000",
    "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)",
    "1970-01-01T00:00:00\u2212",
    "Jan\u20035 2026",
    "2026-01-05T10:00\u2028",
    "Jan 5 2026 10:00 GMT\u2212 1",
    "Jan 5 99",
    "Jan 5 49",
    "Jan 5 50 10:00",
]


@pytest.mark.parametrize("intrinsics", ["modern", "es5"])
@pytest.mark.parametrize("name", list(ZONES))
def test_the_native_clock_answers_as_the_javascript_clock_did(name, intrinsics):
    zone = ZONES[name]
    clock = Clock(float(AROUND + 7 * 3_600_000 + 123))
    old, new = contexts(zone, clock, intrinsics)
    try:
        times = instants(zone)
        got_old, got_new = run_suite(old, times), run_suite(new, times)
        assert len(got_old) > 20_000
        differences = [(a, b) for a, b in zip(got_old, got_new, strict=True) if a != b]
        assert differences[:10] == [] and len(differences) == 0
    finally:
        old.close()
        new.close()


def run_suite(ctx, times: list[float], prelude: str = "") -> list[str]:
    suite = SUITE.replace(
        "(function (instants, strings) {",
        "(function (instantsText, stringsText) {\n"
        "  var instants = JSON.parse(instantsText), strings = JSON.parse(stringsText);",
    )
    if prelude:
        ctx.eval(prelude)
    return json.loads(ctx.eval(suite)(json.dumps(times), json.dumps(STRINGS)).json())


@pytest.mark.parametrize("intrinsics", ["modern", "es5"])
def test_the_same_after_a_document_replaced_array_methods_first(intrinsics):
    # The JS clock was installed on the first use of Date, maybe after a document's scripts ran.
    replace = (
        "['forEach', 'map', 'filter', 'indexOf', 'reduce', 'some'].forEach(function (m) {"
        " Array.prototype[m] = function () { throw new Error('not here'); }; });"
    )
    zone, clock = ZONES["Paris"], Clock(float(AROUND))
    old = orchweb_quickjs.Context(intrinsics=intrinsics)
    old.add_callable("__now", clock)
    old.eval(replace)
    old.eval(REFERENCE)("__now", reference_config(zone, "seed", intrinsics != "es5"))
    new = orchweb_quickjs.Context(intrinsics=intrinsics)
    new.set_clock(clock, _zone_table(zone), _seed_words("seed"))
    new.eval(replace)
    times = instants(zone, 20)
    assert run_suite(new, times) == run_suite(old, times)
    old.close()
    new.close()


def test_the_native_clock_does_not_read_the_string_methods_a_document_replaces():
    # The JS clock's Date.parse called String.prototype.trim, .replace and RegExp.prototype.test
    # as the document left them; QuickJS's does not.
    zone, clock = ZONES["Paris"], Clock(float(AROUND))
    old, new = contexts(zone, clock, "modern")
    times = instants(zone, 10)
    expected = run_suite(old, times)
    sabotage = (
        "String.prototype.trim = function () { return 'garbage'; };"
        "String.prototype.replace = function () { return 'garbage'; };"
        "RegExp.prototype.test = function () { return true; }; RegExp.prototype.exec = null;"
    )
    assert run_suite(new, times, sabotage) == expected
    assert run_suite(old, times, sabotage) != expected
    old.close()
    new.close()


def test_performance_reads_the_clock_from_the_time_it_was_set():
    zone, clock = ZONES["Paris"], Clock(float(AROUND))
    old, new = contexts(zone, clock, "modern")
    eager = orchweb_quickjs.Context(intrinsics="modern-eager")  # performance made before the clock
    eager.set_clock(clock, _zone_table(zone), _seed_words("seed"))
    probe = "JSON.stringify([performance.now(), performance.timeOrigin, Date.now()])"
    seen = []
    for step in (0, 1, 999.5, 3_600_000):
        clock.now += step
        seen.append(old.eval(probe))
        assert new.eval(probe) == eager.eval(probe) == seen[-1]
    assert json.loads(seen[-1])[:2] == [3_601_000.5, AROUND]
    for ctx in (old, new, eager):
        ctx.close()


def test_a_failing_clock_reads_as_nan_never_the_host_clock():
    def broken() -> float:
        raise RuntimeError("gone")

    for now in (broken, lambda: "1000", lambda: None):
        ctx = orchweb_quickjs.Context()
        ctx.set_clock(now, _zone_table(ZONES["Paris"]), (1, 2, 3, 4))
        assert ctx.eval("[String(new Date()), Date.now(), performance.now(), Date()].join()") == (
            "Invalid Date,NaN,NaN,Invalid Date"
        )
        ctx.close()


def test_a_malformed_zone_table_is_refused():
    ctx = orchweb_quickjs.Context()
    table = _zone_table(ZONES["Paris"])
    for bad in (b"", table[:-1], table[:40], b"\0\0\0\0" + table[4:], b"\xff\xff\xff\x7f" + table[4:]):
        with pytest.raises(ValueError):
            ctx.set_clock(lambda: 0.0, bad, (1, 2, 3, 4))
    assert ctx.eval("new Date(0).getTimezoneOffset()") == 0  # still upstream (the host is UTC here)
    ctx.close()


def test_interrupts_and_memory_limits_still_apply():
    runtime = orchweb_quickjs.Runtime()
    ctx = orchweb_quickjs.Context(runtime)
    ctx.set_clock(Clock(float(AROUND)), _zone_table(ZONES["Paris"]), (1, 2, 3, 4))
    ctx.deadline = time.monotonic() + 0.2
    with pytest.raises(orchweb_quickjs.JSException, match="interrupted"):
        ctx.eval("for (;;) { new Date().toString(); Date.parse('Jan 5 2026 10:00'); }")
    ctx.deadline = 0
    runtime.set_memory_limit(2 * 1024 * 1024)
    with pytest.raises(orchweb_quickjs.JSException):  # out of memory (the error itself did not fit)
        ctx.eval("var keep = []; for (;;) keep.push(new Date().toString() + keep.length);")
    runtime.set_memory_limit(64 * 1024 * 1024)
    ctx.eval("keep = null;")
    assert ctx.eval("new Date(0).toString()") == "Thu Jan 01 1970 01:00:00 GMT+0100 (CET)"
    ctx.close()


def test_the_context_and_its_clock_are_collected():
    class Owner:
        def now(self) -> float:
            return 0.0

    owner = Owner()
    ctx = orchweb_quickjs.Context()
    ctx.set_clock(owner.now, _zone_table(ZONES["UTC"]), (1, 2, 3, 4))
    owner.ctx = ctx  # a cycle through the clock's callable
    ref = weakref.ref(owner)
    del owner, ctx
    gc.collect()
    assert ref() is None


def test_deliberate_differences_from_the_javascript_clock():
    zone, clock = ZONES["Paris"], Clock(float(AROUND))
    old, new = contexts(zone, clock, "modern")
    # a local time beyond the time value range: the JS clock printed garbage
    edge = "var d = new Date(8.64e15); [d.getHours(), String(d), d.getUTCHours(), d.getTimezoneOffset()].join()"
    assert old.eval(edge) == "NaN,undefined undefined NaN 0NaN NaN:NaN:NaN GMT+0100 (CET),0,-60"
    assert new.eval(edge) == "NaN,Invalid Date,0,-60"
    # setYear truncates (ECMA-262 B.2.3.2), the JS clock floored
    year = "var d = new Date(0); d.setYear(-0.5); d.getFullYear()"
    assert (old.eval(year), new.eval(year)) == (0, 1900)
    # the methods are QuickJS's own
    names = "[Date.prototype.getHours.name, Date.parse.name, Date.prototype.setHours.length].join()"
    assert (old.eval(names), new.eval(names)) == (",parse_,0", "getHours,parse,4")
    old.close()
    new.close()
