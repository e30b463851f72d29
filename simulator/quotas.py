"""Per-user quotas of the simulation sockets: simulations open at once, actions per second.

Embedded mode is one process: `LocalQuotas` counts in memory (exact). Scaled mode runs several
Daphne processes sharing the cache's Redis: `SharedQuotas` counts there, so the quotas hold for a
user whatever process each of their sockets reached (docs/simulation-protocol.md, "Limits").
`quotas()` picks the one matching the cache. Both are checked from the consumers' event loop, so
their checks are coroutines: the Redis round trips of `SharedQuotas` (redis-py's asyncio client)
never hold up the other sockets of the process while they wait.

Shared counts, one Redis round trip per check:

* open simulations: a sorted set per user, one member per socket (`<simulation>|<socket>`)
  scored by the end of its lease; distinct simulations are counted (tabs on one count once). A
  socket's lease (`OPEN_LEASE` seconds) is renewed by each of its actions, so the sockets of a
  process that died without closing them stop counting once their lease ends.
* actions: per-second counters; an action is allowed while the user's count of this second and
  the previous one stays within twice the rate (the burst of the local token bucket).
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import Counter, defaultdict
from typing import Any

import redis.asyncio
from django.conf import settings
from django.core.cache import cache
from redis.commands.core import AsyncScript
from redis.driver_info import DriverInfo

#: seconds a shared open-simulation claim lasts without an action of its socket
OPEN_LEASE = 3600
#: Redis connections of one process's quota checks, and how long a check waits for a free one
#: before it fails (as a `RedisError`, like an unreachable Redis). redis-py's own asyncio pool
#: fails at once past 100 connections ("Too many connections"): 500 sockets stepping once a
#: second on two processes had hundreds of checks in flight and saw their steps refused.
QUOTA_CONNECTIONS = 50
QUOTA_POOL_WAIT = 10.0

#: `SharedQuotas.take` in one command, atomic as the MULTI/EXEC pipeline it replaces (the same
#: commands on the same keys, in order): KEYS this second's counter, the previous second's, and
#: with an action of a socket the user's open-simulation set (ARGV: the lease's end, the member).
#: The transaction sent MULTI, four commands and EXEC and read six answers: ~310 us of the event
#: loop's CPU per action in redis-py, against ~195 us for one EVALSHA (docs/performance.md).
_TAKE = """
local count = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 3)
local before = redis.call('GET', KEYS[2])
if KEYS[3] then
    redis.call('ZADD', KEYS[3], 'XX', ARGV[1], ARGV[2])
end
return {count, before}
"""


class TooMany(Exception):
    """Opening one more simulation exceeds the user's quota."""

    def __init__(self, opened: int, limit: int):
        super().__init__(f"you have {opened} simulations open (the limit is {limit}): close one first")


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


class LocalQuotas:
    """The quotas of one process (embedded mode)."""

    def __init__(self) -> None:
        #: user id -> simulation id -> sockets of that user on it
        self.open_by_user: defaultdict[Any, Counter[int]] = defaultdict(Counter)
        self.buckets: dict[Any, TokenBucket] = {}

    async def claim(self, user: Any, simulation: int | None, socket: str, limit: int) -> None:
        """Count `socket` on `simulation` (None: only check there is room for a new one)."""
        opened = self.open_by_user.get(user, Counter())
        if simulation not in opened and len(opened) >= limit:
            raise TooMany(len(opened), limit)
        if simulation is not None:
            self.open_by_user[user][simulation] += 1

    async def release(self, user: Any, simulation: int, socket: str) -> None:
        opened = self.open_by_user[user]
        opened[simulation] -= 1
        if opened[simulation] <= 0:
            del opened[simulation]
        if not opened:
            del self.open_by_user[user]

    async def take(self, user: Any, rate: int, simulation: int | None = None, socket: str = "") -> float:
        """0 when the user may act now (the action is counted), else seconds to wait."""
        bucket = self.buckets.get(user)
        if bucket is None or bucket.rate != rate:
            bucket = self.buckets[user] = TokenBucket(rate, 2 * rate)
        return 0.0 if bucket.take() else max(bucket.wait(), 0.001)


