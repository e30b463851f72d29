"""Time zones as a Genesys configuration names them, computed from the pinned tz database.

Configuration Server ships a Time Zones folder whose entries carry the Java-style three-letter ids
(``ECT``, ``EST``, ``PST``, ``CTT``, ``JST``, ``IST``...); strategies pass those names to
``_genesys.session.timeInZone`` and friends. Each id maps to the tz database zone it stands for,
daylight saving included, and any tz database name (``Europe/Paris``) is accepted as well. The
rules come from the ``tzdata`` package (pinned in requirements.txt), never from the host's
``/usr/share/zoneinfo``, so a simulation gives the same answer on every machine.

Public API
----------
``resolve(name, overrides=None) -> tzinfo | None``
    The zone a name stands for: a profile override (``time.zones``: hours east of UTC, or another
    zone name), a Java-style id, a fixed abbreviation (``CEST``, ``PDT``...), ``GMT+2``/``UTC-05:30``,
    or a tz database name; ``None`` when unknown.
``local_fields(tz, epoch_ms) -> dict``
    ``{"date": "YYYY-MM-DD", "time": "HH:MM:SS", "day": 0..6 (0 = Sunday), "offset": minutes}``.
``zone_rules(name, overrides, around_ms) -> ZoneRules``
    The zone as the offset table the datamodel's ``Date`` reads (``ValueError`` when unknown).
``JAVA_IDS`` / ``FIXED_ABBREVIATIONS``
    The built-in names (docs/fakes.md lists them).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

import tzdata

from simulator.scxml.clock import ZoneRules

#: The three-letter ids of java.util.TimeZone that a Genesys configuration's Time Zones folder
#: carries, as the tz database zone each stands for. EST, MST and HST are fixed offsets in Java;
#: the Genesys entries of those names observe the US rules, so they map to the city zones.
JAVA_IDS: dict[str, str] = {
    "ACT": "Australia/Darwin",
    "AET": "Australia/Sydney",
    "AGT": "America/Argentina/Buenos_Aires",
    "ART": "Africa/Cairo",
    "AST": "America/Anchorage",
    "BET": "America/Sao_Paulo",
    "BST": "Asia/Dhaka",
    "CAT": "Africa/Harare",
    "CNT": "America/St_Johns",
    "CST": "America/Chicago",
    "CTT": "Asia/Shanghai",
    "EAT": "Africa/Addis_Ababa",
    "ECT": "Europe/Paris",
    "EET": "Europe/Athens",
    "EST": "America/New_York",
    "GMT": "Etc/GMT",
    "HST": "Pacific/Honolulu",
    "IET": "America/Indiana/Indianapolis",
    "IST": "Asia/Kolkata",
    "JST": "Asia/Tokyo",
    "MET": "Europe/Brussels",
    "MIT": "Pacific/Apia",
    "MST": "America/Denver",
    "NET": "Asia/Yerevan",
    "NST": "Pacific/Auckland",
    "PLT": "Asia/Karachi",
    "PNT": "America/Phoenix",
    "PRT": "America/Puerto_Rico",
    "PST": "America/Los_Angeles",
    "SST": "Pacific/Guadalcanal",
    "UTC": "Etc/UTC",
    "VST": "Asia/Ho_Chi_Minh",
    "WET": "Europe/Lisbon",
    "CET": "Europe/Brussels",
}
#: Abbreviations that name one side of a daylight-saving pair: a fixed offset (minutes east of UTC)
FIXED_ABBREVIATIONS: dict[str, int] = {
    "Z": 0,
    "EDT": -240,
    "CDT": -300,
    "MDT": -360,
    "PDT": -420,
    "AKDT": -480,
    "CEST": 120,
    "EEST": 180,
    "WEST": 60,
    "ICT": 420,
    "AEST": 600,
    "AEDT": 660,
}
_OFFSET_NAME = re.compile(r"(?:GMT|UTC)\s*([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
_TZDB_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*")


@lru_cache(maxsize=512)
def _tzdb(key: str) -> _dt.tzinfo | None:
    """A zone of the pinned tzdata package (never the host's zoneinfo files), or None."""
    if not _TZDB_KEY.fullmatch(key) or len(key) > 64:
        return None
    path = resources.files(tzdata).joinpath("zoneinfo", *key.split("/"))
    if not path.is_file():
        return None
    with path.open("rb") as f:
        return ZoneInfo.from_file(f, key=key)


def _fixed(minutes: float, name: str) -> _dt.tzinfo:
    return _dt.timezone(_dt.timedelta(minutes=round(minutes)), name)


def resolve(name: str, overrides: Mapping[str, float | str] | None = None) -> _dt.tzinfo | None:
    """The zone `name` stands for (see the module docstring), or None when it is unknown."""
    name = str(name).strip()
    overrides = overrides or {}
    for candidate in (name, name.upper()):
        if candidate in overrides:
            value = overrides[candidate]
            if isinstance(value, str):  # another name, resolved without this entry (no loops)
                return resolve(value, {k: v for k, v in overrides.items() if k != candidate})
            return _fixed(float(value) * 60, name)
    upper = name.upper()
    if upper in JAVA_IDS:
        return _tzdb(JAVA_IDS[upper])
    if upper in FIXED_ABBREVIATIONS:
        return _fixed(FIXED_ABBREVIATIONS[upper], upper)
    match = _OFFSET_NAME.fullmatch(name)
    if match:
        sign, hours, minutes = match.groups()
        total = int(hours) * 60 + int(minutes or 0)
        return _fixed(-total if sign == "-" else total, name) if total <= 14 * 60 else None
    return _tzdb(name)


def local_fields(tz: _dt.tzinfo, epoch_ms: int) -> dict[str, str | int]:
    """Date, time, weekday (0 = Sunday) and UTC offset (minutes) of `epoch_ms` in `tz`."""
    local = _dt.datetime.fromtimestamp(epoch_ms / 1000, tz)
    offset = local.utcoffset() or _dt.timedelta(0)
    return {
        "date": local.strftime("%Y-%m-%d"),
        "time": local.strftime("%H:%M:%S"),
        "day": (local.weekday() + 1) % 7,
        "offset": int(offset.total_seconds() // 60),
    }


def zone_rules(name: str, overrides: Mapping[str, float | str] | None, around_ms: int) -> ZoneRules:
    """`name` as the datamodel's offset table around `around_ms` (ValueError when unknown)."""
    tz = resolve(name, overrides)
    if tz is None:
        raise ValueError(f"unknown time zone: {name}")
    if isinstance(tz, _dt.timezone):
        offset = tz.utcoffset(None)
        return ZoneRules.fixed(name, int(offset.total_seconds() // 60), tz.tzname(None))
    return _rules(name, tz, _dt.datetime.fromtimestamp(around_ms / 1000, _dt.UTC).year)


@lru_cache(maxsize=64)
def _rules(name: str, tz: _dt.tzinfo, year: int) -> ZoneRules:
    around = int(_dt.datetime(year, 7, 1, tzinfo=_dt.UTC).timestamp() * 1000)
    return ZoneRules.from_tzinfo(name, tz, around)
