"""The resource limits of simulations, in one object built from settings.

Pure Python: ``Limits.from_settings(settings)`` reads any object with the Django setting names
(``JS_MEMORY_LIMIT`` bytes, ``JS_TIME_LIMIT_MS``, ``SIMULATION_WORKERS``), so the web layer and
the management commands pass ``django.conf.settings`` and the runners never import Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Per-session JavaScript limits and the size of the web layer's simulation worker pool."""

    #: bytes of JavaScript heap per session (an allocation beyond it is an ``error.execution``)
    js_memory: int = 64 * MIB
    #: wall-clock seconds one JavaScript evaluation may run before it is interrupted
    js_time: float = 1.0
    #: worker threads running live simulation steps (the websocket layer's pool)
    workers: int = 4
    #: macrosteps a run-until-idle takes at most (charts that keep themselves busy forever)
    max_macrosteps: int = 100_000

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        """The limits of `settings` (missing names keep the defaults)."""
        default = cls()
        return cls(
            js_memory=int(getattr(settings, "JS_MEMORY_LIMIT", default.js_memory)),
            js_time=float(getattr(settings, "JS_TIME_LIMIT_MS", default.js_time * 1000)) / 1000.0,
            workers=max(1, int(getattr(settings, "SIMULATION_WORKERS", default.workers))),
        )

    def session_options(self) -> dict[str, Any]:
        """Keyword arguments of ``SessionGroup.create_session`` that apply these limits."""
        return {"memory_limit": self.js_memory, "time_limit": self.js_time}


DEFAULT_LIMITS = Limits()