class SharedQuotas:
    """The quotas of every process sharing the cache's Redis (scaled mode). A Redis error
    (unreachable, timeout) is raised to the caller, as `redis.exceptions.RedisError`."""

    def __init__(self, url: str):
        self.url = url
        # An asyncio connection belongs to the loop it was opened on: one pool per event loop
        # (Daphne runs one; tests may run several).
        self.clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
            weakref.WeakKeyDictionary()
        )
        # Built once: redis-py reads its package metadata from disk to build one for every new
        # connection otherwise (~0.4 ms on the event loop)
        self.driver = DriverInfo()
        self.take_script: AsyncScript | None = None

    @property
    def redis(self) -> redis.asyncio.Redis:
        """This event loop's client (its connections are reused from call to call)."""
        loop = asyncio.get_running_loop()
        client = self.clients.get(loop)
        if client is None:
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.url,
                max_connections=QUOTA_CONNECTIONS,
                timeout=QUOTA_POOL_WAIT,
                driver_info=self.driver,
                **settings.ASYNC_REDIS_OPTIONS,
            )
            client = self.clients[loop] = redis.asyncio.Redis(connection_pool=pool)
        return client

    @staticmethod
    def _key(*parts: Any) -> str:
        # the cache's key prefix and version: processes of one deployment (or test run) share them
        return cache.make_key(":".join(["simulator-quota", *map(str, parts)]))

    async def claim(self, user: Any, simulation: int | None, socket: str, limit: int) -> None:
        key, now = self._key("open", user), time.time()
        member = f"{simulation}|{socket}"
        client = self.redis
        pipe = client.pipeline()
        pipe.zremrangebyscore(key, "-inf", now)
        if simulation is not None:
            pipe.zadd(key, {member: now + OPEN_LEASE})
            pipe.expire(key, OPEN_LEASE)
        pipe.zrange(key, 0, -1)
        members = (await pipe.execute())[-1]
        opened = {m.decode().split("|", 1)[0] for m in members}
        counted = len(opened) if simulation is not None else len(opened) + 1
        if counted > limit:
            if simulation is not None:
                await client.zrem(key, member)
            raise TooMany(len(opened - {str(simulation)}), limit)

    async def release(self, user: Any, simulation: int, socket: str) -> None:
        await self.redis.zrem(self._key("open", user), f"{simulation}|{socket}")

    async def take(self, user: Any, rate: int, simulation: int | None = None, socket: str = "") -> float:
        now = time.time()
        second = int(now)
        current, previous = self._key("rate", user, second), self._key("rate", user, second - 1)
        client = self.redis
        script = self.take_script
        if script is None:  # the script's digest, computed once (each call names the client)
            script = self.take_script = client.register_script(_TAKE)
        args: list[float | str] = []
        if simulation is None:
            keys = [current, previous]
        else:  # an action renews its socket's open-simulation lease
            keys, args = [current, previous, self._key("open", user)], [now + OPEN_LEASE, f"{simulation}|{socket}"]
        count, before = await script(keys, args, client)
        if count + int(before or 0) <= 2 * rate:
            return 0.0
        await client.decr(current)  # a refused action is not counted
        return max(second + 1 - now, 0.001)


_quotas: LocalQuotas | SharedQuotas | None = None
_lock = threading.Lock()


def quotas() -> LocalQuotas | SharedQuotas:
    """The quotas of this process: shared through Redis when the cache is Redis."""
    global _quotas
    with _lock:
        if _quotas is None:
            default = settings.CACHES["default"]
            if default["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
                _quotas = SharedQuotas(default["LOCATION"])
            else:
                _quotas = LocalQuotas()
        return _quotas
