"""Stored simulations are bounded (issue 11): a per-user cap on new ones (page, websocket,
recipe import) and the expiry of simulations nobody updated for SIMULATION_EXPIRE_DAYS, by
`manage.py expire_simulations` and, without cron, when the list is shown or one is created."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from simulator import retention
from simulator.models import Simulation
from tests.simulator.client import SimClient
from tests.simulator.conftest import SimWorld, build_sim_world

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sim_world(transactional_db: None, shared_dir: Path) -> SimWorld:
    return build_sim_world(shared_dir)


@pytest.fixture
def no_recent_expiry_pass() -> None:
    """Each test starts as if no expiry pass ran lately (the marker is shared by the processes)."""
    cache.delete(retention._MARKER)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def simulate(client: Client, world: SimWorld):
    return client.post(f"/versions/{world.version.pk}/simulate/")


def age(simulation_id: int, days: float) -> None:
    Simulation.objects.filter(pk=simulation_id).update(updated_at=timezone.now() - timedelta(days=days))


def test_a_user_cannot_store_more_simulations_than_the_cap_until_one_is_deleted(sim_world, settings):
    settings.SIMULATION_MAX_STORED_PER_USER = 2
    owner, teammate = client_for(sim_world.owner), client_for(sim_world.teammate)
    assert simulate(owner, sim_world).status_code == 302
    assert simulate(owner, sim_world).status_code == 302

    refused = simulate(owner, sim_world)

    assert refused.status_code == 400
    assert "you have 2 stored simulations (the limit is 2)" in refused.content.decode()
    assert Simulation.objects.filter(owner=sim_world.owner).count() == 2
    assert simulate(teammate, sim_world).status_code == 302  # another user's quota is their own
    oldest = Simulation.objects.filter(owner=sim_world.owner).order_by("pk").first()
    owner.post(f"/simulations/{oldest.pk}/delete/")
    assert simulate(owner, sim_world).status_code == 302


async def test_start_over_the_websocket_is_refused_at_the_cap(sim_world, settings):
    settings.SIMULATION_MAX_STORED_PER_USER = 1
    await database_sync_to_async(Simulation.objects.create)(owner=sim_world.owner, version=sim_world.version)
    headers = await database_sync_to_async(sim_world.headers)(sim_world.owner)
    client, connected, _ = await SimClient.open("/ws/simulations/", headers)
    assert connected
    await client.receive()

    answer = await client.request("start", expect="started", version=sim_world.version.pk)

    assert answer["type"] == "error" and "the limit is 1" in answer["message"]
    assert await database_sync_to_async(Simulation.objects.filter(owner=sim_world.owner).count)() == 1
    await client.close()


def test_the_command_expires_simulations_not_updated_for_the_setting(sim_world, settings):
    settings.SIMULATION_EXPIRE_DAYS = 30
    old, recent, other = (
        Simulation.objects.create(owner=user, version=sim_world.version)
        for user in (sim_world.owner, sim_world.owner, sim_world.teammate)
    )
    age(old.pk, 31)
    age(recent.pk, 29)
    age(other.pk, 45)

    out = io.StringIO()
    call_command("expire_simulations", "--dry-run", stdout=out)
    assert out.getvalue().strip() == "2 simulations would expire: not updated for 30 days"
    assert Simulation.objects.count() == 3
    call_command("expire_simulations", stdout=out)

    assert set(Simulation.objects.values_list("pk", flat=True)) == {recent.pk}
    out = io.StringIO()
    call_command("expire_simulations", "--days", "0", stdout=out)  # 0: expiry off
    assert "0 simulations expired" in out.getvalue() and Simulation.objects.count() == 1


def test_showing_the_list_expires_old_simulations_without_cron(sim_world, settings, no_recent_expiry_pass):
    settings.SIMULATION_EXPIRE_DAYS = 7
    stale = Simulation.objects.create(owner=sim_world.owner, version=sim_world.version)
    fresh = Simulation.objects.create(owner=sim_world.owner, version=sim_world.version)
    age(stale.pk, 8)

    page = client_for(sim_world.owner).get("/simulations/").content.decode()

    assert f"Simulation {fresh.pk}<" in page and f"Simulation {stale.pk}<" not in page
    assert not Simulation.objects.filter(pk=stale.pk).exists()
    # at most one pass per interval: a simulation aged since is left to the next pass
    age(fresh.pk, 8)
    client_for(sim_world.owner).get("/simulations/")
    assert Simulation.objects.filter(pk=fresh.pk).exists()


def test_creating_a_simulation_expires_old_ones_first(sim_world, settings, no_recent_expiry_pass):
    settings.SIMULATION_EXPIRE_DAYS = 7
    settings.SIMULATION_MAX_STORED_PER_USER = 1
    stale = Simulation.objects.create(owner=sim_world.owner, version=sim_world.version)
    age(stale.pk, 10)

    assert simulate(client_for(sim_world.owner), sim_world).status_code == 302  # room made by expiry
    assert not Simulation.objects.filter(pk=stale.pk).exists()
