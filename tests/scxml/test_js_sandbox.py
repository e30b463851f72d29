"""Hostile JavaScript against the datamodel sandbox: loops, memory bombs, recursion, tampering.

Each attack must end with a clear JSError, leave the process alive, and leave other datamodel
instances (and, where it makes sense, the attacked one) working. Short time limits keep the
suite fast; the deadline is wall-clock, so they are real limits, not mocks.
"""

from __future__ import annotations

import threading
import time

import pytest

from simulator.scxml.datamodel import ECMAScriptDataModel, JSError

LIMIT = 0.2  # seconds; per evaluation


@pytest.fixture
def dm():
    model = ECMAScriptDataModel(time_limit=LIMIT)
    yield model
    model.close()


@pytest.fixture
def other():
    model = ECMAScriptDataModel(time_limit=LIMIT)
    model.declare("alive", "'yes'")
    yield model
    model.close()


def assert_timed_out(info: pytest.ExceptionInfo, started: float) -> None:
    elapsed = time.monotonic() - started
    assert info.value.name == "InternalError"
    assert "exceeded the time limit" in info.value.message
    assert LIMIT <= elapsed < LIMIT + 2.0


@pytest.mark.parametrize(
    "run",
    [
        pytest.param(lambda dm: dm.evaluate_bool("(function(){ while (true) {} })()"), id="cond"),
        pytest.param(lambda dm: dm.evaluate("(function(){ for (;;) {} })()"), id="expr"),
        pytest.param(lambda dm: dm.execute("while (true) {}"), id="script"),
        pytest.param(lambda dm: dm.declare("d", "(function(){ while (true) {} })()"), id="data-expr"),
        pytest.param(lambda dm: dm.execute("var o = {get x() { while (true) {} }}; o.x;"), id="getter"),
        pytest.param(lambda dm: dm.execute("[3, 2, 1].sort(function () { while (true) {} });"), id="sort-comparator"),
        pytest.param(lambda dm: dm.evaluate("/(a+)+b/.test('a'.repeat(40))"), id="regex-backtracking"),
    ],
)
def test_an_endless_computation_stops_at_the_deadline(dm, other, run):
    dm.declare("kept", "1")
    started = time.monotonic()
    with pytest.raises(JSError) as info:
        run(dm)
    assert_timed_out(info, started)
    assert dm.evaluate("kept + 1") == 2
    assert other.evaluate("alive") == "yes"


def test_an_endless_loop_calling_python_stops_at_the_deadline(dm):
    calls = []
    dm.define_function("ping", lambda: calls.append(1) or len(calls))
    started = time.monotonic()
    with pytest.raises(JSError) as info:
        dm.execute("while (true) { ping(); }")
    assert_timed_out(info, started)
    assert len(calls) > 10


def test_python_callbacks_work_under_the_deadline(dm):
    dm.define_function("twice", lambda x: x * 2)
    assert dm.evaluate("(function(){ var s = 0; for (var i = 0; i < 1000; i++) s += twice(i); return s; })()") == 999000


def test_a_slow_python_callback_counts_against_the_deadline(dm):
    release = threading.Event()
    dm.define_function("slow", lambda: release.wait(LIMIT * 1.5))
    started = time.monotonic()
    with pytest.raises(JSError) as info:
        dm.execute("slow(); while (true) {}")
    assert_timed_out(info, started)


def test_a_nested_evaluation_does_not_extend_the_outer_deadline(dm):
    dm.define_function("inner", lambda: dm.evaluate("1"))
    started = time.monotonic()
    with pytest.raises(JSError) as info:
        dm.execute("while (true) { inner(); }")
    assert_timed_out(info, started)


def test_each_evaluation_gets_its_own_deadline(dm):
    # Several evaluations, each well under the limit, together take longer than one limit.
    started = time.monotonic()
    while time.monotonic() - started < LIMIT * 1.5:
        dm.execute("var t = Date.now(); while (Date.now() - t < 20) {}")


def test_a_memory_bomb_stops_with_the_memory_message_and_the_process_survives(other):
    bomb = ECMAScriptDataModel(memory_limit=16 * 1024 * 1024, time_limit=5.0)
    with pytest.raises(JSError) as info:
        bomb.execute("var a = []; while (1) a.push(new Array(1e6));")
    assert info.value.name == "InternalError"
    assert "exceeded the memory limit of 16 MiB" in info.value.message
    assert bomb.out_of_memory
    bomb.close()
    assert other.evaluate("alive") == "yes"
    fresh = ECMAScriptDataModel()
    assert fresh.evaluate("[1, 2, 3].length") == 3
    fresh.close()


def test_a_transient_out_of_memory_leaves_the_datamodel_usable():
    model = ECMAScriptDataModel(memory_limit=16 * 1024 * 1024, time_limit=5.0)
    with pytest.raises(JSError) as info:
        model.evaluate("(function(){ var a = []; while (1) a.push({k: a.length}); })()")
    assert "memory limit" in info.value.message
    assert model.evaluate("1 + 1") == 2
    model.close()


def test_out_of_memory_in_a_large_script_run_from_bytecode_says_so():
    model = ECMAScriptDataModel(memory_limit=16 * 1024 * 1024, time_limit=5.0)
    padding = "// " + "x" * 5000 + "\n"  # large scripts take the shared-bytecode path
    with pytest.raises(JSError) as info:
        model.execute(padding + "(function(){ var a = []; while (1) a.push({k: a.length}); })();")
    assert info.value.name == "InternalError"
    assert "exceeded the memory limit" in info.value.message
    assert model.evaluate("1 + 1") == 2
    model.close()


