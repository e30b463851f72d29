"""Parallel states: regions move together, done.state when every region is final, conflicts."""

from __future__ import annotations

from .conftest import chart


def test_both_regions_are_entered_and_move_on_one_event(run):
    r = run(
        chart("""
      <parallel id="p">
        <state id="r1"><state id="x1"><transition event="go" target="x2"/></state><state id="x2"/></state>
        <state id="r2"><state id="y1"><transition event="go" target="y2"/></state><state id="y2"/></state>
      </parallel>""")
    )
    assert r.configuration == ["p", "r1", "x1", "r2", "y1"]
    r.session.inject("go")
    r.idle()
    assert r.configuration == ["p", "r1", "x2", "r2", "y2"]
    [macro] = [m for m in r.of("macrostep") if m["event"]]
    assert [t["source"] for t in macro["transitions"]] == ["x1", "y1"]


def test_done_state_of_the_parallel_fires_when_every_region_is_final(run):
    r = run(
        chart("""
      <parallel id="p">
        <state id="r1"><state id="x1"><transition event="a" target="xf"/></state><final id="xf"/></state>
        <state id="r2"><state id="y1"><transition event="b" target="yf"/></state><final id="yf"/></state>
        <transition event="done.state.p" target="over"/>
      </parallel>
      <final id="over"/>""")
    )
    r.session.inject("a")
    r.idle()
    assert r.session.running
    r.session.inject("b")
    r.idle()
    assert r.session.final_state == "over"
    raised = [name for m in r.of("macrostep") for name in m["internal_events"]]
    assert "done.state.r1" in raised and "done.state.r2" in raised and "done.state.p" in raised


def test_a_transition_leaving_the_parallel_preempts_a_later_region_transition(run):
    r = run(
        chart("""
      <parallel id="p">
        <state id="r1"><state id="x1"><transition event="go" target="out"/></state></state>
        <state id="r2"><state id="y1"><transition event="go" target="y2"/></state><state id="y2"/></state>
      </parallel>
      <state id="out"/>""")
    )
    r.session.inject("go")
    r.idle()
    assert r.configuration == ["out"]


def test_in_predicate_sees_sibling_regions(run):
    r = run(
        chart("""
      <parallel id="p">
        <state id="r1"><state id="x1"><transition event="check" cond="In('y1')" target="x2"/></state>
          <state id="x2"/></state>
        <state id="r2"><state id="y1"/></state>
      </parallel>""")
    )
    r.session.inject("check")
    r.idle()
    assert "x2" in r.configuration
    assert r.session.is_active("y1") and not r.session.is_active("x1")


def test_in_is_false_for_anything_but_the_id_of_an_active_state(run):
    r = run(
        chart(
            '<datamodel><data id="seen" expr="[]"/></datamodel>'
            '<parallel id="p"><state id="r1"><state id="x1"/></state><state id="r2"><state id="y1">'
            "<onentry><script>seen = [In('x1'), In('y1'), In('p'), In('nope'), In(1), In(null), In(), "
            "In(['x1'])];</script></onentry></state></state></parallel>"
        )
    )
    assert r.value("seen") == [True, True, True, False, False, False, False, False]
