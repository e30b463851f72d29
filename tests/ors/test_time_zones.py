"""Time in the ORS dialect: the Configuration-Server time-zone functions, the Java-style zone ids a
Genesys configuration ships with, the profile's clock and zone, and Composer's DateTime.js on them."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from simulator.ors import timezones
from simulator.ors.fakes import FakesError, load_fakes

from .strategies import assert_failed_on_error, block_strategy, run, value

ROOT = Path(__file__).resolve().parents[2]


def lookups(script: str, fakes: dict) -> object:
    doc = block_strategy(f"<onentry><script>{script}</script></onentry><transition target='ok'/>")
    r = run(doc, fakes)
    assert r.session.final_state == "ok", r.session.errors
    return value(r, "out")


def at(now: str, **extra: object) -> dict:
    return {"time": {"now": now, **extra}}


@pytest.mark.parametrize(
    ("now", "zone", "date", "time", "day"),
    [
        # Paris (ECT) in winter (+1) and summer (+2); New York (EST) on both sides of its change
        ("2026-01-05T23:30:00Z", "ECT", "2026-01-06", "00:30:00", 2),
        ("2026-07-05T21:59:59Z", "ECT", "2026-07-05", "23:59:59", 0),
        ("2026-03-08T06:59:00Z", "EST", "2026-03-08", "01:59:00", 0),
        ("2026-03-08T07:00:00Z", "EST", "2026-03-08", "03:00:00", 0),
        ("2026-01-05T10:00:00Z", "CTT", "2026-01-05", "18:00:00", 1),
        ("2026-01-05T20:00:00Z", "JST", "2026-01-06", "05:00:00", 2),
        ("2026-01-05T20:00:00Z", "IST", "2026-01-06", "01:30:00", 2),
        ("2026-01-05T10:00:00Z", "America/Sao_Paulo", "2026-01-05", "07:00:00", 1),
        ("2026-01-05T10:00:00Z", "GMT+05:45", "2026-01-05", "15:45:00", 1),
        ("2026-01-05T10:00:00Z", "pst", "2026-01-05", "02:00:00", 1),
    ],
)
def test_date_time_and_day_in_zone(now, zone, date, time, day):
    s = "_genesys.session"
    out = lookups(f"out = [{s}.dateInZone('{zone}'), {s}.timeInZone('{zone}'), {s}.dayInZone('{zone}')];", at(now))
    assert out == [date, time, day]


def test_zone_functions_follow_the_virtual_clock_across_a_change():
    doc = block_strategy("""<onentry><script>out.t = [_genesys.session.timeInZone('ECT')];</script>
      <send event="'later'" delay="'1h'"/></onentry>
      <transition event="later" target="ok"><script>out.t.push(_genesys.session.timeInZone('ECT'));</script>
      </transition>""")
    r = run(doc, at("2026-03-29T00:30:00Z"))
    assert value(r, "out.t") == ["01:30:00", "03:30:00"]


@pytest.mark.parametrize("java_id", sorted(timezones.JAVA_IDS))
def test_every_java_style_id_is_its_tz_database_zone(java_id):
    tz = timezones.resolve(java_id)
    expected = ZoneInfo(timezones.JAVA_IDS[java_id])
    for instant in (dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC), dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC)):
        assert instant.astimezone(tz).utcoffset() == instant.astimezone(expected).utcoffset()


def test_java_ids_observe_daylight_saving_where_their_zone_does():
    def offsets(name: str) -> tuple[int, int]:
        ms = [int(dt.datetime(2026, m, 15, tzinfo=dt.UTC).timestamp() * 1000) for m in (1, 7)]
        return tuple(timezones.local_fields(timezones.resolve(name), t)["offset"] for t in ms)

    assert offsets("ECT") == (60, 120)
    assert offsets("EST") == (-300, -240)
    assert offsets("PST") == (-480, -420)
    assert offsets("AET") == (660, 600)  # southern hemisphere: summer in January
    assert offsets("JST") == (540, 540)
    assert offsets("IST") == (330, 330)
    assert offsets("PNT") == (-420, -420)  # Arizona keeps standard time


def test_a_profile_adds_and_overrides_zones():
    fakes = at(
        "2026-07-01T12:00:00Z",
        zones={"Store": "Europe/Madrid", "EST": -5, "Branch": "Store", "HQ": 5.5, "PST": "PST"},
    )
    s = "_genesys.session"
    out = lookups(
        f"out = [{s}.timeInZone('Store'), {s}.timeInZone('EST'), {s}.timeInZone('Branch'), {s}.timeInZone('HQ')];",
        fakes,
    )
    assert out == ["14:00:00", "07:00:00", "14:00:00", "17:30:00"]
    assert timezones.resolve("A", {"A": "B", "B": "A"}) is None  # a loop of aliases names no zone
    assert timezones.resolve("PST", fakes["time"]["zones"]).key == "America/Los_Angeles"


def test_an_empty_zone_is_the_platforms_local_zone():
    s = "_genesys.session"
    out = lookups(
        f"out = [{s}.timeInZone(''), {s}.dateInZone(), {s}.dayInZone(null)];", at("2026-01-05T23:30:00Z", zone="ECT")
    )
    assert out == ["00:30:00", "2026-01-06", 2]


def test_an_unknown_zone_is_an_error_event_naming_it():
    doc = block_strategy("""<onentry><script>out.t = _genesys.session.timeInZone('Mars/Olympus');</script>
        <send event="'next'"/></onentry>
      <transition event="error.script" target="failed">
        <assign location="out.e" expr="[_event.name, JSON.stringify(_event.data)]"/></transition>
      <transition event="next" target="ok"/>""")
    r = run(doc)
    assert_failed_on_error(r, "error.script.Error", "unknown time zone: Mars/Olympus")


def test_an_unknown_zone_fails_is_special_day_too():
    out = lookups(
        "try { _genesys.session.isSpecialDay('T', 'D', 'Nowhere', true); } catch (e) { out = e.message; }",
        {"special_days": {"T/D": 1}},
    )
    assert out == "unknown time zone: Nowhere"


def test_special_days_may_list_dates_and_time_windows_read_in_the_zone():
    fakes = {
        "time": {"now": "2026-12-24T22:30:00Z"},  # 23:30 in Paris, 17:30 in New York
        "special_days": {
            "Holidays/Christmas": ["2026-12-25"],
            "Holidays/Eve": ["2026-12-24 12:00-18:00"],
            "Holidays/Closed": 1,
            "Never": 0,
        },
    }
    s = "_genesys.session.isSpecialDay"
    out = lookups(
        f"out = [{s}('Holidays', 'Christmas'), {s}('Holidays', 'Christmas', 'ECT'),"
        f" {s}('Holidays', 'Eve', 'EST', true), {s}('Holidays', 'Eve', 'ECT', true), {s}('Holidays', 'Eve', 'ECT'),"
        f" {s}('Holidays', 'Closed'), {s}('X', 'Never'), {s}('X', 'Unknown')];",
        fakes,
    )
    assert out == [0, 0, 1, 0, 1, 1, 0, 0]
    out = lookups(f"out = {s}('Holidays', 'Christmas', 'CTT');", fakes)  # 06:30 on the 25th in Shanghai
    assert out == 1


def test_a_special_day_missing_from_the_profile_is_an_assumption():
    doc = block_strategy(
        "<onentry><script>out = [_genesys.session.isSpecialDay('Holidays', 'Easter'),"
        " _genesys.session.isSpecialDay('Holidays', 'Easter', 'ECT')];</script></onentry><transition target='ok'/>"
    )
    r = run(doc)
    assert value(r, "out") == [0, 0]
    assumed = [rec for rec in r.records if rec["type"] == "assumption"]
    assert [(a["what"], a["asked"], a["used"], a["fakes"]["path"]) for a in assumed] == [
        ("special day", {"table": "Holidays", "day": "Easter"}, 0, ["special_days", "Holidays/Easter"])
    ]


def test_the_profile_validates_zone_names_and_the_start_instant():
    with pytest.raises(FakesError) as caught:
        load_fakes({"time": {"zone": "Atlantis", "zones": {"X": "Nope/Nope"}, "now": "soon"}})
    assert caught.value.problems == [
        "$.time.zones.X: unknown time zone 'Nope/Nope'",
        "$.time.zone: unknown time zone 'Atlantis' (a Java-style id such as 'ECT', or 'Europe/Paris')",
        "$.time.now: 'soon' is not an ISO 8601 date-time (e.g. 2026-01-05T10:00:00Z)",
    ]
    with pytest.raises(FakesError):
        load_fakes({"special_days": {"H/X": ["25/12/2026"]}})


def test_a_start_instant_without_offset_is_local_to_the_zone():
    profile = load_fakes({"time": {"now": "2026-07-01T09:00:00", "zone": "ECT"}})
    assert profile.time_base().start_ms == int(dt.datetime(2026, 7, 1, 7, tzinfo=dt.UTC).timestamp() * 1000)


def test_date_shows_the_profiles_zone_and_start():
    out = lookups(
        "var d = new Date(); out = [d.getHours(), d.getDay(), d.getTimezoneOffset(), String(d)];",
        {"time": {"now": "2026-07-04T23:15:00Z", "zone": "PST"}},
    )
    assert out == [16, 6, 420, "Sat Jul 04 2026 16:15:00 GMT-0700 (PDT)"]


def test_composers_service_hours_and_holiday_logic_is_steered_by_the_profile(shared_dir):
    library = (shared_dir / "ors-samples/composer-stock/include/DateTime.js").read_text()
    script = (
        "out = [isTimeInRange('08:00', '18:00'), isDayOfWeekInRange(1, 5), isDayOfWeek(6),"
        " isTimeInTimeZoneRange('08:00', '18:00', 'EST'), isDayOfWeekInTimeZone(5, 'EST'),"
        " irdIsSpecialDay('Holidays', 'Today'), irdTime(), irdDay(), irdDateInZone('JST')];"
    )
    doc = block_strategy(
        f"<onentry><script><![CDATA[{library}]]></script><script>{script}</script></onentry><transition target='ok'/>"
    )
    # Saturday 09:30 in Paris (the platform's zone) is Saturday 03:30 in New York
    saturday = {
        "time": {"now": "2026-07-04T09:30:00", "zone": "ECT"},
        "special_days": {"Holidays/Today": ["2026-07-04"]},
    }
    r = run(doc, saturday)
    assert value(r, "out") == [True, False, True, False, False, 1, "09:30", 6, "2026-07-04"]
    # Monday 15:00 in Paris is Monday 09:00 in New York; no holiday listed for that date
    monday = {"time": {"now": "2026-07-06T15:00:00", "zone": "ECT"}, "special_days": {"Holidays/Today": ["2026-07-04"]}}
    r = run(doc, monday)
    assert value(r, "out") == [True, True, False, True, False, 0, "15:00", 1, "2026-07-06"]


def test_zones_come_from_the_pinned_tzdata_package_not_the_host():
    """A process that cannot see the host's zoneinfo files still knows every zone."""
    probe = (
        "from simulator.ors import timezones; import datetime as dt;"
        "t = int(dt.datetime(2026, 7, 1, tzinfo=dt.UTC).timestamp() * 1000);"
        "print([timezones.local_fields(timezones.resolve(z), t)['offset'] for z in ('ECT', 'Asia/Kathmandu', 'AET')])"
    )
    env = {**os.environ, "PYTHONTZPATH": "/nonexistent", "TZ": "Asia/Tokyo", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[120, 345, 600]"
