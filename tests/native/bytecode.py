"""Bytecode for the binding's tests: a source compiled by a context of its own, then closed."""

from __future__ import annotations

import orchweb_quickjs


def compiled(source: str, filename: str = "script.js") -> bytes:
    """`source` compiled as the script `filename` (bytecode as `Context.compile` writes it)."""
    compiler = orchweb_quickjs.Context()
    try:
        return compiler.compile(source, filename)
    finally:
        compiler.close()
