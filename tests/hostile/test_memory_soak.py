"""Memory returns after a simulation closes: 50 simulations opened, run to the end and closed
through the websocket keep the process's resident memory bounded.

The leak this guards against: ORS platforms were kept in a process-wide WeakKeyDictionary whose
values referred back to their sessions, so no session (datamodel, trace, records) was ever freed.
The strategy (``heavy_chart``) holds 20,000 objects in its datamodel, as a real one holding a
large web service answer does, so each leaked simulation costs megabytes. Memory is measured after a
garbage collection and malloc_trim, so the figure is what is still held, not allocator slack.
"""

from __future__ import annotations

import ctypes
import gc
import os

import pytest
from channels.db import database_sync_to_async

from designer import history
from designer.models import Membership, Project, Role, Team
from simulator import sessions
from simulator.scxml.interpreter import Session
from tests.charts import heavy_chart
from tests.simulator.client import SimClient
from tests.simulator.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 50
WARM_UP = 5
#: growth allowed over the 50 rounds after the warm-up
MAX_GROWTH_MB = 200

HEAVY = heavy_chart(20000)


_LIBC = ctypes.CDLL("libc.so.6")


def rss_mb() -> float:
    """Resident memory of this process once garbage and free allocator pages are given back."""
    gc.collect()
    _LIBC.malloc_trim(0)
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def heavy_version() -> tuple[object, int]:
    """(owner, version id) of a project whose strategy holds a large datamodel."""
    owner = make_user("soak-owner")
    team = Team.objects.create(name="Soak")
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    project = Project.objects.create(team=team, name="Heavy", created_by=owner)
    version = history.create_version(
        project, {"main.scxml": HEAVY}, author=owner, message="heavy", parent=None, entry="main.scxml"
    )
    return owner, version.pk


def headers_of(user: object) -> list[tuple[bytes, bytes]]:
    from django.test import Client

    from tests.simulator.conftest import ORIGIN

    client = Client()
    client.force_login(user)
    return [*ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def one_round(version_id: int, headers: list[tuple[bytes, bytes]]) -> None:
    client, connected, _ = await SimClient.open("/ws/simulations/", headers)
    assert connected
    await client.receive()  # hello
    answer = await client.request("start", expect="started", version=version_id)
    assert answer["type"] == "started", answer
    await client.until("snapshot")
    await client.request("run", expect="running")
    stopped = await client.until("paused")
    assert stopped["reason"] == "finished"
    await client.close()


async def test_fifty_simulations_opened_run_and_closed_keep_memory_bounded() -> None:
    owner, version_id = await database_sync_to_async(heavy_version)()
    headers = await database_sync_to_async(headers_of)(owner)
    for _ in range(WARM_UP):
        await one_round(version_id, headers)
    before = rss_mb()
    figures = []
    for number in range(ROUNDS):
        await one_round(version_id, headers)
        if number % 10 == 9:
            figures.append(round(rss_mb() - before, 1))

    assert sessions.registry.entries == {}
    assert figures[-1] < MAX_GROWTH_MB, f"RSS growth (MB) every 10 rounds: {figures}"
    gc.collect()
    # issubclass(type(o)): isinstance would evaluate lazy proxies left by earlier tests (a request's
    # SimpleLazyObject user, a database query Django refuses in this async context)
    assert [o for o in gc.get_objects() if issubclass(type(o), Session)] == []  # every engine session freed
    print(f"RSS {before:.0f} MB after the warm-up; growth every 10 rounds: {figures}")
