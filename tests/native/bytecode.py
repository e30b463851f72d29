"""Bytecode and squeezed contexts for the binding's tests: a source compiled by a context of its
own, then closed; a context whose runtime has only a given headroom of memory left."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import orchweb_quickjs


def compiled(source: str, filename: str = "script.js") -> bytes:
    """`source` compiled as the script `filename` (bytecode as `Context.compile` writes it)."""
    compiler = orchweb_quickjs.Context()
    try:
        return compiler.compile(source, filename)
    finally:
        compiler.close()


def squeezed(intrinsics: str, setup: str, headroom: int) -> tuple[orchweb_quickjs.Runtime, orchweb_quickjs.Context]:
    """A context (`intrinsics`) of a runtime of its own that ran `setup`, the runtime's memory
    limit `headroom` bytes above what it holds after a collection."""
    runtime = orchweb_quickjs.Runtime()
    ctx = orchweb_quickjs.Context(runtime, intrinsics)
    ctx.eval(setup)
    runtime.gc()
    runtime.set_memory_limit(runtime.memory()["malloc_size"] + headroom)
    return runtime, ctx


def out_of_memory_sweep(
    setup: str, script: str, headrooms: Iterable[int], whole: Callable[[orchweb_quickjs.Context], None]
) -> set[str]:
    """Run `script` in an es5 context that ran `setup` (`squeezed`) at each headroom: it runs
    ("ok") or throws the limit error ("oom"), nothing else; with the limit lifted, `whole(ctx)`
    checks the context is whole. Returns the outcomes seen."""
    outcomes = set()
    for headroom in headrooms:
        runtime, ctx = squeezed("es5", setup, headroom)
        try:
            ctx.eval(script)
            outcomes.add("ok")
        except orchweb_quickjs.JSException as exc:
            assert str(exc).startswith(("InternalError: out of memory\n", "null\n"))
            outcomes.add("oom")
        runtime.set_memory_limit(-1)
        whole(ctx)
        ctx.close()
    return outcomes
