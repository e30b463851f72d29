"""Sessions sharing one JS runtime (RuntimePool): isolation, per-session deadlines, the shared
memory budget, freeing closed contexts, and one thread at a time in a runtime.

Sessions of one user's work (a SessionGroup, a batch chunk) share runtimes; sessions of
different groups never do. Each attack must fail only the attacking session.
"""

from __future__ import annotations

import threading
import time

import orchweb_quickjs
import pytest

from simulator.scxml.datamodel import ECMAScriptDataModel, JSError, RuntimePool
from simulator.scxml.interpreter import SessionGroup
from simulator.scxml.model import get_model

MIB = 1024 * 1024


def _runtime(model: ECMAScriptDataModel) -> orchweb_quickjs.Runtime:
    assert model._ctx is not None
    return model._ctx.runtime


@pytest.fixture
def pair():
    pool = RuntimePool()
    a = ECMAScriptDataModel(time_limit=0.2, runtimes=pool)
    b = ECMAScriptDataModel(time_limit=1.0, runtimes=pool)
    assert _runtime(a) is _runtime(b)
    yield a, b
    a.close()
    b.close()


def test_sessions_in_one_runtime_see_neither_globals_nor_prototype_tampering(pair):
    a, b = pair
    a.execute(
        "var secret = 42; globalThis.leak = 1; Object.prototype.polluted = 'yes';"
        "Array.prototype.push = function () { return 'hijacked'; };"
        "JSON.stringify = function () { return 'hijacked'; }; Math.max = null;"
    )
    assert a.evaluate("({}).polluted") == "yes"
    assert b.evaluate("typeof secret") == "undefined"
    assert b.evaluate("typeof leak") == "undefined"
    assert b.evaluate("({}).polluted") is not None  # UNDEFINED: b's Object.prototype is its own
    assert b.evaluate("'polluted' in {}") is False
    b.execute("var x = []; x.push(1);")
    assert b.evaluate("x.length") == 1
    assert b.evaluate("JSON.stringify({a: 1})") == '{"a":1}'
    assert b.evaluate("Math.max(1, 2)") == 2
    b.declare_value("mine", {"v": 1})
    assert b.snapshot(["mine"]) == {"mine": {"v": 1}}


def test_a_runaway_loop_is_interrupted_at_its_own_deadline_and_the_sibling_keeps_working(pair):
    a, b = pair
    started = time.monotonic()
    with pytest.raises(JSError) as info:
        a.execute("while (true) {}")
    assert "exceeded the time limit" in info.value.message
    assert 0.2 <= time.monotonic() - started < 2.0
    assert b.evaluate("1 + 1") == 2
    assert a.evaluate("'still usable'") == "still usable"


def test_a_sibling_evaluated_from_a_callback_keeps_its_own_deadline(pair):
    a, b = pair
    calls = []

    def poke(_: object) -> int:
        calls.append(b.evaluate("1 + 1"))  # b runs (in the same runtime) while a waits in here
        return 1

    a.define_function("poke", poke)
    started = time.monotonic()
    with pytest.raises(JSError) as info:
        a.execute("while (true) { poke(0); }")
    assert "exceeded the time limit" in info.value.message  # a's 0.2 s, not b's 1 s
    assert time.monotonic() - started < 1.0
    assert calls and set(calls) == {2}
    with pytest.raises(JSError) as info:
        b.execute("var t = Date.now(); while (true) {}")
    assert "exceeded the time limit of 1 s" in info.value.message


def test_memory_exhaustion_fails_the_session_and_its_budget_returns_when_it_closes():
    pool = RuntimePool()
    quiet = ECMAScriptDataModel(memory_limit=16 * MIB, runtimes=pool)
    bomb = ECMAScriptDataModel(memory_limit=16 * MIB, time_limit=5.0, runtimes=pool)
    runtime = _runtime(bomb)
    assert runtime is _runtime(quiet)
    assert runtime.memory()["malloc_limit"] == 32 * MIB  # the sum of its sessions' limits
    with pytest.raises(JSError) as info:
        bomb.execute("var a = []; while (1) a.push(new Array(1e6));")
    assert info.value.name == "InternalError"
    assert "exceeded the memory limit of 16 MiB" in info.value.message
    assert bomb.out_of_memory
    bomb.close()
    usage = runtime.memory()
    assert usage["malloc_limit"] == 16 * MIB
    assert usage["malloc_size"] < 2 * MIB  # the bomb's arrays were freed
    quiet.execute("var big = new Array(1e5).fill(1);")
    assert quiet.evaluate("big.length") == 100_000
    quiet.close()


