"""`Date` follows the virtual clock in the profile's zone (daylight saving included), never the host's
clock or TZ; `Math.random` is seeded from the group's seed."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from simulator.scxml.clock import DEFAULT_START_MS, TimeBase, ZoneRules
from simulator.scxml.datamodel import ECMAScriptDataModel
from simulator.scxml.profile import Profile

from .conftest import Run, chart

ROOT = Path(__file__).resolve().parents[2]


def ms(*args: int, tz: str = "UTC") -> int:
    return int(dt.datetime(*args, tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def paris(around: int) -> ZoneRules:
    return ZoneRules.from_tzinfo("Europe/Paris", ZoneInfo("Europe/Paris"), around)


class Clocked(Profile):
    """The W3C profile with a configured wall clock."""

    def __init__(self, base: TimeBase):
        self.base = base

    def time_base(self, session: object = None) -> TimeBase:
        return self.base


def datamodel(zone: ZoneRules, now_ms: int, seed: str = "s") -> ECMAScriptDataModel:
    dm = ECMAScriptDataModel()
    dm.install_time(zone, lambda: now_ms, seed)
    return dm


def test_without_a_configured_clock_date_shows_the_documented_default_instant_in_utc():
    r = Run(chart('<datamodel><data id="d" expr="new Date()"/></datamodel><state id="s"/>'))
    assert r.value("Date.now()") == DEFAULT_START_MS
    assert r.value("d.toISOString()") == "2026-01-05T10:00:00.000Z"
    assert r.value("[d.getHours(), d.getDay(), d.getTimezoneOffset()]") == [10, 1, 0]
    assert r.value("String(d)") == "Mon Jan 05 2026 10:00:00 GMT+0000 (UTC)"


def test_date_follows_the_virtual_clock_across_a_daylight_saving_change():
    # Paris moves from +1 to +2 at 01:00 UTC on 2026-03-29; the session starts at 00:30 UTC.
    start = ms(2026, 3, 29, 0, 30)
    doc = chart(
        '<datamodel><data id="seen" expr="[]"/></datamodel>'
        '<state id="s"><onentry><script>var d = new Date(); seen.push([d.getHours(), d.getMinutes(), d.getDay(),'
        ' d.getTimezoneOffset(), String(d)]);</script><send event="t" delay="1h"/></onentry>'
        '<transition event="t" target="e"><script>var d = new Date(); seen.push([d.getHours(), d.getMinutes(),'
        " d.getDay(), d.getTimezoneOffset(), String(d)]);</script></transition></state>"
        '<final id="e"/>'
    )
    r = Run(doc, profile=Clocked(TimeBase(start, paris(start))))
    r.idle()
    assert r.value("seen") == [
        [1, 30, 0, -60, "Sun Mar 29 2026 01:30:00 GMT+0100 (CET)"],
        [3, 30, 0, -120, "Sun Mar 29 2026 03:30:00 GMT+0200 (CEST)"],
    ]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        # wall times that do not exist (spring forward) read with the offset before the change
        ("new Date(2026, 2, 29, 2, 30).toISOString()", "2026-03-29T01:30:00.000Z"),
        ("new Date('2026-03-29T02:30').getHours()", 3),
        # repeated wall times (fall back) are their earliest instant
        ("new Date(2026, 9, 25, 2, 30).toISOString()", "2026-10-25T00:30:00.000Z"),
        ("new Date(2026, 9, 25, 12).getTimezoneOffset()", -60),
        ("new Date(2026, 6, 1).getTimezoneOffset()", -120),
        # strings without a zone are local; with one, or ISO date-only, they are absolute
        ("Date.parse('Jan 5, 2026 10:00')", ms(2026, 1, 5, 9)),
        ("Date.parse('2026/07/01 10:00:00')", ms(2026, 7, 1, 8)),
        ("Date.parse('2026-01-05')", ms(2026, 1, 5)),
        ("Date.parse('2026-01-05T10:00:00Z')", ms(2026, 1, 5, 10)),
        ("Date.parse('Mon Jan 05 2026 11:00:00 GMT+0100 (CET)')", ms(2026, 1, 5, 10)),
        ("Date.parse('Jan 5 2026 10:00 EST')", ms(2026, 1, 5, 15)),
        ("isNaN(Date.parse('not a date'))", True),
        # local setters (Composer's isTimeInRange sets hours and minutes on new Date())
        (
            "(function () { var d = new Date(); d.setHours(17, 0, 0, 0); return d.toISOString(); })()",
            "2026-07-01T15:00:00.000Z",
        ),
        ("(function () { var d = new Date(0); d.setFullYear(2026, 0, 31); return d.getMonth(); })()", 0),
        (
            "(function () { var d = new Date(NaN); return [isNaN(d.setHours(1)), d.setFullYear(2026) > 0]; })()",
            [True, True],
        ),
        ("new Date().toLocaleString()", "07/01/2026, 12:00:00 PM"),
        ("new Date().toTimeString()", "12:00:00 GMT+0200 (CEST)"),
        ("new Date().toDateString()", "Wed Jul 01 2026"),
        ("typeof Date()", "string"),
        ("new Date(2026, 0) instanceof Date && Date.prototype.constructor === Date", True),
        ("new Date(new Date(5)).getTime()", 5),
        ("JSON.stringify({d: new Date(0)})", '{"d":"1970-01-01T00:00:00.000Z"}'),
        ("Date.UTC(2026, 0, 5)", ms(2026, 1, 5)),
        ("new Date(2026, 0, 5).getYear()", 126),
    ],
)
def test_local_time_methods_follow_the_configured_zone(expr, expected):
    now = ms(2026, 7, 1, 10)
    dm = datamodel(paris(now), now)
    try:
        assert dm.evaluate(expr) == expected
    finally:
        dm.close()


def test_a_us_zone_changes_on_its_own_date():
    now = ms(2026, 11, 1, 5, 30)  # 01:30 EDT; an hour later it is 01:30 EST again
    ny = ZoneRules.from_tzinfo("America/New_York", ZoneInfo("America/New_York"), now)
    first, second = datamodel(ny, now), datamodel(ny, now + 3_600_000)
    try:
        assert first.evaluate("[new Date().getHours(), String(new Date())]") == [
            1,
            "Sun Nov 01 2026 01:30:00 GMT-0400 (EDT)",
        ]
        assert second.evaluate("[new Date().getHours(), String(new Date())]") == [
            1,
            "Sun Nov 01 2026 01:30:00 GMT-0500 (EST)",
        ]
    finally:
        first.close()
        second.close()


def test_a_zone_table_is_exact_to_the_second():
    start = ms(2026, 1, 1)
    rules = paris(start)
    change = ms(2026, 3, 29, 1)
    assert change in rules.transitions
    assert (rules.offset_at(change - 1), rules.offset_at(change)) == (60, 120)
    assert ZoneRules.fixed("X", 330).offset_at(start) == 330


def test_math_random_is_seeded_by_the_group_seed_and_differs_between_sessions():
    doc = chart('<datamodel><data id="r" expr="[Math.random(), Math.random()]"/></datamodel><state id="s"/>')
    a, b, c = Run(doc, seed=7), Run(doc, seed=7), Run(doc, seed=8)
    assert a.value("r") == b.value("r")
    assert a.value("r") != c.value("r")
    assert all(0 <= x < 1 for x in a.value("r"))
    other = a.group.create_session(a.model)
    other.start()
    assert other.datamodel.evaluate("r") != a.value("r")


def test_performance_now_is_virtual_too():
    dm = datamodel(ZoneRules(), 1000)
    try:
        assert dm.evaluate("[performance.now(), performance.timeOrigin]") == [0, 1000]
    finally:
        dm.close()


def test_a_failing_clock_reads_as_an_invalid_date_not_an_escaping_exception():
    dm = ECMAScriptDataModel()

    def broken() -> float:
        raise RuntimeError("clock gone")

    dm.install_time(ZoneRules(), broken, "s")
    try:
        assert dm.evaluate("String(new Date())") == "Invalid Date"
    finally:
        dm.close()


def test_the_clock_installs_whatever_the_document_did_to_array_methods_before_its_first_date():
    # The JS clock was installed on the first use of Date, maybe after the document's scripts ran,
    # and once called Array.prototype.forEach (it threw "cannot install" here); QuickJS's reads none.
    dm = datamodel(paris(ms(2026, 7, 1, 12)), ms(2026, 7, 1, 12))
    try:
        dm.execute("Array.prototype.forEach = function () { throw new Error('not here'); };")
        assert dm.evaluate("[new Date().getHours(), String(new Date(0)).slice(0, 15), typeof Date.now()]") == [
            14,
            "Thu Jan 01 1970",
            "number",
        ]
    finally:
        dm.close()


PROBE = r"""
import json, sys
from zoneinfo import ZoneInfo
import datetime as dt
from simulator.scxml.clock import ZoneRules
from simulator.scxml.datamodel import ECMAScriptDataModel, JSError
now = int(dt.datetime(2026, 7, 1, 10, tzinfo=dt.UTC).timestamp() * 1000)
dm = ECMAScriptDataModel()
dm.install_time(ZoneRules.from_tzinfo("Europe/Paris", ZoneInfo("Europe/Paris"), now), lambda: now, "seed")
out = [dm.evaluate(e) for e in json.loads(sys.argv[1])]
print(json.dumps(out))
"""
CORPUS = [
    "String(new Date())",
    "Date.now()",
    "new Date().getHours()",
    "new Date(2026, 0, 5, 10).getTime()",
    "Date.parse('Jan 5, 2026 10:00')",
    "Date.parse('01/05/2026')",
    "Date.parse('2026-01-05 10:00')",
    "Date.parse('2026-01-05T10:00')",
    "Date.parse('5 January 2026 10:00 PM')",
    "Date.parse('Monday, January 5, 2026 10:00 AM')",
    "Date.parse('Jan 5 2026 10:00 (CET)')",
    "Date.parse('Jan 5 2026 10:00:00 -0500')",
    "Date.parse('2026-01-05T10:00:00.000+0100')",
    "new Date('2026-01-05').getDate()",
    "Date.parse('2026-01-05T10:00:00+01:00')",
    "Date.parse('Tue, 05 Jan 2026 10:00:00 +0100')",
    "Date.parse('1/5/2026 10:00 PM EST')",
    "Date.parse('2026-01-05t10:00')",
    "Date.parse('Jan 5 2026 10:00-11:00')",
    "new Date(2026, 2, 29, 2, 30).getTime()",
    "(function () { var d = new Date(0); d.setHours(25); d.setMonth(13); return d.getTime(); })()",
    "new Date().toLocaleString()",
    "[Math.random(), Math.random()]",
]


@pytest.mark.parametrize("host_tz", ["Asia/Tokyo", "America/New_York"])
def test_nothing_depends_on_the_host_time_zone(host_tz):
    """Real processes with different TZ settings give the same values as UTC."""

    def probe(tz: str) -> list:
        env = {**os.environ, "TZ": tz, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", PROBE, json.dumps(CORPUS)], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    reference = probe("UTC")
    assert probe(host_tz) == reference
    assert reference[4] == ms(2026, 1, 5, 9)  # local to the configured zone (Paris, +1 in January)


def test_the_clock_reads_the_same_whichever_built_in_comes_first():
    for first in ("performance.now()", "Math.random()", "typeof Date", "(Date = 5, Date)"):
        dm = datamodel(ZoneRules(), DEFAULT_START_MS)
        try:
            dm.evaluate(first)
            assert dm.evaluate("[performance.now(), typeof Math.random()]") == [0, "number"]
            if not first.startswith("(Date"):
                assert dm.evaluate("new Date().toISOString()") == "2026-01-05T10:00:00.000Z"
            assert dm.evaluate("Object.keys(globalThis).filter(function (k) { return /^__orchweb/.test(k); })") == []
        finally:
            dm.close()


def test_a_full_heap_never_makes_date_fall_back_on_the_host_clock():
    # QuickJS reads the virtual clock natively: there is no install that the memory limit could
    # make fail (the JS clock was installed on first use and could), only results that do not fit.
    dm = ECMAScriptDataModel(memory_limit=4 * 1024 * 1024)
    dm.install_time(ZoneRules(), lambda: DEFAULT_START_MS, "s")
    try:
        dm.execute(
            "var hog = [], t; try { for (;;) hog.push(new Array(1000).join('x') + hog.length); } catch (e) {}"
            " t = Date.now(); hog = null;"
        )
        assert dm.evaluate("t") == DEFAULT_START_MS
        assert dm.evaluate("String(new Date())") == "Mon Jan 05 2026 10:00:00 GMT+0000 (UTC)"
    finally:
        dm.close()
