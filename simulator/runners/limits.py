"""The resource limits of simulations, in one object built from settings.

Pure Python: ``Limits.from_settings(settings)`` reads any object with the Django setting names
(``JS_MEMORY_LIMIT`` bytes, ``JS_TIME_LIMIT_MS``, ``SIMULATION_WORKERS``,
``SIMULATION_WORKERS_PER_USER``, ``SIMULATION_STEP_BUDGET_MS``, ``SIMULATION_MAX_TRACE_RECORDS``,
``SIMULATION_MAX_OPERATIONS``), so the web layer and the management commands pass
``django.conf.settings`` and the runners never import Django.
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
    #: jobs of one user the worker pool runs at once (the others' jobs get the other workers)
    workers_per_user: int = 2
    #: wall-clock seconds one live operation (a step, a run chunk, an advance...) may use in total
    step_budget: float = 5.0
    #: trace records a live simulation keeps (past it, operations are refused: rewind or restart);
    #: ~3 KB each with the state they describe (a whole call of the ORS sample is ~120 records)
    max_trace_records: int = 20_000
    #: operations of a live simulation's inputs log
    max_operations: int = 200_000

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        """The limits of `settings` (missing names keep the defaults)."""
        default = cls()
        workers = max(1, int(getattr(settings, "SIMULATION_WORKERS", default.workers)))
        # 0 (the default): half the workers, so one user's slow simulations leave room for others
        per_user = int(getattr(settings, "SIMULATION_WORKERS_PER_USER", 0)) or workers // 2
        return cls(
            js_memory=int(getattr(settings, "JS_MEMORY_LIMIT", default.js_memory)),
            js_time=float(getattr(settings, "JS_TIME_LIMIT_MS", default.js_time * 1000)) / 1000.0,
            workers=workers,
            workers_per_user=max(1, min(per_user, workers)),
            step_budget=float(getattr(settings, "SIMULATION_STEP_BUDGET_MS", default.step_budget * 1000)) / 1000.0,
            max_trace_records=int(getattr(settings, "SIMULATION_MAX_TRACE_RECORDS", default.max_trace_records)),
            max_operations=int(getattr(settings, "SIMULATION_MAX_OPERATIONS", default.max_operations)),
        )

    def session_options(self) -> dict[str, Any]:
        """Keyword arguments of ``SessionGroup.create_session`` that apply these limits."""
        return {"memory_limit": self.js_memory, "time_limit": self.js_time}


DEFAULT_LIMITS = Limits()
