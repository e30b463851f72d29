"""Websocket consumers: thin JSON protocols over the simulator's session manager."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from designer.permissions import AuthenticationRequired, get_version_for_user, session_share_tokens
from simulator import sessions
from simulator.models import Simulation
from simulator.ors.fakes import FakesError

logger = logging.getLogger(__name__)


class PingConsumer(AsyncJsonWebsocketConsumer):
    """Proves the channel layer end to end: a ping is broadcast to a group and echoed as a pong.

    Going through the group (not replying directly) is what makes it a channel-layer test: with
    Redis, a member connected to another Daphne process receives the same message.
    """

    group = "ping"

    async def connect(self) -> None:
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: dict, **kwargs) -> None:
        if not isinstance(content, dict) or content.get("type") != "ping":
            await self.send_json({"type": "error", "message": 'expected {"type": "ping", "id": ...}'})
            return
        await self.channel_layer.group_send(self.group, {"type": "ping.broadcast", "id": content.get("id")})

    async def ping_broadcast(self, event: dict) -> None:
        await self.send_json({"type": "pong", "id": event.get("id")})


# -- simulations ----------------------------------------------------------------------------------

#: macrosteps per worker call during a fast `run` (frames are sent between chunks, so a `pause`
#: is served within one chunk)
RUN_CHUNK = 25
#: seconds between saves of the inputs log while a simulation is being driven
SAVE_DELAY = 2.0
#: longest wall-clock pause of a paced run before it re-checks (virtual timers can be far away)
MAX_PACED_WAIT = 5.0

CONTROL_ACTIONS = {"start", "step", "run", "pause", "inject", "respond", "set_fakes", "advance"}
CONTROL_ACTIONS |= {"set_breakpoints", "rewind", "restart", "share"}
#: operations that go to the inputs log through SimulationRuntime.apply
OP_ACTIONS = {"step", "inject", "respond", "set_fakes", "advance"}


def group_name(simulation_id: int) -> str:
    """The channel-layer group of a simulation's sockets.

    Keyed by the database too: processes sharing a Redis but not a database (parallel test runs,
    two deployments) never see each other's simulations.
    """
    database = hashlib.sha1(str(settings.DATABASES["default"].get("NAME")).encode()).hexdigest()[:10]
    return f"simulation-{database}-{simulation_id}"


class _Refused(Exception):
    """The user may not open this simulation (close code 4403/4404) or the request is bad."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class SimulationConsumer(AsyncJsonWebsocketConsumer):
    """``ws/simulations/`` and ``ws/simulations/<id>/``: the simulation protocol (docs/simulation-protocol.md).

    The owner drives the simulation; team members who can view the version watch a shared one
    read-only (frames reach them through the channel-layer group ``simulation-<id>``, so a watcher
    connected to another Daphne process sees the same thing). Every step runs in the bounded
    worker pool of ``simulator.sessions``; this class only validates, forwards and persists.
    """

    simulation_id: int | None = None
    saved_key: tuple | None = None
    readonly = False
    entry: sessions.Entry | None = None

    # ---- connection -------------------------------------------------------------------------

    async def connect(self) -> None:
        self.run_task: asyncio.Task | None = None
        self.save_task: asyncio.Task | None = None
        self.shared = False
        self.group_name: str | None = None
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        sim_id = self.scope["url_route"]["kwargs"].get("simulation_id")
        if sim_id is None:
            await self.accept()
            await self.send_json({"type": "hello", "simulation": None, "readonly": False})
            return
        try:
            simulation, role = await self._load(int(sim_id))
        except _Refused as exc:
            await self.close(code=exc.code)
            return
        await self.accept()
        await self._attach(simulation, role)

    async def disconnect(self, code: int) -> None:
        if self.run_task is not None:
            self.run_task.cancel()
        await self._detach()

    async def _detach(self) -> None:
        if self.save_task is not None:
            self.save_task.cancel()
            self.save_task = None
        if self.group_name is not None:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)
            self.group_name = None
        if self.simulation_id is None or self.entry is None:
            return
        if not self.readonly:
            await self._save()
        dropped = sessions.registry.release(self.simulation_id)
        if dropped is not None:
            await sessions.execute(dropped.runtime, dropped.runtime.close)
        self.entry = None
        self.simulation_id = None

    @database_sync_to_async
    def _load(self, simulation_id: int) -> tuple[Simulation, str]:
        """The simulation and the role of this user ("owner" or "watcher"), or _Refused."""
        try:
            return sessions.get_simulation_for_user(
                self.scope.get("user"), simulation_id, session_share_tokens(self.scope.get("session"))
            )
        except (Http404, AuthenticationRequired) as exc:
            raise _Refused(4404, "no such simulation") from exc
        except PermissionDenied as exc:
            raise _Refused(4403, str(exc)) from exc

    async def _attach(self, simulation: Simulation, role: str) -> None:
        """Bind this socket to a simulation: live runtime (or rebuilt by replay), then full state."""
        self.simulation_id = simulation.pk
        self.readonly = role == "watcher"
        self.shared = simulation.shared
        self.group_name = group_name(simulation.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        entry = sessions.registry.get(simulation.pk)
        if entry is None:
            try:
                runtime = await sessions.execute(None, sessions.build_runtime, simulation)
            except sessions.SimulationError as exc:
                await self.send_json({"type": "error", "message": str(exc), "fatal": True})
                return
            entry = sessions.registry.acquire(simulation.pk, runtime)
        else:
            entry = sessions.registry.acquire(simulation.pk, entry.runtime)
        self.entry = entry
        version = simulation.version
        await self.send_json(
            {
                "type": "hello",
                "simulation": simulation.pk,
                "version": version.pk,
                "project": version.project.name,
                "label": version.label,
                "role": role,
                "readonly": self.readonly,
                "shared": simulation.shared,
            }
        )
        await self._send_reset()

    # ---- frames -----------------------------------------------------------------------------

    async def _frames(self, frames: list[dict]) -> None:
        """Send frames to this socket and, when others may watch, to the simulation's group."""
        for frame in frames:
            await self.send_json(frame)
        if self.group_name and (self.shared or (self.entry is not None and self.entry.refs > 1)):
            await self.channel_layer.group_send(
                self.group_name, {"type": "simulation.frames", "frames": frames, "sender": self.channel_name}
            )

    async def simulation_frames(self, event: dict) -> None:
        """Frames another socket of this simulation produced (watchers, the owner's other tabs)."""
        if event.get("sender") != self.channel_name:
            for frame in event["frames"]:
                await self.send_json(frame)

    async def _state_frames(
        self, records: list[dict], reply_to: Any = None, snapshot: dict | None = None, **extra: Any
    ) -> list[dict]:
        runtime = self.entry.runtime
        if snapshot is None:
            snapshot = await sessions.execute(runtime, runtime.snapshot)
        snapshot.update(extra)
        if reply_to is not None:
            snapshot["reply_to"] = reply_to
        frames = [{"type": "trace", "records": records}] if records else []
        frames.append(snapshot)
        return frames

    async def _send_reset(self, reply_to: Any = None) -> None:
        """The whole trace since the start and the snapshot (connect, rewind, restart)."""
        runtime = self.entry.runtime
        records = await sessions.execute(runtime, lambda: list(runtime.records))
        snapshot = await sessions.execute(runtime, runtime.snapshot)
        if reply_to is not None:
            snapshot["reply_to"] = reply_to
        snapshot["running"] = self.run_task is not None
        await self._frames([{"type": "reset", "records": records}, snapshot])

    async def _error(self, message: str, content: Any = None) -> None:
        frame: dict[str, Any] = {"type": "error", "message": message}
        if isinstance(content, dict):
            if content.get("action") is not None:
                frame["action"] = content.get("action")
            if content.get("id") is not None:
                frame["reply_to"] = content.get("id")
        await self.send_json(frame)

    # ---- messages -----------------------------------------------------------------------------

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        # Compact: snapshots and trace batches are the bulk of the traffic.
        return json.dumps(content, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return json.loads(text_data)
        except ValueError as exc:
            return _BadJSON(str(exc))

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # One bad message never ends the connection or the simulation: every failure is a frame.
        try:
            await self._dispatch(content)
        except (sessions.OpError, sessions.SimulationError, FakesError) as exc:
            await self._error(str(exc), content)
        except Exception as exc:  # a bug must not kill the socket either; say what happened
            logger.exception("simulation %s: %r failed", self.simulation_id, content)
            await self._error(f"internal error: {type(exc).__name__}: {exc}", content)

    async def _dispatch(self, content: Any) -> None:
        if isinstance(content, _BadJSON):
            await self._error(f"not JSON: {content.problem}")
            return
        if not isinstance(content, dict) or not isinstance(content.get("action"), str):
            await self._error('expected a JSON object with an "action" field')
            return
        action = content["action"]
        reply_to = content.get("id")
        if action == "snapshot":
            if self.entry is None:
                raise sessions.OpError("no simulation is open on this connection: send start")
            await self._frames_to_self(await self._state_frames([], reply_to, running=self.run_task is not None))
            return
        if action not in CONTROL_ACTIONS:
            raise sessions.OpError(f"unknown action {action!r}")
        if self.readonly:
            raise sessions.OpError("read-only: you are watching another user's simulation")
        if action == "start":
            await self._start(content)
            return
        if self.entry is None:
            raise sessions.OpError("no simulation is open on this connection: send start with a version")
        entry = self.entry
        runtime = entry.runtime
        if action in OP_ACTIONS:
            op = sessions.parse_op(content)
            if op["op"] == "step":
                await self._stop_run()
            async with entry.lock:
                # one trip to the worker pool per step: the operation and the snapshot after it
                records, snapshot = await sessions.execute(runtime, runtime.apply_and_snapshot, op)
                frames = await self._state_frames(records, reply_to, snapshot, running=self.run_task is not None)
            await self._frames(frames)
            self._schedule_save()
        elif action == "run":
            speed = content.get("speed")
            if speed is not None and (isinstance(speed, bool) or not isinstance(speed, (int, float)) or speed <= 0):
                raise sessions.OpError(
                    "run speed must be a positive number (times the wall clock) or null (as fast as possible)"
                )
            await self._stop_run()
            self.run_task = asyncio.create_task(self._run(float(speed) if speed else None, reply_to))
            await self._frames([{"type": "running", "speed": speed, "reply_to": reply_to}])
        elif action == "pause":
            stopped = await self._stop_run()
            await self._save()  # a paused simulation is persisted: any process can resume it now
            async with entry.lock:
                frames = await self._state_frames([], reply_to, running=False)
            await self._frames([{"type": "paused", "reason": "pause" if stopped else "not running"}, *frames])
        elif action == "set_breakpoints":
            breakpoints = sessions.Breakpoints.from_json(content.get("breakpoints"))
            async with entry.lock:
                runtime.breakpoints = breakpoints
            await self._store_breakpoints(breakpoints.to_json())
            await self._frames([{"type": "breakpoints", "breakpoints": breakpoints.to_json(), "reply_to": reply_to}])
        elif action == "rewind":
            seq = content.get("seq")
            if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
                raise sessions.OpError("rewind needs seq: the trace record number to go back to")
            await self._stop_run()
            async with entry.lock:
                await sessions.execute(runtime, runtime.rewind, seq)
            await self._send_reset(reply_to)
            self._schedule_save()
        elif action == "restart":
            await self._stop_run()
            async with entry.lock:
                await sessions.execute(runtime, runtime.restart)
            await self._send_reset(reply_to)
            self._schedule_save()
        elif action == "share":
            shared = content.get("shared")
            if not isinstance(shared, bool):
                raise sessions.OpError("share needs shared: true or false")
            await self._set_shared(shared)
            self.shared = shared
            await self._frames([{"type": "shared", "shared": shared, "reply_to": reply_to}])

    async def _frames_to_self(self, frames: list[dict]) -> None:
        for frame in frames:
            await self.send_json(frame)

    # ---- start / restart with a new recipe ----------------------------------------------------

    async def _start(self, content: dict) -> None:
        seed = content.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise sessions.OpError("seed must be an integer")
        await self._stop_run()
        if self.entry is None:
            version_id = content.get("version")
            if isinstance(version_id, bool) or not isinstance(version_id, int):
                raise sessions.OpError("start needs version: the id of the version to simulate")
            simulation = await self._create(version_id, content.get("fakes"), content.get("interaction"), seed)
            await self.send_json({"type": "started", "simulation": simulation.pk, "reply_to": content.get("id")})
            await self._attach(simulation, "owner")
            return
        # A new recipe for this simulation: restart with those fakes/seed.
        runtime = self.entry.runtime
        fakes, source = sessions.resolve_fakes(
            runtime.files, content.get("fakes", runtime.fakes), content.get("interaction")
        )
        async with self.entry.lock:
            await sessions.execute(runtime, runtime.restart, fakes, seed)
        await self._save(fakes_source=source)
        await self._send_reset(content.get("id"))

    @database_sync_to_async
    def _create(self, version_id: int, fakes: Any, interaction: Any, seed: int) -> Simulation:
        try:
            version = get_version_for_user(
                self.scope.get("user"), version_id, session_share_tokens(self.scope.get("session"))
            )
        except (Http404, PermissionDenied, AuthenticationRequired) as exc:
            raise sessions.OpError(f"no version {version_id} you may simulate") from exc
        files, _ = sessions.version_files(version)
        data, source = sessions.resolve_fakes(files, fakes, interaction)
        return Simulation.objects.create(
            owner=self.scope["user"], version=version, fakes=data, fakes_source=source, seed=seed
        )

    # ---- run ----------------------------------------------------------------------------------

    async def _stop_run(self) -> bool:
        """Cancel a run in progress (waits for its current chunk); True if one was running."""
        task, self.run_task = self.run_task, None
        if task is None:
            return False
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return True

    async def _run(self, speed: float | None, reply_to: Any) -> None:
        """Macrosteps until a breakpoint, the end or idleness; paced by `speed` times the wall clock."""
        entry = self.entry
        runtime = entry.runtime
        reason, hits = "idle", []
        try:
            while True:
                async with entry.lock:
                    records, reason, hits = await sessions.execute(
                        runtime, runtime.run_chunk, RUN_CHUNK, speed is not None
                    )
                    frames = await self._state_frames(records, running=True)
                await self._frames(frames)
                self._schedule_save()
                if reason == "more":
                    continue
                if reason == "wait" and speed is not None:
                    # Virtual time flows at `speed` x wall clock: wait for the next timer, in
                    # slices of at most MAX_PACED_WAIT so the clock display keeps moving.
                    wait = (runtime.next_timer() - runtime.run.group.clock.now) / speed
                    if wait > MAX_PACED_WAIT:
                        await asyncio.sleep(MAX_PACED_WAIT)
                        op = {"op": "advance", "seconds": MAX_PACED_WAIT * speed}
                    else:
                        await asyncio.sleep(max(0.0, wait))
                        op = {"op": "step", "unit": "macro"}
                    async with entry.lock:
                        records = await sessions.execute(runtime, runtime.apply, op)
                        hits = runtime.breakpoints.hits(records)
                        frames = await self._state_frames(records, running=True)
                    await self._frames(frames)
                    if hits:
                        reason = "breakpoint"
                        break
                    continue
                break
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("simulation %s: run failed", self.simulation_id)
            await self._error(f"the run stopped: {type(exc).__name__}: {exc}")
            reason = "error"
        if self.run_task is asyncio.current_task():
            self.run_task = None
        await self._frames([{"type": "paused", "reason": reason, "hits": hits, "reply_to": reply_to}])

    # ---- persistence --------------------------------------------------------------------------

    def _schedule_save(self) -> None:
        if self.save_task is None or self.save_task.done():
            self.save_task = asyncio.create_task(self._save_later())

    async def _save_later(self) -> None:
        await asyncio.sleep(SAVE_DELAY)
        await self._save()

    async def _save(self, fakes_source: str | None = None) -> None:
        if self.entry is None or self.simulation_id is None:
            return
        runtime = self.entry.runtime
        # Plain reads of the runtime from the event loop: copying a list under the GIL is atomic
        # and a stale read only means the next save writes the newer state.
        # the recipe's fakes: `set_fakes` operations are in the inputs log and replay on top of it
        inputs, fakes, seed = list(runtime.inputs), dict(runtime.base_fakes), runtime.seed
        key = (id(runtime), runtime.revision)
        if key == self.saved_key and fakes_source is None:
            return
        await self._store(self.simulation_id, inputs, fakes, seed, fakes_source)
        self.saved_key = key

    @database_sync_to_async
    def _store(self, simulation_id: int, inputs: list, fakes: dict, seed: int, fakes_source: str | None) -> None:
        fields: dict[str, Any] = {"inputs": inputs, "fakes": fakes, "seed": seed, "updated_at": timezone.now()}
        if fakes_source is not None:
            fields["fakes_source"] = fakes_source
        Simulation.objects.filter(pk=simulation_id).update(**fields)

    @database_sync_to_async
    def _store_breakpoints(self, breakpoints: dict) -> None:
        Simulation.objects.filter(pk=self.simulation_id).update(breakpoints=breakpoints)

    @database_sync_to_async
    def _set_shared(self, shared: bool) -> None:
        Simulation.objects.filter(pk=self.simulation_id).update(shared=shared)


class _BadJSON:
    """A text frame that is not JSON (answered with an error frame, never a disconnect)."""

    def __init__(self, problem: str):
        self.problem = problem
