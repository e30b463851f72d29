"""Compile-once bytecode for large scripts, shared by every session of the process.

Parsing is most of the cost of a new session when a document loads big script libraries (a
Composer IPD runs ~85 KiB of include JS in every session). QuickJS can compile a program once,
serialise its bytecode and load it into any other context of the same engine build: about 4x
faster than parsing it again. Our binding does both (`Context.compile`, `Context.run_bytecode`:
native/quickjs/module.c).

``compile_program(source, strip_source=False, filename="<input>") -> bytes | None``: bytecode of a
global program (process-wide cache, per source and filename); ``None`` when it does not compile
(the caller then evaluates the text and reports the error).
``compile_uncached(source, filename)``: the same without the cache (one-off bundles).
``run_program(ctx, code, share=False)``: run it in an ``orchweb_quickjs.Context``; a thrown
exception raises ``orchweb_quickjs.JSException`` exactly like an ``eval`` failure.
``load_value(ctx, code, share=False, slot=None)``: like ``run_program`` but returns the program's
completion value when it is an object or function (a callable ``orchweb_quickjs.Object``, as
``ctx.eval`` would return); with ``slot``, read once per runtime like shared bytes, but replaced
when other bytes of the same slot run.
``syntax_ok(source)``: whether a global program compiles (nothing runs; process-wide cache).

Without ``share`` the bytecode is read again in every context. With ``share=True`` (for the bytes
of ``compile_program``, which the process keeps anyway, never for one-off bytes) the context's
runtime keeps ``code`` alive until it is freed, the functions' source text (for
``Function.prototype.toString``) and line tables point into it (docs/performance.md, "Shared
function source text"), and the runtime reads it once: its functions are realm-free, running in
the realm of their caller, so every context of the runtime evaluates that one read and still gets
its own functions and globals (docs/performance.md, "Library bytecode read once per runtime"; a
program whose constants belong to a realm, such as a tagged template's strings, is read by each
context).
"""

from __future__ import annotations

import threading
from functools import lru_cache

import orchweb_quickjs

_COMPILER_MEMORY_LIMIT = 64 * 1024 * 1024
_compile_lock = threading.Lock()
_compiler: orchweb_quickjs.Context | None = None


def _compile(source: str, filename: str, strip_source: bool) -> bytes | None:
    """Bytecode of `source`, compiled in the process-wide compiling context (nothing runs there;
    under the datamodel's default memory limit so a pathological source fails instead of
    exhausting the process), or None if it does not compile."""
    global _compiler
    with _compile_lock:
        if _compiler is None:
            _compiler = orchweb_quickjs.Context()
            _compiler.set_memory_limit(_COMPILER_MEMORY_LIMIT)
        try:
            return _compiler.compile(source, filename, strip_source)
        except orchweb_quickjs.JSException:
            return None


def compile_uncached(source: str, filename: str = "<input>", strip_source: bool = False) -> bytes | None:
    """Bytecode of `source` as a global program (not cached), or None if it does not compile.

    `strip_source` leaves the source text out (smaller; `Function.prototype.toString` of its
    functions then shows no body): for private code only, never for the document's.
    """
    return _compile(source, filename, strip_source)


@lru_cache(maxsize=1024)
def compile_program(source: str, strip_source: bool = False, filename: str = "<input>") -> bytes | None:
    """Bytecode of `source` as a global program, or None if it does not compile (process-wide
    cache, keyed by source and filename: stack traces name the filename)."""
    return compile_uncached(source, filename, strip_source)


@lru_cache(maxsize=4096)
def syntax_ok(source: str) -> bool:
    """Whether `source` compiles as a global program. Only compiles (nothing runs); cached."""
    return _compile(source, "<input>", True) is not None


def run_program(ctx: orchweb_quickjs.Context, code: bytes, share: bool = False) -> None:
    """Run compiled `code` in `ctx` (global scope); JS exceptions raise ``JSException``.
    `share`: its functions point into `code`, kept by the runtime (for cached bytes only)."""
    ctx.run_bytecode(code, False, share)


def load_value(
    ctx: orchweb_quickjs.Context, code: bytes, share: bool = False, slot: int | None = None
) -> orchweb_quickjs.Object | None:
    """Run compiled `code` in `ctx`; its completion value if it is an object (else None).
    `share`: as for `run_program`. `slot` (not with `share`): the runtime keeps `code` and its
    realm-free read under `slot` until other bytes of the slot run (for bytes that are replaced
    as they grow, such as a document's bundle of compiled expressions: one read per runtime and
    slot, never one per version)."""
    value = ctx.run_bytecode(code, True, share, slot)
    return value if isinstance(value, orchweb_quickjs.Object) else None
