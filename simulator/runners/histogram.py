"""Bounded, mergeable distributions of virtual times for batches of up to a million interactions.

A batch must not keep one number per interaction, and its report must not depend on how the
interactions were cut into chunks or which process ran them. ``TimeSketch`` keeps the count,
min, max, an exact integer sum (microseconds: integer addition is associative, a float sum is
not) and a histogram of values rounded to ``DIGITS`` significant digits of a millisecond (exact
below 10 s, within 0.05 % above; a few thousand buckets at most per decade of seconds). Merging
two sketches is adding their counts, so the figures are the same whatever the chunking.

Public API: ``TimeSketch`` (``add``, ``merge``, ``to_json``/``from_json``, ``figures()``,
``histogram(max_buckets)``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

#: significant digits kept of a value in milliseconds
DIGITS = 4
#: chart histograms have bucket widths of 1, 2 or 5 times a power of ten seconds
_NICE = (1, 2, 5)


def bucket_ms(seconds: float) -> int:
    """`seconds` in whole milliseconds, rounded to ``DIGITS`` significant digits."""
    ms = max(0, round(seconds * 1000))
    excess = len(str(ms)) - DIGITS
    if excess <= 0:
        return ms
    unit = 10**excess
    return (ms + unit // 2) // unit * unit


class TimeSketch:
    """Count, min, max, exact sum and a rounded histogram of virtual times (seconds)."""

    def __init__(self) -> None:
        self.n = 0
        self.min: float | None = None
        self.max: float | None = None
        self.sum_us = 0
        self.counts: Counter[int] = Counter()

    def add(self, seconds: float) -> None:
        self.n += 1
        self.min = seconds if self.min is None else min(self.min, seconds)
        self.max = seconds if self.max is None else max(self.max, seconds)
        self.sum_us += round(seconds * 1_000_000)
        self.counts[bucket_ms(seconds)] += 1

    def merge(self, other: TimeSketch) -> TimeSketch:
        self.n += other.n
        for value in (other.min, other.max):
            if value is not None:
                self.min = value if self.min is None else min(self.min, value)
                self.max = value if self.max is None else max(self.max, value)
        self.sum_us += other.sum_us
        self.counts.update(other.counts)
        return self

    def to_json(self) -> dict[str, Any]:
        """Picklable/JSON form (chunk aggregates cross processes and Celery)."""
        return {
            "n": self.n,
            "min": self.min,
            "max": self.max,
            "sum_us": self.sum_us,
            "counts": sorted([key, n] for key, n in self.counts.items()),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TimeSketch:
        sketch = cls()
        sketch.n = int(data["n"])
        sketch.min, sketch.max = data["min"], data["max"]
        sketch.sum_us = int(data["sum_us"])
        sketch.counts = Counter({int(key): int(n) for key, n in data["counts"]})
        return sketch

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile (of the rounded values), in seconds; min and max are exact."""
        rank = max(1, math.ceil(p * self.n))
        seen = 0
        for key in sorted(self.counts):
            seen += self.counts[key]
            if seen >= rank:
                value = key / 1000
                return min(max(value, self.min or 0.0), self.max or 0.0)
        return self.max or 0.0

    def figures(self) -> dict[str, float]:
        """``{"min", "max", "mean", "p50", "p95"}`` in seconds (all 0 for no values)."""
        if not self.n:
            return {"min": 0.0, "max": 0.0, "mean": 0.0, "p50": 0.0, "p95": 0.0}
        return {
            "min": float(self.min or 0.0),
            "max": float(self.max or 0.0),
            "mean": round(self.sum_us / self.n / 1_000_000, 6),
            "p50": self.percentile(0.50),
            "p95": self.percentile(0.95),
        }

    def histogram(self, max_buckets: int = 40) -> dict[str, Any]:
        """``{"bucket_seconds": w, "counts": [n0, n1, ...]}``: bucket i holds values in [i*w, (i+1)*w),
        w the smallest of 1, 2, 5 x 10^k seconds (at least 1 ms) giving at most `max_buckets`."""
        top = (self.max or 0.0) if self.n else 0.0
        width = 0.001
        exponent = -3
        while True:
            for factor in _NICE:
                width = factor * 10.0**exponent
                if math.floor(top / width) + 1 <= max_buckets:
                    break
            else:
                exponent += 1
                continue
            break
        width = float(f"{width:.3g}")  # 0.005 rather than 0.005000000000000001
        counts = [0] * (math.floor(top / width) + 1 if self.n else 0)
        for key, n in self.counts.items():
            index = min(len(counts) - 1, math.floor(key / 1000 / width))
            counts[index] += n
        return {"bucket_seconds": width, "counts": counts}
