"""History pseudo-states: shallow and deep restore, default transitions and their content."""

from __future__ import annotations

from .conftest import chart

BODY = """
<state id="work" initial="a">
  <history id="h_shallow" type="shallow"><transition target="a"/></history>
  <history id="h_deep" type="deep"><transition target="a">
    <assign location="defaulted" expr="true"/></transition></history>
  <transition event="pause" target="paused"/>
  <state id="a" initial="a1"><state id="a1"><transition event="next" target="a2"/></state><state id="a2"/></state>
  <state id="b" initial="b1"><state id="b1"><transition event="next" target="b2"/></state><state id="b2"/></state>
  <transition event="tob" target="b"/>
</state>
<state id="paused">
  <transition event="shallow" target="h_shallow"/>
  <transition event="deep" target="h_deep"/>
</state>
"""
DATA = '<datamodel><data id="defaulted" expr="false"/></datamodel>'


def _to_b2_and_pause(r):
    for name in ("tob", "next", "pause"):
        r.session.inject(name)
    r.idle()
    assert r.configuration == ["paused"]


def test_deep_history_restores_the_atomic_descendants(run):
    r = run(chart(DATA + BODY))
    _to_b2_and_pause(r)
    r.session.inject("deep")
    r.idle()
    assert r.configuration == ["work", "b", "b2"]
    assert r.value("defaulted") is False


def test_shallow_history_restores_the_child_and_its_default_descendants(run):
    r = run(chart(DATA + BODY))
    _to_b2_and_pause(r)
    r.session.inject("shallow")
    r.idle()
    assert r.configuration == ["work", "b", "b1"]


def test_history_without_a_stored_value_takes_its_default_transition_and_runs_its_content(run):
    r = run(chart(DATA + BODY, initial="paused"))
    r.session.inject("deep")
    r.idle()
    assert r.configuration == ["work", "a", "a1"]
    assert r.value("defaulted") is True


def test_the_snapshot_shows_recorded_history(run):
    r = run(chart(DATA + BODY))
    _to_b2_and_pause(r)
    history = r.session.snapshot()["history"]
    assert history == {"h_deep": ["b2"], "h_shallow": ["b"]}
