"""The virtual clock: ordered timers, advance, next-timer stepping, limits, wall-clock mode."""

from __future__ import annotations

import pytest

from simulator.scxml.clock import Clock, parse_duration

from .conftest import chart


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("500ms", 0.5), ("2.5s", 2.5), ("1m", 60.0), ("1h", 3600.0), ("3", 3.0), (".5s", 0.5)],
)
def test_parse_duration_understands_css_times(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "-1s", "1 parsec", None])
def test_parse_duration_rejects_garbage(text):
    assert parse_duration(text) is None


def test_timers_fire_in_due_order_then_scheduling_order():
    clock = Clock()
    fired = []
    clock.schedule(2, lambda: fired.append("b"))
    clock.schedule(1, lambda: fired.append("a"))
    clock.schedule(2, lambda: fired.append("c"))
    cancelled = clock.schedule(1.5, lambda: fired.append("x"))
    clock.cancel(cancelled)
    assert clock.next_due() == 1
    assert clock.advance(5) == 3
    assert fired == ["a", "b", "c"]
    assert clock.now == 5


def test_next_timer_stepping_jumps_straight_to_the_due_time():
    clock = Clock()
    moves = []
    clock.listeners.append(lambda old, new: moves.append((old, new)))
    clock.schedule(10, lambda: None)
    assert clock.advance_to_next() is True
    assert clock.now == 10 and moves == [(0.0, 10.0)]
    assert clock.advance_to_next() is False


def test_wall_clock_mode_fires_only_what_is_due_and_refuses_advance():
    clock = Clock(wall=True)
    fired = []
    clock.schedule(0, lambda: fired.append(1))
    clock.schedule(3600, lambda: fired.append(2))
    assert clock.fire_due() == 1 and fired == [1]
    with pytest.raises(RuntimeError):
        clock.advance(1)


def test_run_until_idle_stops_at_max_time_with_limit(run):
    r = run(
        chart(
            '<state id="s"><onentry><send event="tick" delay="10s"/></onentry>'
            '<transition event="tick" target="s"/></state>'
        )
    )
    assert r.idle(max_time=35) == "limit"
    assert r.group.clock.now == 35
    assert r.session.events_processed == 3


def test_step_timer_processes_one_timer_and_its_consequences(run):
    r = run(
        chart(
            '<state id="a"><onentry><send event="t" delay="1s"/><send event="u" delay="2s"/></onentry>'
            '<transition event="t" target="b"/></state><state id="b"><transition event="u" target="c"/></state>'
            '<state id="c"/>'
        )
    )
    assert r.group.step_timer() and r.configuration == ["b"] and r.group.clock.now == 1
    assert r.group.step_timer() and r.configuration == ["c"] and r.group.clock.now == 2
    assert not r.group.step_timer()
    clock_records = r.of("clock")
    assert [(c["from"], c["to"]) for c in clock_records] == [(0.0, 1.0), (1.0, 2.0)]


def test_wall_clock_groups_poll_due_timers_and_report_the_next_wakeup():
    from simulator.scxml.interpreter import SessionGroup
    from simulator.scxml.model import model_from_string

    group = SessionGroup(wall_clock=True)
    session = group.create_session(
        model_from_string(
            chart(
                '<state id="a"><onentry><send event="now" delay="0s"/><send event="later" delay="1h"/></onentry>'
                '<transition event="now" target="b"/></state><state id="b"/>'
            )
        )
    )
    session.start()
    wait = group.poll()
    assert session.configuration_ids == ["b"]
    assert 3500 < wait <= 3600


def test_a_fired_or_cancelled_timer_lets_go_of_its_callback_and_leaves_its_holder():
    clock = Clock()
    holder: dict = {}
    fired = clock.schedule(1, lambda: None, holder=holder)
    cancelled = clock.schedule(2, lambda: None, holder=holder)
    waiting = clock.schedule(3, lambda: None, holder=holder)
    assert list(holder) == [fired, cancelled, waiting] and not any(t.done for t in holder)

    clock.cancel(cancelled)
    clock.advance(1)

    assert list(holder) == [waiting]
    assert fired.done and fired.callback is None and fired.holder is None
    assert cancelled.done and cancelled.cancelled and cancelled.callback is None
    assert not waiting.done and clock.next_due() == 3
