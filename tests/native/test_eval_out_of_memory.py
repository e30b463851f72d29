"""A script whose top-level closure cannot be made under the memory limit throws out of memory
(patches/60-eval-closure-out-of-memory.patch), never "TypeError: not a function": the datamodel
tells limit errors by their message, and a script could catch the TypeError.

Every limit, byte by byte, from nothing to what the run needs, for a script given as source, as
bytecode, shared and under a slot: each run is whole or fails with an out-of-memory error (or an
error whose message could not be allocated either).
"""

from __future__ import annotations

import orchweb_quickjs
import pytest

SOURCE = "var total = 0; for (var i = 0; i < 3; i++) total += i; total"


@pytest.mark.parametrize("how", ["source", "bytecode", "share", "slot"])
def test_out_of_memory_at_the_top_level_closure_is_an_out_of_memory_error(how):
    compiler = orchweb_quickjs.Context()
    code = compiler.compile(SOURCE, "script.js")
    compiler.close()
    outcomes: dict[str, int] = {}
    for extra in range(0, 3_000):
        runtime = orchweb_quickjs.Runtime()
        ctx = orchweb_quickjs.Context(runtime, "es5")
        runtime.gc()
        runtime.set_memory_limit(runtime.memory()["malloc_size"] + extra)
        try:
            if how == "source":
                result = ctx.eval(SOURCE)
            else:
                result = ctx.run_bytecode(code, True, how == "share", 1 if how == "slot" else None)
            assert result == 3
            outcomes.setdefault("ok", extra)
        except orchweb_quickjs.JSException as exc:
            message = str(exc)
            # "out of memory" (or null: not even the error could be made), never a TypeError
            assert message.startswith(("InternalError: out of memory\n", "null\n")), (extra, message)
            outcomes.setdefault("oom", extra)
        runtime.set_memory_limit(-1)
        assert ctx.eval(SOURCE) == 3  # whatever failed, the context runs with room
        ctx.close()
    assert set(outcomes) == {"ok", "oom"}