def test_string_doubling_is_stopped(dm):
    with pytest.raises(JSError) as info:
        dm.execute("var s = 'x'; while (true) s += s;")
    assert info.value.name == "InternalError"
    dm.execute("s = null;")
    assert dm.evaluate("2 * 2") == 4


def test_runaway_recursion_is_a_range_error(dm):
    with pytest.raises(JSError) as info:
        dm.execute("function f() { return f() + 1; } f();")
    assert info.value.name == "RangeError"
    assert dm.evaluate("typeof f") == "function"


def test_prototype_tampering_is_invisible_to_another_instance(dm, other):
    dm.execute("Object.prototype.polluted = 1; Array.prototype.push = function () { return 'hijacked'; };")
    dm.execute("JSON.stringify = function () { return 'evil'; }; Math.max = null;")
    assert dm.evaluate("({}).polluted") == 1
    assert other.evaluate("typeof ({}).polluted") == "undefined"
    assert other.evaluate("(function(){ var a = []; a.push(1); return a.length; })()") == 1
    assert other.evaluate("JSON.stringify({a: 1})") == '{"a":1}'
    assert other.evaluate("Math.max(1, 2)") == 2


def test_globals_are_invisible_to_another_instance(dm, other):
    dm.execute("var secret = 's3cret'; leaked = 1;")
    assert other.evaluate("typeof secret + typeof leaked") == "undefinedundefined"


def test_tampering_with_array_methods_does_not_break_the_bridge_or_cycle_handling(dm):
    dm.define_function("echo", lambda *args: list(args))
    dm.execute("Array.prototype.push = Array.prototype.indexOf = Array.prototype.pop = function () { throw 1; };")
    assert dm.evaluate("echo(1, 'a')") == [1, "a"]
    dm.execute("var o = {k: [1]}; o.self = o;")
    assert dm.evaluate("o") == {"k": [1], "self": "[Circular]"}


def test_tampering_with_json_in_a_session_does_not_break_value_transfer(dm):
    dm.execute("JSON.stringify = function () { return 'evil'; }; JSON.parse = function () { return 'evil'; };")
    dm.declare_value("v", {"a": [1, 2]})
    assert dm.evaluate("v") == {"a": [1, 2]}
    dm.set_event("e", data={"k": 1})
    assert dm.evaluate("_event.data.k") == 1


def test_the_document_cannot_reach_or_change_the_private_helpers(dm):
    # A document's text naming a private name is refused, clearly, before anything runs: assigned,
    # it would break the session's later expressions; declared, it would be shadowed or hidden.
    dm.declare("x", "1")
    attempts = [
        lambda: dm.execute("var seen = typeof __orchweb_h;"),
        lambda: dm.evaluate("__orchweb_h = null"),
        lambda: dm.evaluate_bool("__orchweb_t"),
        lambda: dm.assign("__orchweb_h", "1"),
        lambda: dm.assign("x", "__orchweb_k"),
        lambda: dm.assign_value("__orchweb_v", 1),
        lambda: dm.declare("__orchweb_h", "2"),
        lambda: dm.declare("__orchweb_mine"),
        lambda: dm.declare_value("__orchweb_i", 3),
    ]
    for attempt in attempts:
        with pytest.raises(JSError, match="reserved by the simulator") as info:
            attempt()
        assert info.value.name == "SyntaxError"
    # nothing ran, nothing was declared
    assert dm.evaluate("typeof seen + typeof globalThis['_' + '_orchweb_mine']") == "undefinedundefined"
    assert dm.evaluate("x + 1") == 2  # and the session goes on
    # a hostile document reaching the helper by a name it builds finds it frozen
    dm.evaluate("(function (h) { h.out = null; h.dec = null; })(eval('_' + '_orchweb_h'))")
    assert dm.evaluate("({a: 1})") == {"a": 1}
    dm.define_function("f", lambda: 1)
    assert dm.evaluate("Object.keys(globalThis).filter(function (k) { return /orchweb/.test(k); })") == []


def test_a_hostile_to_json_is_bounded_by_the_deadline(dm):
    started = time.monotonic()
    with pytest.raises(JSError) as info:
        dm.evaluate("({toJSON: function () { while (true) {} }})")
    assert_timed_out(info, started)


def test_a_deeply_nested_value_gives_a_clear_error(dm):
    with pytest.raises(JSError) as info:
        dm.evaluate("(function(){ var o = []; for (var i = 0; i < 100000; i++) o = [o]; return o; })()")
    assert info.value.name in {"RangeError", "InternalError"}
    assert dm.evaluate("1") == 1


def test_two_sessions_run_in_parallel_threads_with_their_own_deadlines():
    results: dict[str, str] = {}

    def spin(key: str) -> None:
        model = ECMAScriptDataModel(time_limit=LIMIT)
        try:
            model.execute("while (true) {}")
        except JSError as exc:
            results[key] = exc.message
        finally:
            model.close()

    threads = [threading.Thread(target=spin, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results) == {"a", "b"}
    assert all("time limit" in m for m in results.values())


def test_a_name_that_only_contains_the_private_prefix_is_an_ordinary_name(dm):
    dm.declare("my__orchweb_h", "1")
    dm.assign("my__orchweb_h", "my__orchweb_h + 1")
    dm.execute("var $__orchweb_x = 'script';")
    assert dm.evaluate("[my__orchweb_h, $__orchweb_x]") == [2, "script"]
    assert dm.declare_undefined(("a__orchweb_1", "b__orchweb_2"), 0) == (2, None)  # in one run
    assert dm.evaluate("[typeof a__orchweb_1, 'b__orchweb_2' in globalThis]") == ["undefined", True]
    with pytest.raises(JSError, match="reserved by the simulator"):
        dm.evaluate("my__orchweb_h + __orchweb_h")  # the private one still refused
