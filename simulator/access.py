"""Who may be on a simulation socket, and the channel-layer groups that tell sockets about it.

Close codes are documented in docs/simulation-protocol.md ("Access"). Access taken away (unsharing,
a member removed, a share link revoked) reaches open sockets on every process through the group
``access_group()``; frames of one simulation reach its watchers through ``group_name(id)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from channels.layers import get_channel_layer
from django.conf import settings

#: close codes (docs/simulation-protocol.md, "Access")
NOT_LOGGED_IN, FORBIDDEN, NOT_FOUND, TOO_MANY = 4401, 4403, 4404, 4429


class Refused(Exception):
    """The user may not open this simulation (close code 4403/4404/4429) or the request is bad."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Bound:
    """What an access check of a bound socket compares with: its simulation, version and team."""

    simulation: int
    version: int
    team: int

    def concerned_by(self, event: dict) -> bool:
        """True when an access-changed message names this socket's simulation, team or version."""
        return (
            (event.get("simulation") is None or event["simulation"] == self.simulation)
            and (event.get("team") is None or event["team"] == self.team)
            and (event.get("version") is None or event["version"] == self.version)
        )


def _database_key() -> str:
    """Channel-layer groups are keyed by the database too: processes sharing a Redis but not a
    database (parallel test runs, two deployments) never see each other's messages."""
    return hashlib.sha1(str(settings.DATABASES["default"].get("NAME")).encode()).hexdigest()[:10]


def group_name(simulation_id: int) -> str:
    """The channel-layer group of a simulation's sockets."""
    return f"simulation-{_database_key()}-{simulation_id}"


def batch_group_name(run_id: int) -> str:
    """The channel-layer group of a batch run's progress sockets (simulator.batches)."""
    return f"batch-{_database_key()}-{run_id}"


def access_group() -> str:
    """The channel-layer group of every bound simulation socket: told when access may have changed."""
    return f"simulation-access-{_database_key()}"


async def access_changed(*, simulation: int | None = None, team: int | None = None, version: int | None = None) -> None:
    """Make the open sockets concerned (on every process) check their access again now.

    Sockets of that simulation, of a version of that team, or of that version re-run the access
    check and close (4403/4404) when it fails. Called after the change is committed.
    """
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(
            access_group(), {"type": "simulation.access", "simulation": simulation, "team": team, "version": version}
        )
