"""One CPU for a Daphne process's threads (``ORCHWEB_CPU``; ``python -m orchweb.serve --pin``).

A Daphne process runs Python on several threads (the event loop, the simulation workers, the
journal, Channels' database thread) that take turns holding the GIL, and a step hands it over
several times: to a worker and back, around each call into JavaScript (the binding releases the
GIL while JS runs), to the journal and back. Where those threads run on different CPUs, every
hand-over wakes a thread on the other CPU (a futex wake, an inter-processor interrupt: a VM exit
on a virtual machine) and moves the interpreter's shared state (the reference counts of `None`,
the types, the interned strings...) from one CPU's cache to the other's; none of that is an
instruction of the step. On the 2-core machine of docs/performance.md ("The cross-CPU hand-overs
of a step", helper wsstep12) that was about a quarter of Daphne's CPU a step of the closed loop,
and with every thread on one CPU the process served more steps a second with the other CPU left
to the rest. Several processes (``orchweb.serve --processes N --pin``) each take a CPU of their
own: the GIL allows one CPU's worth of Python per process anyway.

Unset (the default), the operating system places the threads on any CPU the process may use.
Processes the pinned one starts would inherit its one CPU: the batches' local pool gives its
workers back the CPUs the process had before (`cpus_before_pin`).
"""

from __future__ import annotations

import contextlib
import os

#: the CPUs this process could use before `pin_process` (None: it was not pinned)
_before: frozenset[int] | None = None


def cpus_before_pin() -> frozenset[int] | None:
    """The CPUs this process could use before `pin_process` put it on one, for the processes it
    starts (they would inherit the one CPU); None when it was not pinned."""
    return _before


def pin_process(index: int | None) -> int | None:
    """Run every thread of this process, and every thread it starts later (a new thread inherits
    its creator's CPUs), on one CPU: the `index`-th (modulo their number) of the CPUs this process
    may use. Returns that CPU; None when `index` is None or the system has no CPU affinity."""
    global _before
    if index is None or not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    _before = _before or frozenset(allowed)
    cpu = allowed[index % len(allowed)]
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:  # no /proc: this thread only (the process starts its other threads later)
        threads = [0]
    for tid in threads:
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            os.sched_setaffinity(tid, {cpu})
    return cpu
