"""Bytecode and squeezed contexts for the binding's tests: a source compiled by a context of its
own, then closed; a context whose runtime has only a given headroom of memory left."""

from __future__ import annotations

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
