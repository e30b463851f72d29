"""Stored simulations: a per-user cap, and the expiry of simulations nobody touched for a while.

A simulation row is small (its recipe and inputs log), but a user who opens thousands keeps the
list and the database growing. `check_room(user)` refuses a new one past
``SIMULATION_MAX_STORED_PER_USER`` (old ones can be deleted from the list). `expire()` deletes the
simulations not updated (no saved step, no recipe change) for ``SIMULATION_EXPIRE_DAYS`` days;
`manage.py expire_simulations` runs it, and `expire_now_and_then()` runs it from the list and
create paths at most once per ``EXPIRY_EVERY`` seconds across processes (the cache holds the
marker), so expiry works without cron. Simulations live in this process are kept.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from simulator.models import Simulation

#: seconds between two opportunistic expiry passes (of all processes sharing the cache)
EXPIRY_EVERY = 3600
_MARKER = "simulator:expiry-pass"


class TooManyStored(Exception):
    """The user has as many stored simulations as the cap allows."""


def check_room(user: Any) -> None:
    """TooManyStored when `user` may not store one more simulation."""
    limit = int(settings.SIMULATION_MAX_STORED_PER_USER)
    # scenario replays have their own bound (simulator.scenario_replays.MAX_REPLAYS)
    stored = Simulation.objects.filter(owner=user, scenario="").count()
    if stored >= limit:
        raise TooManyStored(
            f"you have {stored:,} stored simulations (the limit is {limit:,}): "
            "delete old ones from the Simulations list first"
        )


def cutoff(days: float, now: datetime | None = None) -> datetime:
    """The time before which an untouched simulation has expired."""
    return (now or timezone.now()) - timedelta(days=days)


def expire(days: float | None = None, now: datetime | None = None, dry_run: bool = False) -> int:
    """Delete the simulations not updated for `days` (default: the setting; 0 keeps all) that
    are not live in this process; the number deleted (or that would be, `dry_run`)."""
    from simulator.sessions import registry  # the live runtimes of this process

    days = float(settings.SIMULATION_EXPIRE_DAYS if days is None else days)
    if days <= 0:
        return 0
    old = Simulation.objects.filter(updated_at__lt=cutoff(days, now)).exclude(pk__in=list(registry.entries))
    if dry_run:
        return old.count()
    _, by_model = old.delete()
    return by_model.get(Simulation._meta.label, 0)


def expire_now_and_then() -> int:
    """`expire()` unless a pass ran in the last EXPIRY_EVERY seconds (any process)."""
    if not cache.add(_MARKER, 1, timeout=EXPIRY_EVERY):
        return 0
    return expire()
