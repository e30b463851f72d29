"""Fair scheduling of simulation jobs: per-user FIFO queues served round-robin by a fixed set of
worker threads.

A plain thread pool serves jobs in arrival order, so one user who queues five slow simulation
steps makes everybody else's steps wait behind them. ``FairPool`` keeps one FIFO queue per user
and, whenever a worker is free, takes the next job of the next user in turn (round-robin), with
at most ``per_user`` jobs of one user running at once: one user can never occupy every worker,
and another user's job waits at most for one job to finish when every worker is busy.

Jobs of one simulation (the same ``key``, its runtime) never run concurrently and run in the
order they were submitted: a job whose key has a job running waits, and so do the jobs queued
after it for that key (they are in the same user's queue, behind it). Jobs with ``user=None``
(work no user asked for) share one queue and are not capped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

#: what a job of `FairPool.submit_async(..., hand_over=True)` returns when it gave its future to
#: another thread, which settles it: the worker leaves the future alone
HANDED_OVER: Any = object()


class _LoopFuture:
    """The side of an asyncio future that a worker uses (`cancelled`, `set_running_or_notify_cancel`,
    `set_result`, `set_exception`, as a `concurrent.futures.Future`'s): the outcome goes straight to
    the future's loop. A concurrent future wrapped by `asyncio.wrap_future` did the same with a
    condition, two futures and their callbacks on both sides: half the CPU of a job's round trip."""

    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future = loop.create_future()

    def cancelled(self) -> bool:
        return self.future.cancelled()  # one attribute read: safe from a worker thread

    def set_running_or_notify_cancel(self) -> bool:
        return not self.future.cancelled()

    def set_result(self, result: Any) -> None:
        self._settle(result, None)

    def set_exception(self, exc: BaseException) -> None:
        self._settle(None, exc)

    def _settle(self, result: Any, exc: BaseException | None) -> None:
        # as wrap_future's callback: nothing for a closed loop (closed now, or meanwhile: the
        # RuntimeError), and never an error in the worker
        if self.loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(_settle, self.future, result, exc)


def _settle(future: asyncio.Future, result: Any, exc: BaseException | None) -> None:
    """On the future's loop: its outcome, unless its awaiting task was cancelled meanwhile."""
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


@dataclass
class _Job:
    user: Hashable
    key: Hashable | None
    fn: Callable[[], Any]
    future: Future | _LoopFuture


class FairPool:
    """`workers` threads (started at once) serving per-user queues (see the module docstring)."""

    def __init__(self, workers: int, per_user: int, name: str = "simulation"):
        self.workers = max(1, int(workers))
        #: jobs of one user running at once (None: the uncapped queue of system work)
        self.per_user = max(1, min(int(per_user), self.workers))
        self._cond = threading.Condition()
        self._queues: OrderedDict[Hashable, deque[_Job]] = OrderedDict()
        self._running: Counter[Hashable] = Counter()
        self._busy_keys: set[Hashable] = set()
        self._pending = 0
        self._closed = False
        for number in range(self.workers):
            threading.Thread(target=self._work, name=f"{name}-{number}", daemon=True).start()

    @property
    def pending(self) -> int:
        """Jobs running or queued."""
        return self._pending

    def submit(self, fn: Callable[[], Any], user: Hashable = None, key: Hashable | None = None) -> Future:
        """Queue `fn()` for `user`; jobs with the same `key` run one at a time, in order."""
        future: Future = Future()
        self._queue(_Job(user, key, fn, future))
        return future

    def submit_async(
        self, fn: Callable[..., Any], user: Hashable = None, key: Hashable | None = None, hand_over: bool = False
    ) -> asyncio.Future:
        """`submit` for a coroutine of the running loop: an asyncio future of `fn()`'s outcome
        (cancelled while queued: the job never runs).

        `hand_over`: the job is `fn(future)`, given the asyncio future it is awaited by; when it
        returns `HANDED_OVER`, it passed that future on to another thread (the journal), which
        sets it on the loop with `call_soon_threadsafe` (nothing when the future is done: its
        awaiting task was cancelled). Whatever else it returns or raises is the outcome, as usual.
        The next job of the same key may run as soon as this one returns."""
        handle = _LoopFuture(asyncio.get_running_loop())
        job = functools.partial(fn, handle.future) if hand_over else fn
        self._queue(_Job(user, key, job, handle))
        return handle.future

    def _queue(self, job: _Job) -> None:
        with self._cond:
            self._queues.setdefault(job.user, deque()).append(job)
            self._pending += 1
            self._cond.notify()

    def shutdown(self) -> None:
        """Let the workers end once the queues are empty (a pool replaced in tests)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _take(self) -> _Job | None:
        """The next job to run (under the lock): users in turn, each queue in order."""
        for user in list(self._queues):
            if user is not None and self._running[user] >= self.per_user:
                continue
            queue = self._queues[user]
            for job in list(queue):
                if job.future.cancelled():  # cancelled while queued: forget it
                    queue.remove(job)
                    self._pending -= 1
                    continue
                if job.key is not None and job.key in self._busy_keys:
                    continue
                queue.remove(job)
                if queue:
                    self._queues.move_to_end(user)  # this user had a turn: the others go first
                else:
                    del self._queues[user]
                return job
            if not queue:
                del self._queues[user]
        return None

    def _work(self) -> None:
        while True:
            with self._cond:
                job = self._take()
                while job is None:
                    if self._closed and not self._pending:
                        return
                    self._cond.wait()
                    job = self._take()
                self._running[job.user] += 1
                if job.key is not None:
                    self._busy_keys.add(job.key)
            user, key = job.user, job.key
            try:
                self._run(job)
            finally:
                # nothing of the job stays referenced by this thread while it waits (a job's
                # result may be a whole simulation runtime)
                job = None
                with self._cond:
                    self._running[user] -= 1
                    if not self._running[user]:
                        del self._running[user]
                    self._busy_keys.discard(key)
                    self._pending -= 1
                    # a job held back by its user's cap or its key may run now, on any worker (or
                    # a closed pool is done); otherwise nobody needs waking: waking every idle
                    # worker after every job cost more than handing the job over
                    if self._queues or (self._closed and not self._pending):
                        self._cond.notify_all()

    @staticmethod
    def _run(job: _Job) -> None:
        if job.future.set_running_or_notify_cancel():
            try:
                result = job.fn()
            except BaseException as exc:  # handed to the awaiting caller
                job.future.set_exception(exc)
            else:
                if result is not HANDED_OVER:
                    job.future.set_result(result)
