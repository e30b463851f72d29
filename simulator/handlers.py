"""One handler per action of the simulation protocol (``simulator.protocol.ACTIONS``).

A handler receives the consumer of the socket and the message, already validated against the
action's JSON schema, rate-limited and checked for read-only access by the consumer's dispatch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from designer.permissions import session_share_tokens
from simulator import protocol, sessions
from simulator.access import Refused, access_changed
from simulator.breakpoints import Breakpoints
from simulator.persistence import create_simulation
from simulator.protocol import OpError

if TYPE_CHECKING:
    from simulator.consumers import SimulationConsumer

Handler = Callable[["SimulationConsumer", dict], Awaitable[None]]


async def on_snapshot(consumer: SimulationConsumer, content: dict) -> None:
    await consumer.send_snapshot(content.get("id"))


async def on_operation(consumer: SimulationConsumer, content: dict) -> None:
    """step, inject, respond, set_fakes, advance, set_variable: one operation of the inputs log."""
    op = protocol.ACTIONS[content["action"]].op(content)
    if op["op"] == "step":
        await consumer.runs.stop()
    entry = consumer.entry
    async with entry.lock:
        # one trip to the worker pool per step, the operation and its delta frame, whose worker
        # queues its write on the journal: the frames come back once it is durable
        frames = await consumer.apply_and_save(op)
        frames = await consumer.state_frames(content.get("id"), frames, running=consumer.runs.running)
    await consumer.frames(frames)


async def on_eval(consumer: SimulationConsumer, content: dict) -> None:
    """The console: an operation for the owner, an evaluation on a copy for watchers."""
    runtime = consumer.entry.runtime
    reply_to = content.get("id")
    frame = {"type": "eval", "expression": content["expression"], "copy": consumer.readonly}
    if consumer.readonly:
        result = await sessions.execute(runtime, runtime.evaluate_on_copy, content["expression"])
        await consumer.send_json({**frame, **result, "reply_to": reply_to})
        return
    await consumer.runs.stop()
    op = protocol.ACTIONS["eval"].op(content)
    async with consumer.entry.lock:
        frames = await sessions.execute(runtime, runtime.apply_and_frames, op)
        result = dict(runtime.last_eval)
        await consumer.save()
        frames = await consumer.state_frames(reply_to, frames, running=False)
    await consumer.send_json({**frame, **result, "reply_to": reply_to})
    await consumer.frames(frames)


async def on_set_watches(consumer: SimulationConsumer, content: dict) -> None:
    watches = list(content["watches"])
    async with consumer.entry.lock:
        consumer.entry.runtime.watches = watches
        frames = await consumer.state_frames(content.get("id"), running=consumer.runs.running)
    await consumer.store.store_fields(watches=watches)
    await consumer.frames([{"type": "watches", "watches": watches, "reply_to": content.get("id")}, *frames])


async def on_run(consumer: SimulationConsumer, content: dict) -> None:
    speed = content.get("speed")
    await consumer.runs.stop()
    consumer.runs.start(float(speed) if speed else None, content.get("id"), content.get("to"))
    await consumer.frames([{"type": "running", "speed": speed, "reply_to": content.get("id")}])


async def on_pause(consumer: SimulationConsumer, content: dict) -> None:
    stopped = await consumer.runs.stop()
    async with consumer.entry.lock:
        frames = await consumer.state_frames(content.get("id"), running=False)
    await consumer.frames([{"type": "paused", "reason": "pause" if stopped else "not running"}, *frames])


async def on_set_breakpoints(consumer: SimulationConsumer, content: dict) -> None:
    breakpoints = Breakpoints.from_json(content.get("breakpoints"))
    async with consumer.entry.lock:
        consumer.entry.runtime.breakpoints = breakpoints
    await consumer.store.store_fields(breakpoints=breakpoints.to_json())
    await consumer.frames(
        [{"type": "breakpoints", "breakpoints": breakpoints.to_json(), "reply_to": content.get("id")}]
    )


async def on_rewind(consumer: SimulationConsumer, content: dict) -> None:
    await consumer.runs.stop()
    runtime = consumer.entry.runtime
    async with consumer.entry.lock:
        await sessions.execute(runtime, runtime.rewind, content["seq"])
        if not consumer.replay:  # a replay's timeline is never truncated
            await consumer.save()
    await consumer.send_reset(content.get("id"))


async def on_restart(consumer: SimulationConsumer, content: dict) -> None:
    await consumer.runs.stop()
    runtime = consumer.entry.runtime
    async with consumer.entry.lock:
        await sessions.execute(runtime, runtime.restart)
        await consumer.save()
    await consumer.send_reset(content.get("id"))


async def on_share(consumer: SimulationConsumer, content: dict) -> None:
    shared = content["shared"]
    await consumer.store.store_fields(shared=shared)
    consumer.shared = shared
    await consumer.frames([{"type": "shared", "shared": shared, "reply_to": content.get("id")}])
    if not shared:
        await access_changed(simulation=consumer.simulation_id)


async def on_start(consumer: SimulationConsumer, content: dict) -> None:
    seed = content.get("seed", 0)
    await consumer.runs.stop()
    if consumer.entry is None:
        version_id = content.get("version")
        if version_id is None:
            raise OpError("start needs version: the id of the version to simulate")
        try:
            await consumer.check_quota()
        except Refused as exc:
            raise OpError(exc.message) from exc
        simulation = await create_simulation(
            consumer.scope["user"],
            session_share_tokens(consumer.scope.get("session")),
            version_id,
            content.get("fakes"),
            content.get("interaction"),
            seed,
        )
        await consumer.claim(simulation.pk)
        await consumer.send_json({"type": "started", "simulation": simulation.pk, "reply_to": content.get("id")})
        await consumer.attach(simulation, "owner")
        return
    # A new recipe for this simulation: restart with those fakes/seed.
    runtime = consumer.entry.runtime
    fakes, source = sessions.resolve_fakes(
        runtime.files, content.get("fakes", runtime.fakes), content.get("interaction")
    )
    async with consumer.entry.lock:
        await sessions.execute(runtime, runtime.restart, fakes, seed)
        await consumer.save(fakes_source=source)
    await consumer.send_reset(content.get("id"))


#: action name -> handler (every action of simulator.protocol.ACTIONS has exactly one)
HANDLERS: dict[str, Handler] = {
    "start": on_start,
    "step": on_operation,
    "run": on_run,
    "pause": on_pause,
    "inject": on_operation,
    "respond": on_operation,
    "set_fakes": on_operation,
    "advance": on_operation,
    "set_breakpoints": on_set_breakpoints,
    "rewind": on_rewind,
    "restart": on_restart,
    "share": on_share,
    "snapshot": on_snapshot,
    "eval": on_eval,
    "set_variable": on_operation,
    "set_watches": on_set_watches,
}
