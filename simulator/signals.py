"""Access taken away reaches open simulation sockets at once, on every process.

Removing a team member (or changing their role), revoking a share link and deleting a team's
membership are designer changes; once committed, the sockets they may concern re-run their
access check (``simulator.access.access_changed``, a channel-layer group message) and close
with 4403/4404 when it fails. Unsharing a simulation is announced by its consumer directly.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from designer.models import Membership, ShareLink
from simulator.access import access_changed


def _announce(**scope: int) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # the usual case: a view or command in a thread without an event loop
        async_to_sync(access_changed)(**scope)
    else:  # sync code called on an event loop's thread cannot block on it: schedule instead
        task = loop.create_task(access_changed(**scope))
        _tasks.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(_tasks.discard)


_tasks: set[asyncio.Task] = set()


def _after_commit(**scope: int) -> None:
    transaction.on_commit(lambda: _announce(**scope))


@receiver([post_save, post_delete], sender=Membership, dispatch_uid="simulator-membership-access")
def membership_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    _after_commit(team=instance.team_id)


@receiver(post_save, sender=ShareLink, dispatch_uid="simulator-share-link-access")
def share_link_changed(sender: Any, instance: ShareLink, **kwargs: Any) -> None:
    if instance.revoked_at is not None:
        _after_commit(version=instance.version_id)
