"""orchweb_quickjs.Lock: the lock of a datamodel's runtime, threading.RLock's semantics with an
acquire() that parses no arguments (module.c; docs/performance.md, helper "orsrun7")."""

from __future__ import annotations

import threading

import orchweb_quickjs
import pytest

from simulator.scxml.datamodel import ECMAScriptDataModel, RuntimePool


def test_it_is_reentrant_and_only_its_holder_releases_it():
    lock = orchweb_quickjs.Lock()
    with pytest.raises(RuntimeError, match="un-acquired"):
        lock.release()
    assert lock.acquire() is True and lock.acquire() is True
    errors: list[str] = []

    def other() -> None:
        try:
            lock.release()
        except RuntimeError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert errors == ["cannot release un-acquired lock"]
    lock.release()
    lock.release()
    with pytest.raises(RuntimeError):
        lock.release()
    with pytest.raises(TypeError):
        lock.acquire(False)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        orchweb_quickjs.Lock(1)  # type: ignore[call-arg]


def test_another_thread_waits_until_every_acquisition_is_released():
    lock = orchweb_quickjs.Lock()
    events: list[str] = []
    waiting = threading.Event()

    def other() -> None:
        waiting.set()
        with lock:
            events.append("other")

    with lock:
        with lock:
            thread = threading.Thread(target=other)
            thread.start()
            waiting.wait()
            thread.join(0.05)  # it cannot get in (the GIL is released while it waits)
            events.append("inner")
        thread.join(0.05)
        events.append("outer")
    thread.join()
    assert events == ["inner", "outer", "other"]


def test_an_exception_in_a_with_block_releases_it_and_propagates():
    lock = orchweb_quickjs.Lock()
    with pytest.raises(ValueError), lock:
        raise ValueError
    held = [lock]
    thread = threading.Thread(target=lambda: held.append(held[0].acquire()))
    thread.start()
    thread.join()
    assert held[1] is True
    del lock
    held.clear()  # freed while another thread holds it: released first (no crash, no leak)


def test_sessions_of_a_runtime_share_one_and_threads_take_turns():
    pool = RuntimePool(4)
    models = [ECMAScriptDataModel(runtimes=pool) for _ in range(2)]
    alone = ECMAScriptDataModel()
    assert models[0]._lock is models[1]._lock and type(models[0]._lock) is orchweb_quickjs.Lock
    assert type(alone._lock) is orchweb_quickjs.Lock and alone._lock is not models[0]._lock
    for model in models:
        model.execute("var n = 0; function add() { var v = n; for (var i = 0; i < 200; i++) {} n = v + 1; }")

    def work(model: ECMAScriptDataModel) -> None:
        for _ in range(300):
            model.execute("add()")

    threads = [threading.Thread(target=work, args=(model,)) for model in models for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [model.evaluate("n") for model in models] == [600, 600]
    for model in (*models, alone):
        model.close()
