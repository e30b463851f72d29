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
``parse_duration(text) -> float | None``
    CSS2-style delay strings used by ``<send delay>``: ``"1s"``, ``"500ms"``, ``"2.5s"``,
    ``"1m"``, ``"1h"``, ``"1d"``, a bare number = seconds; ``None`` if invalid.

The session group's ``run_until_idle()`` (interpreter.SessionGroup) alternates "process every
queued event" with ``advance_to_next()``; in wall-clock mode the caller polls ``fire_due()``.
"""

from __future__ import annotations

import heapq
import itertools
import re
import time
from collections.abc import Callable
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


class Timer:
    """A scheduled callback; `cancelled` timers stay in the heap and are skipped when popped."""

    __slots__ = ("callback", "cancelled", "due", "key", "seq")

    def __init__(self, due: float, seq: int, callback: Callable[[], None], key: Any):
        self.due = due
        self.seq = seq
        self.callback = callback
        self.key = key
        self.cancelled = False

    def __lt__(self, other: Timer) -> bool:
        return (self.due, self.seq) < (other.due, other.seq)


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

    def schedule(self, delay: float, callback: Callable[[], None], key: Any = None) -> Timer:
        """Run `callback` once `delay` seconds from now."""
        timer = Timer(self.now + max(delay, 0.0), next(self._seq), callback, key)
        heapq.heappush(self._heap, timer)
        return timer

    def cancel(self, timer: Timer) -> None:
        timer.cancelled = True

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
            timer.callback()
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
