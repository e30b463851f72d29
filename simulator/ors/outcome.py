"""The routing outcome of one ORS session, as the extension modules' outcome hooks report it.

routed(target) / terminated / abandoned / waiting(for) / error; routed and abandoned are final.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .extensions import BY_NAME
from .extensions.base import Request

if TYPE_CHECKING:
    from .requestbook import RequestBook


class OutcomeTracker:
    """The outcome so far (``state``), changed by the events the platform delivers."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {"status": "running"}
        #: virtual time the interaction was routed at (batches chart the time to route)
        self.routed_at: float | None = None

    def routes(self, name: str, data: Mapping[str, Any], request: Request | None) -> bool:
        """Whether this event reports the interaction routed away (by a module's outcome hook)."""
        for module in BY_NAME.values():
            if module.outcome is not None:
                new = module.outcome(name, data, request, self.state)
                if new is not None:
                    return new.get("status") == "routed"
        return False

    def note(self, name: str, data: Mapping[str, Any], request: Request | None, at: float) -> None:
        """Each module's outcome hook says how its events change the outcome (at virtual time
        `at`); routed and abandoned are final."""
        if self.state.get("status") in ("routed", "abandoned"):
            return
        for module in BY_NAME.values():
            if module.outcome is not None and (new := module.outcome(name, data, request, self.state)) is not None:
                self.state = new
                if new.get("status") == "routed":
                    self.routed_at = at
                return

    def final(self, finished: bool, error: str | None, book: RequestBook) -> dict[str, Any]:
        """The summary outcome of a session whose requests are `book`'s."""
        out = dict(self.state)
        out.pop("hangup", None)
        if error:
            return {"status": "error", "error": error}
        if out["status"] == "running":
            if finished:
                requests = list(book.requests.values())
                out = {"status": "terminated", "reason": "session ended without routing the interaction"}
                for module in BY_NAME.values():
                    said = module.ended_outcome(requests) if module.ended_outcome is not None else None
                    if said is not None:
                        out = said
                        break
            else:
                waiting = [f"{r.module}:{r.action} {r.id} ({r.status})" for r in book.pending()]
                out = {"status": "waiting", "for": waiting or ["an event"]}
        return out
