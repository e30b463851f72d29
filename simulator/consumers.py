"""Websocket consumers: thin JSON protocols over the simulator's session manager.

``SimulationConsumer`` looks every client message up in ``simulator.protocol.ACTIONS``, validates
it against the action's JSON schema and calls the one handler of that action (``HANDLERS``).
Limits that protect the process from one user (docs/simulation-protocol.md, "Limits"): a message
size checked before JSON parsing, a per-user number of open simulations and a per-user rate of
actions (``simulator.quotas``: shared by every process when scaled). Access taken away
(unsharing, a member removed, a share link revoked) reaches open sockets on every process through
the channel-layer group ``access_group()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable
from typing import Any, ClassVar

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import Http404

from designer.permissions import AuthenticationRequired, session_share_tokens
from simulator import batches, protocol, sessions
from simulator.access import (
    FORBIDDEN,
    NOT_FOUND,
    NOT_LOGGED_IN,
    TOO_MANY,
    Bound,
    Refused,
    access_group,
    batch_group_name,
    group_name,
)
from simulator.frames import encode
from simulator.handlers import HANDLERS, Handler
from simulator.models import BatchRun, Simulation
from simulator.ors.fakes import FakesError
from simulator.pacing import RunLoop
from simulator.persistence import PROCESS_ID, Conflict, SimulationStore, Stored, load_simulation, read_simulation
from simulator.protocol import OpError
from simulator.quotas import TokenBucket, TooMany, quotas
from simulator.scheduling import HANDED_OVER

logger = logging.getLogger(__name__)


class ActionRate:
    """The user's rate of actions as seen by one socket (`take()`, then `wait()` when refused),
    counted by `simulator.quotas` (across processes when scaled)."""

    def __init__(self, user: int, rate: int, simulation: int | None, socket: str):
        self.user, self.rate, self.simulation, self.socket = user, rate, simulation, socket
        self.retry = 0.0

    async def take(self) -> bool:
        self.retry = await quotas().take(self.user, self.rate, self.simulation, self.socket)
        return self.retry == 0.0

    def wait(self) -> float:
        """Seconds until the refused action may be tried again."""
        return self.retry


class _Oversized(Exception):
    """A text frame over ``settings.WS_MAX_MESSAGE_BYTES`` (refused before it is parsed)."""


class _JsonProtocol(AsyncJsonWebsocketConsumer):
    """JSON frames with a size limit enforced before parsing, compact output, and no disconnect
    for a bad frame (every failure is answered with an error frame)."""

    async def dispatch(self, message: dict) -> None:
        # Channels' dispatch first closes stale database connections in its sync thread, a thread
        # hop for every message (~0.2 ms of CPU per step). Here it would be redundant: the
        # consumers' database work runs in `database_sync_to_async`, which does that before and
        # after each call, or in the journal's own thread (simulator.persistence).
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        # Compact, and fast (orjson): state frames are the bulk of the traffic.
        return encode(content)

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


class SimulationConsumer(_JsonProtocol):
    """``ws/simulations/`` and ``ws/simulations/<id>/``: the simulation protocol (docs/simulation-protocol.md).

    The owner drives the simulation; team members who can view the version watch a shared one
    read-only (frames reach them through the channel-layer group ``simulation-<id>``, so a watcher
    connected to another Daphne process sees the same thing). Every step runs in the bounded
    worker pool of ``simulator.sessions``. This class connects, checks access and quotas,
    dispatches each message to its handler (``simulator.handlers``) and sends frames; the run loop
    is ``simulator.pacing.RunLoop`` and saves are ``simulator.persistence.SimulationStore``.
    """

    simulation_id: int | None = None
    readonly = False
    #: a scenario replay (read-only, but rewind moves along its timeline)
    replay = False
    entry: sessions.Entry | None = None
    store: SimulationStore | None = None
    bound: Bound | None = None
    #: key of the state this socket's client holds (simulator.frames): deltas must start from it
    state_key: str | None = None
    #: a snapshot was asked of another process's socket and has not come yet
    resyncing = False

    #: action name -> handler (every action of simulator.protocol.ACTIONS has exactly one)
    HANDLERS: ClassVar[dict[str, Handler]] = HANDLERS

    # ---- connection -------------------------------------------------------------------------

    async def connect(self) -> None:
        self.runs = RunLoop(self)
        self.shared = False
        self.group_name: str | None = None
        # Refusals are sent after the handshake: a close before accept() is an HTTP 403 to the
        # browser, which then sees code 1006 and never the documented 4401/4403/4404.
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(NOT_LOGGED_IN, "log in to use simulations")
            return
        sessions.job_user.set(user.pk)  # this socket's jobs (and its run's) are its user's
        sim_id = self.scope["url_route"]["kwargs"].get("simulation_id")
        if sim_id is None:
            await self.send_json({"type": "hello", "simulation": None, "readonly": False})
            return
        # The quota first, then one call of the database thread for the access check and (unless
        # the simulation is live here) its stored log: each call there is two thread hops and, on
        # PostgreSQL, a connection taken from the pool (SQLite's is kept: orchweb.sqlite), and a
        # socket over the quota reads nothing.
        simulation_id = int(sim_id)
        try:
            await self.claim(simulation_id)
            try:
                simulation, role, inputs = await self._load(simulation_id, sessions.registry.get(simulation_id) is None)
            except Refused:
                await self._unclaim(simulation_id)
                raise
        except Refused as exc:
            await self._refuse(exc.code, exc.message)
            return
        await self.attach(simulation, role, inputs)

    async def _refuse(self, code: int, message: str) -> None:
        await self.send_json({"type": "error", "message": message, "fatal": True, "code": code})
        await self.close(code=code)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except asyncio.CancelledError:
            # Daphne cancels every application on SIGTERM (no disconnect message): save and
            # release what this socket holds before the process exits.
            if getattr(self, "runs", None) is not None:
                self.runs.cancel()
                await self._detach()
            raise

    async def disconnect(self, code: int) -> None:
        self.runs.cancel()
        await self._detach()

    async def _detach(self) -> None:
        if self.group_name is not None:
            group, self.group_name = self.group_name, None
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
                await self.channel_layer.group_discard(access_group(), self.channel_name)
            except Exception:  # the layer's entries expire (group_expiry); the claim and last save must not be skipped
                logger.exception("simulation %s: leaving the socket's groups failed", self.simulation_id)
        if self.simulation_id is None:
            return
        await self._unclaim(self.simulation_id)
        if self.entry is not None:
            if not self.readonly and self.store is not None:
                async with self.entry.lock:  # not between another socket's operation and its save
                    with contextlib.suppress(Conflict):  # another process stored a newer state: it wins
                        await self.store.persist(barrier=True)
            dropped = sessions.registry.release(self.simulation_id)
            if dropped is not None:
                await self._announce(False)
                await sessions.execute(dropped.runtime, dropped.runtime.close)
        self.entry = None
        self.store = None
        self.simulation_id = None
        self.bound = None

    # ---- per-user quotas (simulator.quotas: across processes when scaled) ---------------------

    def _user_id(self) -> int:
        return self.scope["user"].pk

    async def check_quota(self) -> None:
        """Refused (4429) when opening one more simulation exceeds the user's quota."""
        await self._claim(None)

    async def claim(self, simulation_id: int) -> None:
        """Count this socket against the user's open simulations (Refused 4429 over the quota)."""
        await self._claim(simulation_id)

    async def _claim(self, simulation_id: int | None) -> None:
        limit = settings.SIMULATION_MAX_OPEN_PER_USER
        try:
            await quotas().claim(self._user_id(), simulation_id, self.channel_name, limit)
        except TooMany as exc:
            raise Refused(TOO_MANY, str(exc)) from exc

    async def _unclaim(self, simulation_id: int) -> None:
        await quotas().release(self._user_id(), simulation_id, self.channel_name)

    def bucket(self) -> ActionRate:
        """The user's rate of actions (a run's chunks draw from it too)."""
        return ActionRate(self._user_id(), settings.SIMULATION_STEPS_PER_SECOND, self.simulation_id, self.channel_name)

    # ---- binding to a simulation --------------------------------------------------------------

    @database_sync_to_async
    def _load(self, simulation_id: int, stored: bool = False) -> tuple[Simulation, str, list[dict] | None]:
        """The simulation, the role of this user ("owner", "watcher" or "replay") and, if `stored`,
        its stored log (`read_simulation`); or Refused."""
        try:
            simulation, role = sessions.get_simulation_for_user(
                self.scope.get("user"), simulation_id, session_share_tokens(self.scope.get("session"))
            )
        except (Http404, AuthenticationRequired) as exc:
            raise Refused(NOT_FOUND, "no such simulation") from exc
        except PermissionDenied as exc:
            raise Refused(FORBIDDEN, str(exc)) from exc
        return simulation, role, read_simulation(simulation) if stored else None

    async def attach(self, simulation: Simulation, role: str, inputs: list[dict] | None = None) -> None:
        """Bind this socket to a simulation: live runtime (or rebuilt by replay from `inputs`, its
        stored log, read here when not given), then full state."""
        self.simulation_id = simulation.pk
        self.readonly = role in ("watcher", "replay")
        self.replay = role == "replay"
        self.shared = simulation.shared
        version = simulation.version
        self.bound = Bound(simulation.pk, version.pk, version.project.team_id)
        self.group_name = group_name(simulation.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.channel_layer.group_add(access_group(), self.channel_name)
        entry = sessions.registry.get(simulation.pk)
        if entry is None:
            try:
                if inputs is None:
                    inputs = await load_simulation(simulation)
                runtime = await sessions.execute(
                    None, sessions.build_runtime_on_worker, simulation, inputs, user=self._user_id()
                )
            except sessions.SimulationError as exc:
                await self.send_json({"type": "error", "message": str(exc), "fatal": True})
                return
            entry = sessions.registry.acquire(simulation.pk, runtime)
        else:
            entry = sessions.registry.acquire(simulation.pk, entry.runtime)
        self.entry = entry
        if entry.store is None:
            entry.store = SimulationStore(simulation.pk, entry, simulation_stored(simulation))
            await self._announce(True)
        self.store = entry.store
        if entry.refs > 1:  # live here already: it may be behind what another process stored
            async with entry.lock:
                await self.store.catch_up()
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
        await self.send_reset(everyone=False)

    async def simulation_access(self, event: dict) -> None:
        """Access may have changed (group message): check again, close the socket if it is gone."""
        bound = self.bound
        if bound is None or not bound.concerned_by(event):
            return
        try:
            _, role, _ = await self._load(bound.simulation)
        except Refused as exc:
            await self.runs.stop()
            await self._refuse(exc.code, f"your access to this simulation was withdrawn: {exc.message}")
            return
        if role == "watcher" and not self.readonly:  # the owner changed: downgrade
            await self.runs.stop()
            self.readonly = True
            await self.send_json({"type": "hello", "simulation": bound.simulation, "role": role, "readonly": True})

    # ---- persistence --------------------------------------------------------------------------

    async def save(self, fakes_source: str | None = None) -> None:
        """Store the operations applied so far; callers hold the entry's lock, and send the frames
        of the operations after this returns (they are durable then, or the client is told not).

        OpError when another process changed the simulation first: the runtime is rebuilt from
        the stored log and this socket gets it (reset), the operation is not applied."""
        if self.store is None or self.entry is None:
            return
        await self._saved(self.store.persist(fakes_source))

    async def apply_and_save(self, op: dict) -> list[dict]:
        """The frames of `op` applied (`runtime.apply_and_frames` in the worker pool), saved as
        `save()` does; callers hold the entry's lock. The worker hands the operation's write to
        the journal itself, and the journal's commit wakes the loop once for the frames and the
        outcome (through the loop between them: two wake-ups a step and the futures of each)."""
        entry, store = self.entry, self.store
        runtime = entry.runtime
        if store is None:
            return await sessions.execute(runtime, runtime.apply_and_frames, op)

        def job(future: asyncio.Future) -> Any:
            frames = runtime.apply_and_frames(op)
            return HANDED_OVER if store.hand_over(frames, future) else frames

        done = await sessions.execute(runtime, job, hand_over=True)
        if isinstance(done, list):  # not handed over (nothing to write, or a retry pending)
            await self.save()
            return done
        write, outcome = done
        await self._saved(store.handed(write, outcome))
        return write.frames

    async def _saved(self, saving: Awaitable[int]) -> None:
        """What `save` tells the socket of a save's outcome (the operations left unsaved)."""
        try:
            unsaved = await saving
        except Conflict:
            await self.store.reload()
            await self.send_reset()
            raise OpError(
                "this simulation was changed at the same time from another window: your operation was not "
                "applied; you now see the current state"
            ) from None
        if unsaved:
            await self.send_json(
                {
                    "type": "error",
                    "unsaved": unsaved,
                    "message": f"the database is unavailable: the last {unsaved} operations are not saved yet; "
                    "this server keeps them and saves them as soon as it is back",
                }
            )

    async def _announce(self, held: bool, reply: bool = False) -> None:
        """Tell the other processes that this one holds (or no longer holds) the simulation live."""
        if isinstance(self.channel_layer, InMemoryChannelLayer) or self.simulation_id is None:
            return  # one process
        await self.channel_layer.group_send(
            group_name(self.simulation_id),
            {"type": "simulation.holder", "process": PROCESS_ID, "held": held, "reply": reply},
        )

    async def simulation_holder(self, event: dict) -> None:
        """Another process holds the simulation live (or no longer): tell it of our changes from
        now on, and answer a newcomer so it tells us of its own (group message)."""
        entry, process = self.entry, event.get("process")
        if process == PROCESS_ID or entry is None or entry.store is None:
            return
        peers = entry.store.peers
        if not event.get("held"):
            peers.discard(process)
            return
        if process in peers:  # another socket of this process handled it
            return
        peers.add(process)
        if event.get("reply"):  # it held the simulation before we did: what did it store meanwhile?
            await self.simulation_changed({"process": process})
        else:
            await self._announce(True, reply=True)

    async def simulation_changed(self, event: dict) -> None:
        """Another process stored a change of this simulation: replay it here (group message)."""
        if event.get("process") != PROCESS_ID:
            await self._catch_up()

    async def _catch_up(self) -> None:
        """Replay what other processes stored of this simulation since this runtime's revision and
        send the frames to this process's sockets of it."""
        entry = self.entry
        if entry is None or entry.store is None:
            return
        async with entry.lock:
            try:
                caught = await entry.store.catch_up()
            except DatabaseError as exc:  # the next operation here conflicts and reloads instead
                logger.warning("simulation %s: cannot catch up (%s)", self.simulation_id, exc)
                return
            if caught is None:
                return
            # a delta of the replayed operations (reset and snapshot when the runtime was rebuilt)
            frames = await sessions.execute(entry.runtime, entry.runtime.frames)
        texts = [encode(frame) for frame in frames]
        metas = [_meta(frame) for frame in frames]
        # this process's other sockets of the simulation get them too (the others caught up alone)
        if not self.readonly:
            for meta, text in zip(metas, texts, strict=True):
                await self._deliver(meta, text)
        if self.group_name and entry.refs > 1:
            await self._broadcast(texts, metas, catch_up=True)

    # ---- frames -----------------------------------------------------------------------------

    async def frames(self, frames: list[dict]) -> None:
        """Send frames to this socket and, when others may watch, to the simulation's group; each
        frame is encoded once (the group gets the JSON texts)."""
        texts = [encode(frame) for frame in frames]
        metas = [_meta(frame) for frame in frames]
        for meta, text in zip(metas, texts, strict=True):
            await self._deliver(meta, text)
        if self.group_name and (self.shared or (self.entry is not None and self.entry.refs > 1)):
            await self._broadcast(texts, metas)

    async def _broadcast(self, texts: list[str], metas: list[dict], **extra: Any) -> None:
        """Encoded frames to the simulation's group (the other sockets of it, on any process)."""
        message: dict[str, Any] = {"type": "simulation.frames", "texts": texts, "metas": metas}
        message.update(sender=self.channel_name, process=PROCESS_ID, **extra)
        await self.channel_layer.group_send(self.group_name, message)

    async def _deliver(self, meta: dict, text: str, sender: str | None = None) -> None:
        """Send one encoded frame to this socket, keeping its client's state consistent: a delta
        that does not apply to the state this socket was sent is replaced by a fresh snapshot
        (from the live runtime here, or asked of the `sender` socket when it lives elsewhere)."""
        kind = meta.get("type")
        if kind in ("reset", "snapshot"):
            if _older(meta["key"], self.state_key, strictly=True) and meta.get("reply_to") is None:
                return  # a later state was sent already (frames of the group and of this socket cross)
            self.state_key = meta["key"]
            self.resyncing = False
        elif kind == "delta":
            if meta["base"] != self.state_key:
                if _older(meta["key"], self.state_key):
                    return  # this socket's snapshot already includes it
                await self._resync(meta, sender)
                return
            self.state_key = meta["key"]
        await self.send(text_data=text)

    async def _resync(self, meta: dict, sender: str | None) -> None:
        runtime = self.entry.runtime if self.entry is not None else None
        if runtime is not None and _token(meta["key"]) == runtime.publisher.token:
            frames = await sessions.execute(runtime, runtime.reset_frames)
            if meta.get("reply_to") is not None:
                frames[-1]["reply_to"] = meta["reply_to"]
            for frame in frames:
                await self._deliver(_meta(frame), encode(frame))
        elif sender is not None and not self.resyncing:
            # The delta comes from the runtime of another process: its socket sends the snapshot.
            self.resyncing = True
            await self.channel_layer.send(sender, {"type": "simulation.resync", "channel": self.channel_name})

    async def simulation_frames(self, event: dict) -> None:
        """Frames another socket of this simulation produced (watchers, the owner's other tabs).

        The owner's sockets on other processes skip them: they replay the stored change instead
        (`simulation_changed`), so their runtime follows; catch-up frames are for this process's
        owner sockets only (watchers had the originals)."""
        if event.get("sender") == self.channel_name:
            return
        foreign = event.get("process") != PROCESS_ID
        if (foreign and not self.readonly) or (event.get("catch_up") and (foreign or self.readonly)):
            return
        for meta, text in zip(event["metas"], event["texts"], strict=True):
            await self._deliver(meta, text, event.get("sender"))

    async def simulation_resync(self, event: dict) -> None:
        """A socket elsewhere missed this runtime's frames: send it the trace and a snapshot."""
        if self.entry is None:
            return
        runtime = self.entry.runtime
        async with self.entry.lock:
            frames = await sessions.execute(runtime, runtime.reset_frames)
        frames[-1]["running"] = self.runs.running
        await self.channel_layer.send(
            event["channel"],
            {
                "type": "simulation.frames",
                "texts": [encode(f) for f in frames],
                "metas": [_meta(f) for f in frames],
                "sender": self.channel_name,
            },
        )

    async def state_frames(self, reply_to: Any = None, frames: list[dict] | None = None, **extra: Any) -> list[dict]:
        """The frames of what changed (taken now if not given), the last one answering `reply_to`."""
        if frames is None:
            runtime = self.entry.runtime
            frames = await sessions.execute(runtime, runtime.frames)
        frames[-1].update(extra)
        if reply_to is not None:
            frames[-1]["reply_to"] = reply_to
        return frames

    async def send_snapshot(self, reply_to: Any = None) -> None:
        """The whole state to this socket only (on demand): the stored state, even when another
        process stored a change whose notice has not reached this one yet."""
        if self.entry.store is not None and self.entry.store.peers:
            await self._catch_up()
        runtime = self.entry.runtime
        async with self.entry.lock:
            snapshot = await sessions.execute(runtime, runtime.snapshot)
        snapshot["running"] = self.runs.running
        if reply_to is not None:
            snapshot["reply_to"] = reply_to
        await self._deliver(_meta(snapshot), encode(snapshot))

    async def send_reset(self, reply_to: Any = None, everyone: bool = True) -> None:
        """The whole trace since the start and the snapshot (rewind, restart: to `everyone` on the
        simulation; connect: to this socket)."""
        runtime = self.entry.runtime
        frames = await sessions.execute(runtime, runtime.reset_frames)
        frames = await self.state_frames(reply_to, frames, running=self.runs.running)
        if everyone:
            await self.frames(frames)
            return
        for frame in frames:
            await self._deliver(_meta(frame), encode(frame))

    async def error(self, message: str, content: Any = None) -> None:
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
            await self.error(str(exc), content)
        except Exception as exc:  # a bug must not kill the socket either; say what happened
            logger.exception("simulation %s: %r failed", self.simulation_id, content)
            await self.error(f"internal error: {type(exc).__name__}: {exc}", content)

    async def _dispatch(self, content: Any) -> None:
        if isinstance(content, _BadJSON):
            raise OpError(f"not JSON: {content.problem}")
        action = protocol.action_of(content)
        if self.readonly and not action.watchers and not (self.replay and action.name == "rewind"):
            if self.replay:
                raise OpError("read-only: this is a scenario's replay; rewind along it")
            raise OpError("read-only: you are watching another user's simulation")
        if self.entry is None and action.name != "start":
            raise OpError("no simulation is open on this connection: send start with a version")
        protocol.validate(content)
        bucket = self.bucket()
        if not await bucket.take():
            raise OpError(
                f"too many actions: at most {settings.SIMULATION_STEPS_PER_SECOND} per second per user "
                f"(this one was not applied; retry in {bucket.wait():.2f} s)"
            )
        await self.HANDLERS[action.name](self, content)


def simulation_stored(simulation: Simulation) -> Stored:
    return Stored(simulation.revision, simulation.log_length, simulation.fakes or {}, simulation.seed)


def _meta(frame: dict) -> dict:
    """What a socket needs to know of a frame to forward it (its JSON text is sent as it is)."""
    return {k: frame[k] for k in ("type", "base", "key", "reply_to") if frame.get(k) is not None}


def _token(key: str) -> str:
    return key.rpartition(".")[0]


def _older(key: str, than: str | None, strictly: bool = False) -> bool:
    """`key` names a state of the same runtime as `than`, published no later (`strictly`: before)."""
    if than is None or _token(key) != _token(than):
        return False
    version, other = int(key.rpartition(".")[2]), int(than.rpartition(".")[2])
    return version < other if strictly else version <= other


class _BadJSON:
    """A text frame that is not JSON (answered with an error frame, never a disconnect)."""

    def __init__(self, problem: str):
        self.problem = problem


# -- batches --------------------------------------------------------------------------------------


class BatchConsumer(_JsonProtocol):
    """``ws/batches/<id>/``: progress of a batch run (simulator.batches), read-only.

    Whoever may read the run connects (close codes as for simulations: 4401 not logged in, 4404
    not visible). On connect: a ``progress`` frame with the row's state, and a ``finished`` frame
    if the run is over; then the frames the driving process sends to the run's channel-layer
    group, from whichever process drives it.
    """

    group: str | None = None

    async def connect(self) -> None:
        await self.accept()  # refusals after the handshake, so the client sees the close code
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(NOT_LOGGED_IN, "log in to follow batches")
            return
        run_id = int(self.scope["url_route"]["kwargs"]["batch_id"])
        try:
            await self._load(run_id)
        except (Http404, AuthenticationRequired):
            await self._refuse(NOT_FOUND, "no such batch")
            return
        except PermissionDenied as exc:
            await self._refuse(FORBIDDEN, str(exc))
            return
        self.group = batch_group_name(run_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        run = await self._load(run_id)  # after joining the group: no frame falls in between
        await self.send_json(batches.progress_frame(run.status, run.done, run.count))
        if not run.active:
            await self.send_json(await database_sync_to_async(batches.finished_frame)(run))

    @database_sync_to_async
    def _load(self, run_id: int) -> BatchRun:
        session = self.scope.get("session")
        return batches.get_batch_for_user(self.scope["user"], run_id, session_share_tokens(session))

    async def _refuse(self, code: int, message: str) -> None:
        await self.send_json({"type": "error", "message": message, "fatal": True, "code": code})
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json({"type": "error", "message": "this socket only sends progress; cancel with a POST"})

    async def batch_frame(self, event: dict) -> None:
        await self.send_json(event["frame"])