def test_a_closed_sessions_context_is_freed():
    pool = RuntimePool()
    stay = ECMAScriptDataModel(runtimes=pool)
    runtime = _runtime(stay)
    stay.evaluate("1")
    base = runtime.memory()
    for _ in range(5):
        visitor = ECMAScriptDataModel(runtimes=pool)
        visitor.define_function("cb", lambda x: x)
        visitor.execute("var kept = []; for (var i = 0; i < 2000; i++) kept.push({i: i, s: 'x' + i});")
        visitor.evaluate("cb(kept.length)")
        assert runtime.memory()["obj_count"] > base["obj_count"] + 2000
        visitor.close()
    after = runtime.memory()
    assert after["obj_count"] <= base["obj_count"]
    assert after["malloc_size"] < base["malloc_size"] + 64 * 1024
    stay.close()


def test_a_pool_caps_sessions_per_runtime_and_reuses_an_emptied_runtime():
    pool = RuntimePool(max_sessions=3)
    models = [ECMAScriptDataModel(memory_limit=4 * MIB, runtimes=pool) for _ in range(7)]
    runtimes = {id(_runtime(m)) for m in models}
    assert len(runtimes) == len(pool) == 3
    first = _runtime(models[0])
    assert first.memory()["malloc_limit"] == 12 * MIB
    for model in models[:3]:
        model.close()
    again = ECMAScriptDataModel(runtimes=pool)
    assert _runtime(again) is first and len(pool) == 3  # the emptied runtime, not a new one
    again.close()
    for model in models[3:]:
        model.close()


def test_sessions_of_one_group_share_a_runtime_and_different_groups_never_do():
    source = (
        '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript">'
        '<datamodel><data id="x" expr="1"/></datamodel><state id="s"/></scxml>'
    )
    model = get_model({"doc.scxml": source.encode()}, "doc.scxml")
    one, other = SessionGroup(), SessionGroup()
    sessions = [one.create_session(model), one.create_session(model), other.create_session(model)]
    for session in sessions:
        session.start()
    try:
        first, second, third = (_runtime(s.datamodel) for s in sessions)
        assert first is second
        assert third is not first
    finally:
        for session in sessions:
            session.close()


def test_a_runtime_is_used_by_one_thread_at_a_time(pair):
    a, b = pair
    seen: list[str] = []

    def other_thread() -> None:
        try:
            assert b._ctx is not None
            b._ctx.eval("1")  # bypasses the shared lock: the binding must refuse
            seen.append("ran")
        except RuntimeError as exc:
            seen.append(str(exc))

    def enter(_: object) -> int:
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        return 1

    a.define_function("enter", enter)
    assert a.evaluate("enter(0)") == 1
    assert seen == ["this JS runtime is in use by another thread"]


def test_threads_driving_sessions_of_one_runtime_are_serialised(pair):
    a, b = pair
    a.declare("n", "0")
    b.declare("n", "0")
    errors: list[BaseException] = []

    def work(model: ECMAScriptDataModel) -> None:
        try:
            for _ in range(300):
                model.execute("n = n + 1;")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(m,)) for m in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert (a.evaluate("n"), b.evaluate("n")) == (600, 600)


def test_closing_a_context_frees_its_realm_even_while_python_holds_one_of_its_functions():
    runtime = orchweb_quickjs.Runtime()
    stay = orchweb_quickjs.Context(runtime)
    runtime.gc()
    base = runtime.memory()["obj_count"]
    ctx = orchweb_quickjs.Context(runtime)
    held = ctx.eval("var junk = []; for (var i = 0; i < 5000; i++) junk.push({i: i}); (function () { return 1; })")
    assert held() == 1
    ctx.close()
    runtime.gc()
    assert runtime.memory()["obj_count"] <= base  # junk, globals and the held function are gone
    assert ctx.closed
    with pytest.raises(orchweb_quickjs.JSException, match="closed"):
        held()
    with pytest.raises(orchweb_quickjs.JSException, match="closed"):
        ctx.eval("1")
    assert stay.eval("1 + 1") == 2


def test_a_session_collected_without_close_gives_its_place_and_budget_back():
    import gc

    pool = RuntimePool(max_sessions=2)
    stay = ECMAScriptDataModel(memory_limit=4 * MIB, runtimes=pool)
    runtime = _runtime(stay)
    lost = ECMAScriptDataModel(memory_limit=4 * MIB, runtimes=pool)
    lost.execute("var junk = []; for (var i = 0; i < 5000; i++) junk.push({i: i});")
    assert _runtime(lost) is runtime
    del lost
    gc.collect()
    again = ECMAScriptDataModel(memory_limit=4 * MIB, runtimes=pool)
    assert _runtime(again) is runtime and len(pool) == 1  # the lost session's place
    usage = runtime.memory()
    assert usage["malloc_limit"] == 8 * MIB  # its budget went, the new one came
    assert usage["obj_count"] < 5000
    again.close()
    stay.close()
