"""Virtual clock and timer scheduler shared by the sessions of one group. Never sleeps.

Public API
----------
``Clock(wall=False)``
    ``now`` (seconds since the group started; virtual unless ``wall``), ``schedule(delay,
    callback, key=None) -> Timer``, ``cancel(timer)``, ``next_due() -> float | None``,
    ``advance(seconds) -> int`` (move virtual time forward, firing every timer that falls due, in
    (due time, scheduling order) order; returns how many fired), ``advance_to_next() -> bool``
    ("next timer" stepping), ``fire_due() -> int`` (wall-clock mode: fire what is due now).
    Listeners (``clock.listeners``) get ``(old_time, new_time)`` on every move.
``TimeBase(start_ms, zone)`` / ``ZoneRules``
    What the wall clock of a simulation reads: the epoch instant (ms) at virtual time 0 and the
    platform's local time zone as a table of UTC offsets (``ZoneRules.fixed(...)``,
    ``ZoneRules.from_tzinfo(...)``); the datamodel's ``Date`` (QuickJS's own, given the table:
    native/quickjs/patches/80-virtual-clock.patch) and a dialect's time functions read these,
    never the host clock or the host time zone.
``parse_duration(text) -> float | None``
    CSS2-style delay strings used by ``<send delay>``: ``"1s"``, ``"500ms"``, ``"2.5s"``,
    ``"1m"``, ``"1h"``, ``"1d"``, a bare number = seconds; ``None`` if invalid.

The session group's ``run_until_idle()`` (interpreter.SessionGroup) alternates "process every
queued event" with ``advance_to_next()``; in wall-clock mode the caller polls ``fire_due()``.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import heapq
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {None: 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: Any) -> float | None:
    """Seconds in a delay string, or None if it is not a valid duration."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text) if text >= 0 else None
    if not isinstance(text, str):
        return None
    match = _DURATION.match(text)
    if not match:
        return None
    return float(match.group(1)) * _UNITS[match.group(2)]


#: virtual time 0 when nothing else is configured: Monday 5 January 2026, 10:00 UTC (office hours)
DEFAULT_START_MS = 1_767_607_200_000
#: years on each side of the start instant covered by a zone's transition table (beyond: the
#: offset in force at the edge of the window)
ZONE_WINDOW_YEARS = 30
_DAY_S = 86_400


