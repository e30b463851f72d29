"""The per-user quotas behave the same in memory (embedded) and in Redis (scaled), and a Redis
that cannot be reached fails the check loudly instead of letting it through."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator

import pytest
import redis.exceptions

from simulator import quotas as quotas_module
from simulator.quotas import LocalQuotas, SharedQuotas, TooMany
from tests.simulator.conftest import SimWorld, build_sim_world
from tests.simulator.test_consumer import start

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture(
    params=[
        pytest.param("local"),
        pytest.param("shared", marks=pytest.mark.scaled),
    ]
)
async def quotas(request: pytest.FixtureRequest) -> AsyncIterator[LocalQuotas | SharedQuotas]:
    if request.param == "local":
        yield LocalQuotas()
        return
    shared = SharedQuotas(os.environ["REDIS_URL"])
    yield shared
    keys = [key async for key in shared.redis.scan_iter(SharedQuotas._key("*", USER, "*"))]
    keys += [key async for key in shared.redis.scan_iter(SharedQuotas._key("*", USER))]
    if keys:
        await shared.redis.delete(*keys)


USER = f"quota-test-{os.getpid()}"  # not a real user's keys, whatever else runs on this Redis


async def test_opening_more_simulations_than_the_limit_is_refused_and_a_release_makes_room(quotas):
    await quotas.claim(USER, 1, "socket-a", 2)
    await quotas.claim(USER, 1, "socket-b", 2)  # the same simulation in another tab counts once
    await quotas.claim(USER, 2, "socket-c", 2)

    with pytest.raises(TooMany, match=r"you have 2 simulations open \(the limit is 2\)"):
        await quotas.claim(USER, 3, "socket-d", 2)
    with pytest.raises(TooMany):
        await quotas.claim(USER, None, "socket-e", 2)  # no room for a new one either
    await quotas.release(USER, 1, "socket-a")
    with pytest.raises(TooMany):  # socket-b still holds simulation 1
        await quotas.claim(USER, 3, "socket-d", 2)
    await quotas.release(USER, 1, "socket-b")
    await quotas.claim(USER, None, "socket-e", 2)
    await quotas.claim(USER, 3, "socket-d", 2)


async def test_actions_beyond_twice_the_rate_wait(quotas):
    waits = [await quotas.take(USER, 3) for _ in range(7)]

    assert waits[:6] == [0.0] * 6  # the burst: twice the rate
    assert 0 < waits[6] <= 1


async def test_a_burst_of_checks_beyond_the_connection_pool_waits_for_a_connection(quotas):
    # More checks in flight at once than the pool has connections: each waits for one (redis-py's
    # default asyncio pool refused them with "Too many connections" past 100).
    burst = 4 * quotas_module.QUOTA_CONNECTIONS
    assert burst > 100
    waits = await asyncio.gather(*(quotas.take(USER, burst) for _ in range(burst)))

    assert waits == [0.0] * burst


@pytest.mark.scaled
async def test_a_sockets_action_is_counted_and_renews_its_own_lease_only():
    # `take` is one Redis script: the counter of this second (expiring), the previous second's
    # count read, and the acting socket's open-simulation lease renewed (ZADD XX: never added).
    shared = SharedQuotas(os.environ["REDIS_URL"])
    open_key, second = SharedQuotas._key("open", USER), SharedQuotas._key("rate", USER, "*")
    try:
        await shared.claim(USER, 1, "socket-a", 2)
        await shared.redis.zadd(open_key, {"1|socket-a": 5})  # a lease about to end

        assert await shared.take(USER, 3, 1, "socket-a") == 0.0
        assert await shared.take(USER, 3, 2, "socket-z") == 0.0  # holds no claim
        assert await shared.take(USER, 3) == 0.0  # not a socket's action

        leases = dict(await shared.redis.zrange(open_key, 0, -1, withscores=True))
        assert list(leases) == [b"1|socket-a"]
        assert leases[b"1|socket-a"] > time.time() + quotas_module.OPEN_LEASE - 60
        counters = [key async for key in shared.redis.scan_iter(second)]
        assert sum([int(await shared.redis.get(key)) for key in counters]) == 3
        assert all(0 < ttl <= 3 for ttl in [await shared.redis.ttl(key) for key in counters])
    finally:
        keys = [key async for key in shared.redis.scan_iter(second)]
        await shared.redis.delete(open_key, *keys)


@pytest.mark.parametrize(
    "check",
    [
        lambda q: q.claim(USER, 1, "socket-a", 2),
        lambda q: q.claim(USER, None, "socket-a", 2),
        lambda q: q.release(USER, 1, "socket-a"),
        lambda q: q.take(USER, 3, 1, "socket-a"),
    ],
    ids=["claim", "check", "release", "take"],
)
async def test_an_unreachable_redis_fails_the_check(check):
    with pytest.raises(redis.exceptions.ConnectionError):
        await check(SharedQuotas(UNREACHABLE))


@pytest.fixture
def sim_world(transactional_db: None, shared_dir) -> SimWorld:
    return build_sim_world(shared_dir)


@pytest.mark.django_db(transaction=True)
async def test_an_action_is_refused_while_redis_is_unreachable_and_the_socket_stays_open(sim_world, monkeypatch):
    client = await start(sim_world)
    working = quotas_module.quotas()

    monkeypatch.setattr(quotas_module, "_quotas", SharedQuotas(UNREACHABLE))
    refused = await client.request("step", expect="delta", unit="microstep")
    monkeypatch.setattr(quotas_module, "_quotas", working)
    applied = await client.request("step", expect="delta", unit="microstep")

    assert refused["type"] == "error" and "ConnectionError" in refused["message"]
    assert applied["type"] == "delta"
    await client.close()
