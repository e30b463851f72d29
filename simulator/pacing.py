"""The ``run`` action of a socket: macrosteps in chunks until a breakpoint, the end or idleness,
as fast as the worker pool allows or paced at `speed` times the wall clock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from simulator import sessions
from simulator.protocol import OpError

if TYPE_CHECKING:
    from simulator.consumers import SimulationConsumer

logger = logging.getLogger(__name__)

#: macrosteps per worker call during a fast `run` (frames are sent between chunks, so a `pause`
#: is served within one chunk)
RUN_CHUNK = 25
#: longest wall-clock pause of a paced run before it re-checks (virtual timers can be far away)
MAX_PACED_WAIT = 5.0


class RunLoop:
    """At most one run of a socket's simulation; its frames go out through the consumer."""

    def __init__(self, consumer: SimulationConsumer):
        self.consumer = consumer
        self.task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self.task is not None

    def start(self, speed: float | None, reply_to: Any, to: str | None) -> None:
        """Start a run (the caller stops the previous one first)."""
        self.task = asyncio.create_task(self._run(speed, reply_to, to))

    def cancel(self) -> None:
        """Cancel without waiting (the socket is going away)."""
        if self.task is not None:
            self.task.cancel()

    async def stop(self) -> bool:
        """Cancel a run in progress (waits for its current chunk); True if one was running."""
        task, self.task = self.task, None
        if task is None:
            return False
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return True

    async def _run(self, speed: float | None, reply_to: Any, to: str | None = None) -> None:
        """Macrosteps until a breakpoint (or the state `to`), the end or idleness; paced by `speed`
        times the wall clock."""
        consumer = self.consumer
        try:
            reason, hits = await (self._run_paced(speed, to) if speed is not None else self._run_fast(to))
        except asyncio.CancelledError:
            raise
        except OpError as exc:  # changed from another window meanwhile (the socket got the new state)
            await consumer.error(f"the run stopped: {exc}")
            reason, hits = "error", []
        except Exception as exc:
            logger.exception("simulation %s: run failed", consumer.simulation_id)
            await consumer.error(f"the run stopped: {type(exc).__name__}: {exc}")
            reason, hits = "error", []
        if self.task is asyncio.current_task():
            self.task = None
        await consumer.frames([{"type": "paused", "reason": reason, "hits": hits, "reply_to": reply_to}])

    async def _chunk(self, paced: bool, to: str | None) -> tuple[str, list[dict]]:
        """One worker call of a run (RUN_CHUNK macrosteps at most); its frames are sent."""
        consumer = self.consumer
        bucket = consumer.bucket()
        while not await bucket.take():  # a run is the user's steps too: it waits for its share
            await asyncio.sleep(bucket.wait())
        entry = consumer.entry
        runtime = entry.runtime

        def chunk() -> tuple[list[dict], str, list[dict]]:
            _records, reason, hits = runtime.run_chunk(RUN_CHUNK, paced, to)
            return runtime.frames(), reason, hits

        async with entry.lock:
            frames, reason, hits = await sessions.execute(runtime, chunk)
            await consumer.save()  # the chunk's operations, in one write, before its frames
            frames = await consumer.state_frames(frames=frames, running=True)
        await consumer.frames(frames)
        return reason, hits

    async def _run_fast(self, to: str | None) -> tuple[str, list[dict]]:
        while True:
            reason, hits = await self._chunk(False, to)
            if reason != "more":
                return reason, hits

    async def _run_paced(self, speed: float, to: str | None) -> tuple[str, list[dict]]:
        """Virtual time flows at `speed` x wall clock: between timers, wait for the next one in
        slices of at most MAX_PACED_WAIT so the clock display keeps moving."""
        consumer = self.consumer
        entry = consumer.entry
        runtime = entry.runtime
        while True:
            reason, hits = await self._chunk(True, to)
            if reason == "more":
                continue
            if reason != "wait":
                return reason, hits
            wait = (runtime.next_timer() - runtime.run.group.clock.now) / speed
            if wait > MAX_PACED_WAIT:
                await asyncio.sleep(MAX_PACED_WAIT)
                op = {"op": "advance", "seconds": MAX_PACED_WAIT * speed}
            else:
                await asyncio.sleep(max(0.0, wait))
                op = {"op": "step", "unit": "macro"}
            async with entry.lock:
                frames, hits = await sessions.execute(runtime, runtime.apply_and_hits, op, to)
                await consumer.save()
                frames = await consumer.state_frames(frames=frames, running=True)
            await consumer.frames(frames)
            if hits:
                return "breakpoint", hits