@dataclass(frozen=True)
class ZoneRules:
    """A time zone as data: ``offsets[i]`` (minutes east of UTC) applies before ``transitions[i]``
    (epoch ms), the last offset after every transition. ``abbreviations`` parallels ``offsets``.
    """

    name: str = "UTC"
    transitions: tuple[int, ...] = ()
    offsets: tuple[int, ...] = (0,)
    abbreviations: tuple[str, ...] = ("UTC",)

    @classmethod
    def fixed(cls, name: str, minutes: int, abbreviation: str | None = None) -> ZoneRules:
        """A zone without daylight saving, `minutes` east of UTC."""
        return cls(name, (), (int(minutes),), (abbreviation or name,))

    @classmethod
    def from_tzinfo(cls, name: str, tz: _dt.tzinfo, around_ms: int, years: int = ZONE_WINDOW_YEARS) -> ZoneRules:
        """The offsets of `tz` within `years` of `around_ms`, sampled daily and refined by bisection
        to the second (offsets never change twice in one day in the tz database's modern rules)."""
        centre = around_ms // 1000
        start, end = centre - years * 366 * _DAY_S, centre + years * 366 * _DAY_S

        def info(t: int) -> tuple[int, str]:
            local = _dt.datetime.fromtimestamp(t, tz)
            offset = local.utcoffset() or _dt.timedelta(0)
            return int(offset.total_seconds() // 60), local.tzname() or name

        transitions: list[int] = []
        first = info(start)
        offsets, abbreviations = [first[0]], [first[1]]
        previous, t = first, start
        while t < end:
            nxt = min(t + _DAY_S, end)
            current = info(nxt)
            if current != previous:
                lo, hi = t, nxt  # info(lo) == previous != info(hi)
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if info(mid) == previous:
                        lo = mid
                    else:
                        hi = mid
                transitions.append(hi * 1000)
                offsets.append(current[0])
                abbreviations.append(current[1])
                previous = current
            t = nxt
        return cls(name, tuple(transitions), tuple(offsets), tuple(abbreviations))

    def offset_at(self, epoch_ms: float) -> int:
        """Minutes east of UTC in force at `epoch_ms`."""
        return self.offsets[bisect.bisect_right(self.transitions, epoch_ms)]

    def __deepcopy__(self, memo: dict[int, Any]) -> ZoneRules:
        # Immutable, so a copy may be the object itself; and compiled by mypyc, `copy` could not
        # rebuild it (it sets a frozen instance's fields through `__setattr__`).
        return self


UTC_RULES = ZoneRules()


@dataclass(frozen=True)
class TimeBase:
    """The wall clock a simulation shows: epoch ms at virtual time 0 and the local time zone."""

    start_ms: int = DEFAULT_START_MS
    zone: ZoneRules = UTC_RULES

    def epoch_ms(self, virtual_seconds: float) -> int:
        """The epoch instant (whole ms) shown at `virtual_seconds` of the simulation."""
        return self.start_ms + round(virtual_seconds * 1000)

    def __deepcopy__(self, memo: dict[int, Any]) -> TimeBase:
        return self  # immutable (see ZoneRules.__deepcopy__)


class Timer:
    """A scheduled callback; `cancelled` timers stay in the heap and are skipped when popped.

    Once fired or cancelled a timer is `done`: it lets go of its callback (and so of whatever the
    callback's closure holds: an answer's data, the session) and leaves its `holder`, the
    registry its owner cancels from (a session's timers), so that a long run does not keep every
    timer it ever had."""

    __slots__ = ("callback", "cancelled", "due", "holder", "key", "seq")

    def __init__(self, due: float, seq: int, callback: Callable[[], None], key: Any, holder: dict[Timer, None] | None):
        self.due = due
        self.seq = seq
        self.callback: Callable[[], None] | None = callback
        self.key = key
        self.cancelled = False
        self.holder = holder

    def __lt__(self, other: Timer) -> bool:
        return (self.due, self.seq) < (other.due, other.seq)

    # Hashed by identity, as `object` does (a session's timers are a dict of them): compiled by
    # mypyc, a class that defines a comparison is unhashable unless it says so.
    def __hash__(self) -> int:
        return id(self)

    @property
    def done(self) -> bool:
        """Fired or cancelled."""
        return self.callback is None

    def _finish(self) -> Callable[[], None] | None:
        """Mark done; the callback it had (None if it was done already)."""
        callback, self.callback = self.callback, None
        if self.holder is not None:
            self.holder.pop(self, None)
            self.holder = None
        return callback


class Clock:
    """Virtual (default) or wall clock with a timer heap."""

    def __init__(self, wall: bool = False):
        self.wall = wall
        self._origin = time.monotonic()
        self._now = 0.0
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self.listeners: list[Callable[[float, float], None]] = []

    @property
    def now(self) -> float:
        """Current time in seconds since the clock was created."""
        if self.wall:
            return time.monotonic() - self._origin
        return self._now

    def schedule(
        self, delay: float, callback: Callable[[], None], key: Any = None, holder: dict[Timer, None] | None = None
    ) -> Timer:
        """Run `callback` once `delay` seconds from now; the timer is in `holder` (an insertion-
        ordered set) until it is done."""
        timer = Timer(self.now + max(delay, 0.0), next(self._seq), callback, key, holder)
        heapq.heappush(self._heap, timer)
        if holder is not None:
            holder[timer] = None
        return timer

    def cancel(self, timer: Timer) -> None:
        timer.cancelled = True
        timer._finish()

    def pending(self) -> list[Timer]:
        """Live timers in firing order (for snapshots)."""
        return sorted(t for t in self._heap if not t.cancelled)

    def next_due(self) -> float | None:
        """Due time of the next live timer, or None."""
        heap = self._heap
        while heap and heap[0].cancelled:
            heapq.heappop(heap)
        return heap[0].due if heap else None

    def _move(self, to: float) -> None:
        if to > self._now:
            old, self._now = self._now, to
            for listener in list(self.listeners):
                listener(old, to)

    def _fire_until(self, limit: float, stop_after_one: bool = False) -> int:
        fired = 0
        while True:
            due = self.next_due()
            if due is None or due > limit:
                return fired
            timer = heapq.heappop(self._heap)
            if not self.wall:
                self._move(timer.due)
            callback = timer._finish()
            if callback is not None:
                callback()
            fired += 1
            if stop_after_one:
                return fired

    def advance(self, seconds: float) -> int:
        """Move virtual time forward by `seconds`, firing due timers in order."""
        if self.wall:
            raise RuntimeError("advance() is for virtual clocks; use fire_due() in wall-clock mode")
        target = self._now + max(seconds, 0.0)
        fired = self._fire_until(target)
        self._move(target)
        return fired

    def advance_to_next(self) -> bool:
        """Jump to the next live timer and fire it (and others due at the same instant)."""
        due = self.next_due()
        if due is None:
            return False
        if self.wall:
            return self.fire_due() > 0
        self._fire_until(due)
        return True

    def fire_due(self) -> int:
        """Fire every timer whose due time has passed (wall-clock mode, or virtual `now`)."""
        return self._fire_until(self.now)
