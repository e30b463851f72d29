"""TimeSketch: bounded, mergeable virtual-time figures and the chart histogram of batches."""

from __future__ import annotations

import random

from simulator.runners.histogram import TimeSketch, bucket_ms


def sketch_of(values: list[float]) -> TimeSketch:
    sketch = TimeSketch()
    for value in values:
        sketch.add(value)
    return sketch


def test_values_keep_four_significant_digits_of_a_millisecond():
    assert [bucket_ms(v) for v in (0.0, 0.0004, 3.25, 9.999, 72.25, 123.456, 3599.9996)] == [
        0,
        0,
        3250,
        9999,
        72250,
        123500,
        3600000,
    ]


def test_figures_are_exact_for_few_distinct_values():
    values = [3.25] * 19 + [72.25]

    assert sketch_of(values).figures() == {"min": 3.25, "max": 72.25, "mean": 6.7, "p50": 3.25, "p95": 3.25}
    assert sketch_of([*values, 72.25]).figures()["p95"] == 72.25


def test_merging_in_any_order_gives_the_same_figures_and_json():
    rng = random.Random(5)
    values = [rng.uniform(0, 500) for _ in range(3000)]
    whole = sketch_of(values)
    parts = [sketch_of(values[i : i + 250]) for i in range(0, 3000, 250)]
    forward, backward = TimeSketch(), TimeSketch()
    for part in parts:
        forward.merge(TimeSketch.from_json(part.to_json()))
    for part in reversed(parts):
        backward.merge(part)

    assert forward.to_json() == backward.to_json() == whole.to_json()
    assert forward.figures() == whole.figures()


def test_memory_is_bounded_by_the_distinct_rounded_values_not_the_count():
    sketch = TimeSketch()
    for i in range(200_000):
        sketch.add((i % 1000) / 10)

    assert sketch.n == 200_000 and len(sketch.counts) == 1000


def test_the_histogram_has_nice_buckets_covering_every_value():
    sketch = sketch_of([0.5, 3.25, 3.25, 12.0, 47.9])

    histogram = sketch.histogram(max_buckets=40)

    assert histogram["bucket_seconds"] == 2.0
    assert len(histogram["counts"]) == 24 and sum(histogram["counts"]) == 5
    assert histogram["counts"][0] == 1 and histogram["counts"][1] == 2 and histogram["counts"][6] == 1
    assert histogram["counts"][23] == 1


def test_an_empty_sketch_has_zero_figures_and_no_buckets():
    assert TimeSketch().figures() == {"min": 0.0, "max": 0.0, "mean": 0.0, "p50": 0.0, "p95": 0.0}
    assert TimeSketch().histogram()["counts"] == []
