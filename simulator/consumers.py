"""Websocket consumers: thin JSON protocols over the simulator's session manager.

``SimulationConsumer`` looks every client message up in ``simulator.protocol.ACTIONS``, validates
it against the action's JSON schema and calls the one handler of that action (``HANDLERS``).
Limits that protect the process from one user (docs/simulation-protocol.md, "Limits"): a message
size checked before JSON parsing, a per-user number of open simulations and a per-user rate of
actions. Access taken away (unsharing, a member removed, a share link revoked) reaches open
sockets on every process through the channel-layer group ``access_group()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from designer.permissions import AuthenticationRequired, get_version_for_user, session_share_tokens
from simulator import protocol, sessions
from simulator.breakpoints import Breakpoints
from simulator.models import Simulation
from simulator.ors.fakes import FakesError
from simulator.protocol import OpError

logger = logging.getLogger(__name__)

#: close codes (docs/simulation-protocol.md, "Access")
NOT_LOGGED_IN, FORBIDDEN, NOT_FOUND, TOO_MANY = 4401, 4403, 4404, 4429


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up: `take()` is False when none is left."""

    def __init__(self, rate: float, burst: float):
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()  # rate limiting of the live socket, never of the simulation

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def wait(self) -> float:
        """Seconds until a token is available (0 when one is)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


def _database_key() -> str:
    """Channel-layer groups are keyed by the database too: processes sharing a Redis but not a
    database (parallel test runs, two deployments) never see each other's messages."""
    return hashlib.sha1(str(settings.DATABASES["default"].get("NAME")).encode()).hexdigest()[:10]


class _Oversized(Exception):
    """A text frame over ``settings.WS_MAX_MESSAGE_BYTES`` (refused before it is parsed)."""


class _JsonProtocol(AsyncJsonWebsocketConsumer):
    """JSON frames with a size limit enforced before parsing, compact output, and no disconnect
    for a bad frame (every failure is answered with an error frame)."""

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

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        limit = settings.WS_MAX_MESSAGE_BYTES
        if text_data is None:
            await self.send_json({"type": "error", "message": "binary frames are not part of this protocol"})
            return
        # A UTF-8 character is 1 to 4 bytes: measure exactly only when the length is ambiguous.
        size = len(text_data) if len(text_data) > limit or 4 * len(text_data) <= limit else len(text_data.encode())
        if size > limit:
            await self.send_json(
                {
                    "type": "error",
                    "message": f"message too large: {size:,} bytes (the limit is {limit:,}); it was not read",
                }
            )
            return
        await self.receive_json(await self.decode_json(text_data), **kwargs)


class PingConsumer(_JsonProtocol):
    """Proves the channel layer end to end: a ping comes back as a pong through the layer.

    Everyone's pong is sent to their own channel through the layer (what the page needs: its live
    connection works). Signed-in users' pings are also broadcast to the group (with Redis, members
    connected to another Daphne process receive them), at most ``PING_RATE`` per second per socket
    with a burst of ``PING_BURST``: anonymous visitors cannot make every open page receive their
    messages.
    """

    group = "ping"
    PING_RATE = 1.0
    PING_BURST = 5

    async def connect(self) -> None:
        self.bucket = TokenBucket(self.PING_RATE, self.PING_BURST)
        user = self.scope.get("user")
        self.signed_in = bool(user is not None and user.is_authenticated)
        if self.signed_in:
            await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.signed_in:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "ping":
            await self.send_json({"type": "error", "message": 'expected {"type": "ping", "id": ...}'})
            return
        if not self.bucket.take():
            await self.send_json({"type": "error", "message": f"too many pings: at most {self.PING_RATE:g} per second"})
            return
        message = {"type": "ping.broadcast", "id": content.get("id")}
        if self.signed_in:
            await self.channel_layer.group_send(self.group, message)
        else:
            await self.channel_layer.send(self.channel_name, message)

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


