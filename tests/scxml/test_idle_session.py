"""What an idle session keeps (bench/engine.py memory): event queues made on first use."""

from __future__ import annotations

from simulator.scxml.interpreter import SessionGroup
from simulator.scxml.model import model_from_string

from .conftest import chart

DOC = chart(
    '<state id="a"><transition event="go" target="b"><raise event="r"/></transition></state>'
    '<state id="b"><transition event="r" target="c"/></state>'
    '<state id="c"><transition event="back" target="a"/></state>'
)


def _started():
    session = SessionGroup(seed=1).create_session(model_from_string(DOC))
    session.start()
    return session


def test_an_idle_session_makes_its_event_queues_on_first_use():
    s = _started()
    assert s._internal is None and s._external is None  # an empty deque is 760 bytes
    assert not s.ready and not s.step_macrostep()
    s.inject("go")
    s.inject("back")
    assert s.ready and [e.name for e in s.external_queue] == ["go", "back"]
    assert s._internal is None
    assert s.step_macrostep() and s.configuration_ids == ["c"]  # `r` went through the internal queue
    assert s._internal is not None and not s.internal_queue
    assert [e.name for e in s.external_queue] == ["back"]
    assert s.step_macrostep() and s.configuration_ids == ["a"]
    assert not s.ready and not s.step_macrostep()


def test_a_snapshot_of_an_idle_session_shows_empty_queues():
    s = _started()
    snap = s.snapshot()
    assert snap["internal_queue"] == [] and snap["external_queue"] == []
    s.inject("go")
    assert [e["name"] for e in s.snapshot()["external_queue"]] == ["go"]


def test_a_cancelled_session_drops_its_queued_events():
    s = _started()
    s.inject("go")
    s.inject("back")
    s.cancel()
    assert not s.external_queue and not s.internal_queue and not s.ready
    assert not s.step_macrostep()


def test_session_ids_follow_the_seed_and_a_one_session_group_keeps_no_generator():
    import random

    def expected(seed: int, count: int) -> list[str]:
        rng = random.Random(seed)
        return [f"{rng.getrandbits(128):032x}" for _ in range(count)]

    model = model_from_string(DOC)
    group = SessionGroup(seed=7)
    first = group.create_session(model)
    assert first.sessionid == expected(7, 1)[0]
    assert group._rng is None  # the generator's state is ~2.9 KB per waiting session
    ids = [first.sessionid] + [group.create_session(model).sessionid for _ in range(3)]
    assert ids == expected(7, 4)  # the same ids as one generator drawing them in turn
