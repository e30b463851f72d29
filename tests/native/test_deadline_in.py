"""`Context.deadline_in(seconds)`: the deadline set from the monotonic clock in C, as
`ctx.deadline = time.monotonic() + seconds` did (the datamodel sets one per outermost JS call)."""

from __future__ import annotations

import time

import orchweb_quickjs
import pytest


def test_the_deadline_is_seconds_from_now_on_the_monotonic_clock():
    ctx = orchweb_quickjs.Context()
    before = time.monotonic()
    ctx.deadline_in(2.5)
    after = time.monotonic()
    assert before + 2.5 <= ctx.deadline <= after + 2.5
    ctx.deadline_in(0)
    assert ctx.deadline <= time.monotonic()
    with pytest.raises(TypeError):
        ctx.deadline_in("1")
    assert ctx.deadline <= time.monotonic()  # a refused argument changes nothing
    ctx.close()


def test_running_js_is_interrupted_at_the_deadline_and_not_before():
    ctx = orchweb_quickjs.Context()
    ctx.deadline_in(0.05)
    start = time.monotonic()
    with pytest.raises(orchweb_quickjs.Interrupted) as info:
        ctx.eval("for (;;) {}")
    assert time.monotonic() - start >= 0.05
    assert str(info.value).startswith("InternalError: interrupted\n")
    ctx.deadline_in(60)
    assert ctx.eval("var n = 0; for (var i = 0; i < 200000; i++) n += i; n") == 19999900000
    ctx.deadline = 0  # none
    assert ctx.eval("1 + 1") == 2
    ctx.close()
