"""Persistence of a simulation driven over a socket: the row created by ``start`` and debounced
saves of its recipe (inputs log, fakes, seed), so any process can rebuild it by replay."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from designer.permissions import AuthenticationRequired, get_version_for_user
from simulator import retention, sessions
from simulator.models import Simulation
from simulator.protocol import OpError

#: seconds between saves of the inputs log while a simulation is being driven
SAVE_DELAY = 2.0


@database_sync_to_async
def create_simulation(
    user: Any, share_tokens: Any, version_id: int, fakes: Any, interaction: Any, seed: int
) -> Simulation:
    """A new simulation of a version the user may simulate (OpError otherwise)."""
    try:
        version = get_version_for_user(user, version_id, share_tokens)
    except (Http404, PermissionDenied, AuthenticationRequired) as exc:
        raise OpError(f"no version {version_id} you may simulate") from exc
    files, _ = sessions.version_files(version)
    data, source = sessions.resolve_fakes(files, fakes, interaction)
    retention.expire_now_and_then()
    try:
        retention.check_room(user)
    except retention.TooManyStored as exc:
        raise OpError(str(exc)) from exc
    return Simulation.objects.create(owner=user, version=version, fakes=data, fakes_source=source, seed=seed)


class SimulationStore:
    """The saves of one bound simulation: at most one pending save, none when nothing changed."""

    def __init__(self, simulation_id: int, entry: sessions.Entry):
        self.simulation_id = simulation_id
        self.entry = entry
        self.saved_key: tuple | None = None
        self.save_task: asyncio.Task | None = None

    def schedule(self) -> None:
        """Save within SAVE_DELAY seconds (one save for a burst of changes)."""
        if self.save_task is None or self.save_task.done():
            self.save_task = asyncio.create_task(self._save_later())

    def cancel(self) -> None:
        if self.save_task is not None:
            self.save_task.cancel()
            self.save_task = None

    async def _save_later(self) -> None:
        await asyncio.sleep(SAVE_DELAY)
        await self.save()

    async def save(self, fakes_source: str | None = None) -> None:
        runtime = self.entry.runtime
        # Plain reads of the runtime from the event loop: copying a list under the GIL is atomic
        # and a stale read only means the next save writes the newer state.
        # the recipe's fakes: `set_fakes` operations are in the inputs log and replay on top of it
        inputs, fakes, seed = list(runtime.inputs), dict(runtime.base_fakes), runtime.seed
        key = (id(runtime), runtime.revision)
        if key == self.saved_key and fakes_source is None:
            return
        await self._store(inputs, fakes, seed, fakes_source)
        self.saved_key = key

    @database_sync_to_async
    def _store(self, inputs: list, fakes: dict, seed: int, fakes_source: str | None) -> None:
        fields: dict[str, Any] = {"inputs": inputs, "fakes": fakes, "seed": seed, "updated_at": timezone.now()}
        if fakes_source is not None:
            fields["fakes_source"] = fakes_source
        Simulation.objects.filter(pk=self.simulation_id).update(**fields)

    @database_sync_to_async
    def store_fields(self, **fields: Any) -> None:
        """Fields that are not part of the recipe (watches, breakpoints, shared)."""
        Simulation.objects.filter(pk=self.simulation_id).update(**fields)
