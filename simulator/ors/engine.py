"""The ORS platform's access to the engine: the one place that knows the interpreter's session API.

The simulated platform (``simulator/ors/platform.py``) and its parts reach the session's datamodel,
clock, event queues and tracer only through :class:`Engine`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.scxml.clock import Timer


class Engine:
    """The interpreter session of one ORS platform, seen through the few operations it needs."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._action_ctx: Any = None

    def ctx(self) -> Any:
        """An action context on the document root (timers, internal events, trace records)."""
        if self._action_ctx is None:
            from simulator.scxml.interpreter import ActionContext

            self._action_ctx = ActionContext(self.session, self.session.model.root)
        return self._action_ctx

    @property
    def now(self) -> float:
        """Virtual seconds since the session group started."""
        return float(self.session.group.clock.now)

    @property
    def tracing(self) -> bool:
        return bool(self.session.tracing)

    def schedule_timer(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run `callback` after `delay` virtual seconds, unless the session stopped by then."""
        session = self.session

        def fire() -> None:
            if session.running:
                callback()

        return self.ctx().schedule(max(0.0, float(delay)), fire)

    def cancel_timer(self, timer: Timer) -> None:
        self.ctx().cancel_timer(timer)

    def enqueue_external(self, name: str, data: dict[str, Any], sendid: str | None = None) -> None:
        self.session.inject(name, data, origintype="fm", origin="fm:" + name.split(".")[0], sendid=sendid)

    def raise_internal(self, name: str, data: Any) -> None:
        self.ctx().raise_event(name, data)

    def active_states(self) -> list[str]:
        return list(self.session.configuration_ids)

    def js(self, source: str) -> None:
        """Run a script in the session's global scope."""
        self.session.datamodel.execute(source)

    @staticmethod
    def evaluate(ctx: Any, expr: str) -> Any:
        """Evaluate an expression in an action's context."""
        return ctx.datamodel.evaluate(expr)

    @staticmethod
    def assign_in(ctx: Any, location: str, value: Any) -> None:
        """Assign a location in an action's context."""
        ctx.assign(location, value)

    def assign(self, location: str, value: Any) -> None:
        """Write a value into a datamodel location of the session."""
        self.session.datamodel.assign_value(location, value)

    def trace(self, kind: str, fields: dict[str, Any]) -> None:
        if self.session.tracing:
            self.ctx().emit(kind, **fields)
