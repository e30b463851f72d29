"""Context.run_bytecode(code, slot=N): a program the runtime reads once (realm-free, as with
`share`, but kept from its first read) and keeps under slot N until another program of the slot
runs, which replaces it. For
bytes that are rebuilt as they grow (the datamodel's bundle of a document's compiled expressions):
a runtime keeps one read per slot, never one per version, and the functions made from a replaced
read keep working.

The contract pinned here: every context of the runtime gets its own functions in its own realm;
from the second context on, no context pays for a read; another program under the slot frees the
kept read (the runtime's heap goes back) while functions made from it, even one running at that
moment, stay valid; out of memory while reading or evaluating leaves nothing half-kept.
"""

from __future__ import annotations

import gc

import orchweb_quickjs
import pytest

from tests.native.bytecode import compiled


def program(version: int, count: int = 200) -> bytes:
    """A program whose value is a function returning an array of `count` functions (the shape of
    the datamodel's bundle), each answering its version, its index and a global of its context."""
    body = "typeof who === 'undefined' ? '' : who"
    items = ", ".join(f"function () {{ return [{version}, {i}, {body}]; }}" for i in range(count))
    return compiled(f"(function (h) {{ var t = [{items}]; return function (i) {{ return t[i](); }}; }})")


def used(runtime: orchweb_quickjs.Runtime) -> int:
    runtime.gc()
    return runtime.memory()["memory_used_size"]


def test_the_runtime_keeps_the_first_read_of_a_slot_program_and_every_later_context_shares_it():
    code = program(1)
    runtime = orchweb_quickjs.Runtime()
    growth, calls = [], []
    for n in range(5):
        ctx = orchweb_quickjs.Context(runtime, "es5")
        ctx.eval(f"var who = 'c{n}'")
        before = used(runtime)
        call = ctx.run_bytecode(code, True, False, 7)(None)
        growth.append(used(runtime) - before)
        calls.append(call)
    for n, call in enumerate(calls):
        assert call(123).json() == f'[1,123,"c{n}"]'  # its own realm's globals
    # the first reads the runtime's; the others only make their functions
    assert max(growth[1:]) < growth[0] / 2, growth
    alone = orchweb_quickjs.Context(runtime, "es5")
    before = used(runtime)
    kept = alone.run_bytecode(code, True)(None)  # without a slot: a read of its own
    assert used(runtime) - before > max(growth[1:]) * 1.5
    assert kept(0).json() == '[1,0,""]'


def test_another_program_of_the_slot_replaces_the_kept_read_and_the_old_functions_keep_working():
    old, new = program(1), program(2)
    runtime = orchweb_quickjs.Runtime()
    contexts = [orchweb_quickjs.Context(runtime, "es5") for _ in range(6)]
    calls = [ctx.run_bytecode(old, True, False, 7)(None) for ctx in contexts[:3]]
    calls += [ctx.run_bytecode(new, True, False, 7)(None) for ctx in contexts[3:]]
    assert [c(5).json() for c in calls] == ['[1,5,""]'] * 3 + ['[2,5,""]'] * 3
    # a context running the old program again replaces the kept read once more
    again = contexts[0].run_bytecode(old, True, False, 7)(None)
    assert again(199).json() == '[1,199,""]'
    del calls, again
    gc.collect()
    for ctx in contexts:
        ctx.close()


def test_a_runtime_keeps_one_read_per_slot_whatever_the_versions_it_ran():
    versions = [program(v) for v in range(8)]
    runtime = orchweb_quickjs.Runtime()
    heaps = []
    for code in versions:
        # three contexts per version (the first's read is kept), closed afterwards
        contexts = [orchweb_quickjs.Context(runtime, "es5") for _ in range(3)]
        for ctx in contexts:
            ctx.run_bytecode(code, False, False, 7)
        for ctx in contexts:
            ctx.close()
        heaps.append(used(runtime))
    # keeping every version would grow by a read per version
    assert heaps[-1] - heaps[1] < (heaps[1] - heaps[0]) / 2 + 4096, heaps


def test_slots_are_apart_and_a_slot_is_apart_from_shared_programs():
    first, second = program(1, 3), program(2, 3)
    runtime = orchweb_quickjs.Runtime()
    contexts = [orchweb_quickjs.Context(runtime) for _ in range(4)]
    for ctx in contexts:
        assert ctx.run_bytecode(first, True, False, 1)(None)(0).json() == '[1,0,""]'
        assert ctx.run_bytecode(second, True, False, 2)(None)(0).json() == '[2,0,""]'
        assert ctx.run_bytecode(first, True, True)(None)(1).json() == '[1,1,""]'
        assert ctx.run_bytecode(first, True, False, 1)(None)(2).json() == '[1,2,""]'


def test_a_function_of_a_replaced_read_may_be_running_while_its_read_is_freed():
    old = compiled(
        "(function () { return function (n) { var before = [typeof who, n]; host(); "
        "var after = [typeof who, n + 1]; return JSON.stringify([before, after]); }; })"
    )
    new = program(2, 3)
    runtime = orchweb_quickjs.Runtime()
    contexts = [orchweb_quickjs.Context(runtime) for _ in range(3)]
    functions = [ctx.run_bytecode(old, True, False, 9)() for ctx in contexts]  # all share the kept read

    def host() -> None:
        # a sibling runs another program of the slot: the kept read of `old` is freed meanwhile
        assert contexts[0].run_bytecode(new, True, False, 9)(None)(1).json() == '[2,1,""]'
        contexts[0].gc()

    contexts[2].add_callable("host", host)
    contexts[2].eval("var who = 1")
    assert functions[2](41) == '[["number",41],["number",42]]'
    assert functions[2](1) == '[["number",1],["number",2]]'


