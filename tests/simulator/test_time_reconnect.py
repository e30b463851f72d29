"""A reconnect rebuilds a simulation whose strategy reads Date and Math.random exactly: the replayed
records (with the dates and random numbers the strategy logged) are the ones sent before."""

from __future__ import annotations

import asyncio

import pytest

from designer import history
from designer.models import Project

from .test_consumer import open_simulation, start, started_id

pytestmark = pytest.mark.django_db(transaction=True)

CLOCKED = b"""<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
  <state id="wait">
    <transition event="interaction.added" target="tick"/>
  </state>
  <state id="tick">
    <onentry>
      <log label="now" expr="String(new Date()) + ' ' + Math.random()"/>
      <send event="'tock'" delay="'1h'"/>
    </onentry>
    <transition event="tock" target="tick"/>
  </state>
</scxml>
"""


@pytest.fixture
def clocked_version(sim_world):
    project = Project.objects.create(team=sim_world.project.team, name="Clocked", created_by=sim_world.owner)
    return history.create_version(
        project, {"clocked.scxml": CLOCKED}, author=sim_world.owner, message="clock", parent=None, entry="clocked.scxml"
    )


async def test_a_reconnect_replays_the_same_dates_and_random_numbers(sim_world, clocked_version):
    fakes = {"time": {"now": "2026-03-29T00:30:00Z", "zone": "ECT"}}
    client = await start(sim_world, version_override=clocked_version.pk, fakes=fakes, seed=4)
    for _ in range(3):
        await client.step()
    await client.request("advance", seconds=7200)
    records = list(client.records)
    logs = [r["value"] for r in records if r["type"] == "log"]
    # hourly ticks on the virtual clock, across the change to summer time
    assert [v.split(" 0.")[0] for v in logs[:2]] == [
        "Sun Mar 29 2026 01:30:00 GMT+0100 (CET)",
        "Sun Mar 29 2026 03:30:00 GMT+0200 (CEST)",
    ]
    assert len(logs) >= 3 and len(set(logs)) == len(logs)
    await client.close()  # saves the inputs log; the live runtime is dropped
    await asyncio.sleep(1.1)  # the wall clock moves on; the simulation's does not

    again, connected, _ = await open_simulation(sim_world, started_id(client), sim_world.owner)
    await again.until("snapshot")
    assert connected
    assert again.records == records
    await again.close()