def group_name(simulation_id: int) -> str:
    """The channel-layer group of a simulation's sockets."""
    return f"simulation-{_database_key()}-{simulation_id}"


def access_group() -> str:
    """The channel-layer group of every bound simulation socket: told when access may have changed."""
    return f"simulation-access-{_database_key()}"


async def access_changed(*, simulation: int | None = None, team: int | None = None, version: int | None = None) -> None:
    """Make the open sockets concerned (on every process) check their access again now.

    Sockets of that simulation, of a version of that team, or of that version re-run the access
    check and close (4403/4404) when it fails. Called after the change is committed.
    """
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(
            access_group(), {"type": "simulation.access", "simulation": simulation, "team": team, "version": version}
        )


class _Refused(Exception):
    """The user may not open this simulation (close code 4403/4404) or the request is bad."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class _Bound:
    """What an access check of a bound socket compares with: its simulation, version and team."""

    simulation: int
    version: int
    team: int


Handler = Callable[["SimulationConsumer", dict], Awaitable[None]]


class SimulationConsumer(_JsonProtocol):
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
    bound: _Bound | None = None

    #: per process: user id -> simulation id -> sockets of that user on it (the open-simulations quota)
    open_by_user: ClassVar[defaultdict[int, Counter[int]]] = defaultdict(Counter)
    #: per process: user id -> their rate of actions
    buckets: ClassVar[dict[int, TokenBucket]] = {}
    #: action name -> handler (every action of simulator.protocol.ACTIONS has exactly one)
    HANDLERS: ClassVar[dict[str, Handler]]

    # ---- connection -------------------------------------------------------------------------

    async def connect(self) -> None:
        self.run_task: asyncio.Task | None = None
        self.save_task: asyncio.Task | None = None
        self.shared = False
        self.group_name: str | None = None
        # Refusals are sent after the handshake: a close before accept() is an HTTP 403 to the
        # browser, which then sees code 1006 and never the documented 4401/4403/4404.
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(NOT_LOGGED_IN, "log in to use simulations")
            return
        sim_id = self.scope["url_route"]["kwargs"].get("simulation_id")
        if sim_id is None:
            await self.send_json({"type": "hello", "simulation": None, "readonly": False})
            return
        try:
            simulation, role = await self._load(int(sim_id))
            self._claim(simulation.pk)
        except _Refused as exc:
            await self._refuse(exc.code, exc.message)
            return
        await self._attach(simulation, role)

    async def _refuse(self, code: int, message: str) -> None:
        await self.send_json({"type": "error", "message": message, "fatal": True, "code": code})
        await self.close(code=code)

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
            await self.channel_layer.group_discard(access_group(), self.channel_name)
            self.group_name = None
        if self.simulation_id is None:
            return
        self._unclaim(self.simulation_id)
        if self.entry is not None:
            if not self.readonly:
                await self._save()
            dropped = sessions.registry.release(self.simulation_id)
            if dropped is not None:
                await sessions.execute(dropped.runtime, dropped.runtime.close)
        self.entry = None
        self.simulation_id = None
        self.bound = None

    # ---- per-user quotas (this process) ---------------------------------------------------------

    def _user_id(self) -> int:
        return self.scope["user"].pk

    def _check_quota(self, simulation_id: int | None) -> None:
        """_Refused (4429) when opening `simulation_id` (None: a new one) exceeds the user's quota."""
        opened = self.open_by_user.get(self._user_id(), Counter())
        limit = settings.SIMULATION_MAX_OPEN_PER_USER
        if simulation_id not in opened and len(opened) >= limit:
            raise _Refused(TOO_MANY, f"you have {len(opened)} simulations open (the limit is {limit}): close one first")

    def _claim(self, simulation_id: int) -> None:
        """Count this socket against the user's open simulations (_Refused 4429 over the quota)."""
        self._check_quota(simulation_id)
        self.open_by_user[self._user_id()][simulation_id] += 1

    def _unclaim(self, simulation_id: int) -> None:
        opened = self.open_by_user[self._user_id()]
        opened[simulation_id] -= 1
        if opened[simulation_id] <= 0:
            del opened[simulation_id]
        if not opened:
            del self.open_by_user[self._user_id()]

    def _bucket(self) -> TokenBucket:
        rate = settings.SIMULATION_STEPS_PER_SECOND
        bucket = self.buckets.get(self._user_id())
        if bucket is None or bucket.rate != rate:
            bucket = self.buckets[self._user_id()] = TokenBucket(rate, 2 * rate)
        return bucket

    # ---- binding to a simulation --------------------------------------------------------------

    @database_sync_to_async
    def _load(self, simulation_id: int) -> tuple[Simulation, str]:
        """The simulation and the role of this user ("owner" or "watcher"), or _Refused."""
        try:
            return sessions.get_simulation_for_user(
                self.scope.get("user"), simulation_id, session_share_tokens(self.scope.get("session"))
            )
        except (Http404, AuthenticationRequired) as exc:
            raise _Refused(NOT_FOUND, "no such simulation") from exc
        except PermissionDenied as exc:
            raise _Refused(FORBIDDEN, str(exc)) from exc

    async def _attach(self, simulation: Simulation, role: str) -> None:
        """Bind this socket to a simulation: live runtime (or rebuilt by replay), then full state."""
        self.simulation_id = simulation.pk
        self.readonly = role == "watcher"
        self.shared = simulation.shared
        version = simulation.version
        self.bound = _Bound(simulation.pk, version.pk, version.project.team_id)
        self.group_name = group_name(simulation.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.channel_layer.group_add(access_group(), self.channel_name)
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

    async def simulation_access(self, event: dict) -> None:
        """Access may have changed (group message): check again, close the socket if it is gone."""
        bound = self.bound
        if bound is None or not (
            (event.get("simulation") is None or event["simulation"] == bound.simulation)
            and (event.get("team") is None or event["team"] == bound.team)
            and (event.get("version") is None or event["version"] == bound.version)
        ):
            return
        try:
            _, role = await self._load(bound.simulation)
        except _Refused as exc:
            await self._stop_run()
            await self._refuse(exc.code, f"your access to this simulation was withdrawn: {exc.message}")
            return
        if role == "watcher" and not self.readonly:  # the owner changed: downgrade
            await self._stop_run()
            self.readonly = True
            await self.send_json({"type": "hello", "simulation": bound.simulation, "role": role, "readonly": True})

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

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # One bad message never ends the connection or the simulation: every failure is a frame.
        try:
            await self._dispatch(content)
        except (OpError, sessions.SimulationError, FakesError) as exc:
            await self._error(str(exc), content)
        except Exception as exc:  # a bug must not kill the socket either; say what happened
            logger.exception("simulation %s: %r failed", self.simulation_id, content)
            await self._error(f"internal error: {type(exc).__name__}: {exc}", content)

    async def _dispatch(self, content: Any) -> None:
        if isinstance(content, _BadJSON):
            raise OpError(f"not JSON: {content.problem}")
        action = protocol.action_of(content)
        if self.readonly and not action.watchers:
            raise OpError("read-only: you are watching another user's simulation")
        if self.entry is None and action.name != "start":
            raise OpError("no simulation is open on this connection: send start with a version")
        protocol.validate(content)
        bucket = self._bucket()
        if not bucket.take():
            raise OpError(
                f"too many actions: at most {settings.SIMULATION_STEPS_PER_SECOND} per second per user "
                f"(this one was not applied; retry in {bucket.wait():.2f} s)"
            )
        await self.HANDLERS[action.name](self, content)

    async def _frames_to_self(self, frames: list[dict]) -> None:
        for frame in frames:
            await self.send_json(frame)

    # ---- handlers (one per action) --------------------------------------------------------------

    async def _on_snapshot(self, content: dict) -> None:
        await self._frames_to_self(await self._state_frames([], content.get("id"), running=self.run_task is not None))

    async def _on_operation(self, content: dict) -> None:
        """step, inject, respond, set_fakes, advance: one operation of the inputs log."""
        op = protocol.ACTIONS[content["action"]].op(content)
        if op["op"] == "step":
            await self._stop_run()
        entry = self.entry
        runtime = entry.runtime
        async with entry.lock:
            # one trip to the worker pool per step: the operation and the snapshot after it
            records, snapshot = await sessions.execute(runtime, runtime.apply_and_snapshot, op)
            frames = await self._state_frames(records, content.get("id"), snapshot, running=self.run_task is not None)
        await self._frames(frames)
        self._schedule_save()

    async def _on_eval(self, content: dict) -> None:
        """The console: an operation for the owner, an evaluation on a copy for watchers."""
        runtime = self.entry.runtime
        reply_to = content.get("id")
        frame = {"type": "eval", "expression": content["expression"], "copy": self.readonly}
        if self.readonly:
            result = await sessions.execute(runtime, runtime.evaluate_on_copy, content["expression"])
            await self.send_json({**frame, **result, "reply_to": reply_to})
            return
        await self._stop_run()
        op = protocol.ACTIONS["eval"].op(content)
        async with self.entry.lock:
            records, snapshot = await sessions.execute(runtime, runtime.apply_and_snapshot, op)
            result = dict(runtime.last_eval)
            frames = await self._state_frames(records, reply_to, snapshot, running=False)
        await self.send_json({**frame, **result, "reply_to": reply_to})
        await self._frames(frames)
        self._schedule_save()

    async def _on_set_watches(self, content: dict) -> None:
        watches = list(content["watches"])
        async with self.entry.lock:
            self.entry.runtime.watches = watches
            frames = await self._state_frames([], content.get("id"), running=self.run_task is not None)
        await self._store_fields(watches=watches)
        await self._frames([{"type": "watches", "watches": watches, "reply_to": content.get("id")}, *frames])

    async def _on_run(self, content: dict) -> None:
        speed = content.get("speed")
        await self._stop_run()
        self.run_task = asyncio.create_task(
            self._run(float(speed) if speed else None, content.get("id"), content.get("to"))
        )
        await self._frames([{"type": "running", "speed": speed, "reply_to": content.get("id")}])

    async def _on_pause(self, content: dict) -> None:
        stopped = await self._stop_run()
        await self._save()  # a paused simulation is persisted: any process can resume it now
        async with self.entry.lock:
            frames = await self._state_frames([], content.get("id"), running=False)
        await self._frames([{"type": "paused", "reason": "pause" if stopped else "not running"}, *frames])

    async def _on_set_breakpoints(self, content: dict) -> None:
        breakpoints = Breakpoints.from_json(content.get("breakpoints"))
        async with self.entry.lock:
            self.entry.runtime.breakpoints = breakpoints
        await self._store_fields(breakpoints=breakpoints.to_json())
        await self._frames(
            [{"type": "breakpoints", "breakpoints": breakpoints.to_json(), "reply_to": content.get("id")}]
        )

    async def _on_rewind(self, content: dict) -> None:
        await self._stop_run()
        runtime = self.entry.runtime
        async with self.entry.lock:
            await sessions.execute(runtime, runtime.rewind, content["seq"])
        await self._send_reset(content.get("id"))
        self._schedule_save()

    async def _on_restart(self, content: dict) -> None:
        await self._stop_run()
        runtime = self.entry.runtime
        async with self.entry.lock:
            await sessions.execute(runtime, runtime.restart)
        await self._send_reset(content.get("id"))
        self._schedule_save()

    async def _on_share(self, content: dict) -> None:
        shared = content["shared"]
        await self._set_shared(shared)
        self.shared = shared
        await self._frames([{"type": "shared", "shared": shared, "reply_to": content.get("id")}])
        if not shared:
            await access_changed(simulation=self.simulation_id)

    async def _on_start(self, content: dict) -> None:
        seed = content.get("seed", 0)
        await self._stop_run()
        if self.entry is None:
            version_id = content.get("version")
            if version_id is None:
                raise OpError("start needs version: the id of the version to simulate")
            try:
                self._check_quota(None)
            except _Refused as exc:
                raise OpError(exc.message) from exc
            simulation = await self._create(version_id, content.get("fakes"), content.get("interaction"), seed)
            self._claim(simulation.pk)
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
            raise OpError(f"no version {version_id} you may simulate") from exc
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

    async def _run(self, speed: float | None, reply_to: Any, to: str | None = None) -> None:
        """Macrosteps until a breakpoint (or the state `to`), the end or idleness; paced by `speed`
        times the wall clock."""
        try:
            reason, hits = await (self._run_paced(speed, to) if speed is not None else self._run_fast(to))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("simulation %s: run failed", self.simulation_id)
            await self._error(f"the run stopped: {type(exc).__name__}: {exc}")
            reason, hits = "error", []
        if self.run_task is asyncio.current_task():
            self.run_task = None
        await self._frames([{"type": "paused", "reason": reason, "hits": hits, "reply_to": reply_to}])

    async def _chunk(self, paced: bool, to: str | None) -> tuple[str, list[dict]]:
        """One worker call of a run (RUN_CHUNK macrosteps at most); its frames are sent."""
        bucket = self._bucket()
        while not bucket.take():  # a run is the user's steps too: it waits for its share
            await asyncio.sleep(bucket.wait())
        entry = self.entry
        runtime = entry.runtime
        async with entry.lock:
            records, reason, hits = await sessions.execute(runtime, runtime.run_chunk, RUN_CHUNK, paced, to)
            frames = await self._state_frames(records, running=True)
        await self._frames(frames)
        self._schedule_save()
        return reason, hits

    async def _run_fast(self, to: str | None) -> tuple[str, list[dict]]:
        while True:
            reason, hits = await self._chunk(False, to)
            if reason != "more":
                return reason, hits

    async def _run_paced(self, speed: float, to: str | None) -> tuple[str, list[dict]]:
        """Virtual time flows at `speed` x wall clock: between timers, wait for the next one in
        slices of at most MAX_PACED_WAIT so the clock display keeps moving."""
        entry = self.entry
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
                records, hits = await sessions.execute(runtime, runtime.apply_and_hits, op, to)
                frames = await self._state_frames(records, running=True)
            await self._frames(frames)
            if hits:
                return "breakpoint", hits

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
    def _store_fields(self, **fields: Any) -> None:
        Simulation.objects.filter(pk=self.simulation_id).update(**fields)

    @database_sync_to_async
    def _set_shared(self, shared: bool) -> None:
        Simulation.objects.filter(pk=self.simulation_id).update(shared=shared)


SimulationConsumer.HANDLERS = {
    "start": SimulationConsumer._on_start,
    "step": SimulationConsumer._on_operation,
    "run": SimulationConsumer._on_run,
    "pause": SimulationConsumer._on_pause,
    "inject": SimulationConsumer._on_operation,
    "respond": SimulationConsumer._on_operation,
    "set_fakes": SimulationConsumer._on_operation,
    "advance": SimulationConsumer._on_operation,
    "set_breakpoints": SimulationConsumer._on_set_breakpoints,
    "rewind": SimulationConsumer._on_rewind,
    "restart": SimulationConsumer._on_restart,
    "share": SimulationConsumer._on_share,
    "snapshot": SimulationConsumer._on_snapshot,
    "eval": SimulationConsumer._on_eval,
    "set_variable": SimulationConsumer._on_operation,
    "set_watches": SimulationConsumer._on_set_watches,
}


class _BadJSON:
    """A text frame that is not JSON (answered with an error frame, never a disconnect)."""

    def __init__(self, problem: str):
        self.problem = problem