def test_a_slot_must_be_an_int_and_not_with_share():
    ctx = orchweb_quickjs.Context()
    code = program(1, 1)
    with pytest.raises(TypeError):
        ctx.run_bytecode(code, True, False, "slot")
    with pytest.raises(TypeError):
        ctx.run_bytecode(code, True, True, 1)
    assert ctx.run_bytecode(code, True, False, None)(None)(0).json() == '[1,0,""]'


def test_a_slot_program_with_constants_bound_to_a_realm_is_read_by_each_context():
    code = compiled("(function () { function tag(s) { return s; } return function () { return tag`a${1}b`; }; })")
    runtime = orchweb_quickjs.Runtime()
    sites = [orchweb_quickjs.Context(runtime).run_bytecode(code, True, False, 3)() for _ in range(3)]
    for site in sites:
        assert site().json() == '["a","b"]'
    assert sites[1]() is not sites[2]()


def test_out_of_memory_while_reading_a_slot_program_keeps_nothing_half_made():
    code = program(1, 60)
    outcomes = set()
    for limit in range(40_000, 200_000, 4_099):
        runtime = orchweb_quickjs.Runtime()
        contexts = [orchweb_quickjs.Context(runtime, "es5") for _ in range(3)]
        runtime.set_memory_limit(used(runtime) + limit // 4)
        for ctx in contexts:
            try:
                call = ctx.run_bytecode(code, True, False, 5)(None)
                outcomes.add("ok")
                assert call(59).json() == '[1,59,""]'
            except orchweb_quickjs.JSException as exc:
                # out of memory (or null: not even the error could be made)
                assert str(exc).startswith(("InternalError: out of memory\n", "null\n"))
                outcomes.add("oom")
        runtime.set_memory_limit(-1)
        for ctx in contexts:  # whatever failed before, a read with room is whole
            assert ctx.run_bytecode(code, True, False, 5)(None)(0).json() == '[1,0,""]'
            ctx.close()
    assert outcomes == {"ok", "oom"}


def library(version: int, count: int = 30) -> bytes:
    """A slot program declaring global functions (made on first touch: patch 50)."""
    body = "typeof who === 'undefined' ? '' : who"
    functions = "".join(f"function f{i}() {{ return [{version}, {i}, {body}]; }}\n" for i in range(count))
    return compiled(f"{functions}var version = {version};")


def test_global_functions_of_a_replaced_read_are_made_whole_on_their_first_touch():
    old, new = library(1), library(2)
    runtime = orchweb_quickjs.Runtime()
    first, second, third = (orchweb_quickjs.Context(runtime, "es5") for _ in range(3))
    for ctx, who in ((first, "a"), (second, "b")):
        ctx.eval(f"var who = '{who}'")
        ctx.run_bytecode(old, False, False, 4)
    third.run_bytecode(new, False, False, 4)  # frees the kept read of `old`; nothing was touched
    runtime.gc()
    assert first.eval("JSON.stringify([f29(), f0(), String(f7), version])") == (
        '[[1,29,"a"],[1,0,"a"],"function f7() { return [1, 7, typeof who === \'undefined\' ? \'\' : who]; }",1]'
    )
    assert second.eval("JSON.stringify(f3())") == '[1,3,"b"]'
    # the same context, old -> new -> old under the slot: each declaration over the last
    first.eval("var kept = f1")
    first.run_bytecode(new, False, False, 4)
    assert first.eval("JSON.stringify([f1(), kept(), f2(), version])") == '[[2,1,"a"],[1,1,"a"],[2,2,"a"],2]'
    first.run_bytecode(old, False, False, 4)
    assert first.eval("JSON.stringify([f1(), kept(), f2(), kept === f1, version])") == (
        '[[1,1,"a"],[1,1,"a"],[1,2,"a"],false,1]'
    )
    for ctx in (first, second, third):
        ctx.close()


def test_the_top_level_of_the_kept_read_may_be_running_while_another_program_replaces_it():
    functions = "".join(f"function g{i}() {{ return {i}; }}\n" for i in range(20))
    top = compiled(functions + "host(); [g0(), g19(), String(g5)].join()")
    runtime = orchweb_quickjs.Runtime()
    sibling = orchweb_quickjs.Context(runtime, "es5")

    def host() -> None:
        sibling.run_bytecode(library(3), False, False, 6)
        sibling.gc()

    for _ in range(2):  # the first read (kept while it runs), then the kept one
        ctx = orchweb_quickjs.Context(runtime, "es5")
        ctx.add_callable("host", host)
        assert ctx.run_bytecode(top, True, False, 6) == "0,19,function g5() { return 5; }"
        ctx.close()


def test_a_runtime_is_freed_with_its_slots_and_untouched_functions_held():
    old, new = library(1), library(2)
    for _ in range(20):
        runtime = orchweb_quickjs.Runtime()
        contexts = [orchweb_quickjs.Context(runtime, "es5") for _ in range(3)]
        for n, ctx in enumerate(contexts):
            ctx.run_bytecode(old if n % 2 else new, False, False, 1)
        assert contexts[0].eval("f0()[0]") == 2
        del contexts, runtime  # never closed: freed with the runtime, slots and all
        gc.collect()
