"""Give the memory of a closed simulation back to the operating system.

A simulation's JS heap (QuickJS) and, with ``PYTHONMALLOC=malloc`` (README, docs/performance.md),
its Python objects live in the C allocator's heaps. glibc gives freed memory back on its own only
from the top of a heap; ``malloc_trim`` also returns the free pages in the middle of every heap.
Elsewhere than glibc (musl, macOS) there is no such call and ``give_back`` does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


def _find_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None


_malloc_trim = _find_malloc_trim()


def give_back() -> bool:
    """Return the allocator's free pages to the system; False where the C library cannot."""
    if _malloc_trim is None:
        return False
    _malloc_trim(0)
    return True
