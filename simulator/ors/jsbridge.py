"""The JS bridge of one ORS session: the calls the ``_genesys`` surfaces make into the platform.

Every surface installed by an extension module (and ``__Log``, ``__Raise``...) calls
``__orsCall(name, argsJson)``, which the dialect binds to :meth:`JSBridge.js_call` (``__Log`` with
text arguments calls ``__orsLog``, bound to :meth:`JSBridge.js_log`).  The calls
with no effect on the simulated platform are recorded (``calls``), and ``__Log`` messages kept
(``logs``), both bounded.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from simulator.scxml.datamodel import UNDEFINED

from .extensions.base import MAX_KEPT
from .extensions.session import zone_now

if TYPE_CHECKING:
    from .platform import OrsPlatform

#: seconds between a JS change of attached data and the ``interaction.udata.changed`` it causes
UDATA_CHANGE_DELAY = 0.05


class JSBridge:
    """Answers ``__orsCall`` for one session's platform."""

    def __init__(self, platform: OrsPlatform) -> None:
        self.platform = platform
        self.calls: list[dict[str, Any]] = []
        #: (message, label, level) of each ``__Log`` call: a tuple is a third of a dict's memory,
        #: and a waiting session keeps its logs (``logs`` makes the dicts on demand)
        self._logs: list[tuple[Any, Any, Any]] = []

    def js_call(self, name: str, args_json: str) -> Any:
        """Calls from the ``_genesys`` JS surfaces and ORS globals (JSON in, JSON-able out)."""
        platform, engine = self.platform, self.platform.engine
        args = json.loads(args_json) if args_json else []
        if name == "log":
            self._log(args)
            return None
        if name == "raise":
            event = str(args[0]) if args else ""
            data = args[1] if len(args) > 1 else None
            engine.raise_internal(event, data)
            return None
        if name == "assume":
            what, asked, used, path = (list(args) + [None] * 4)[:4]
            value = args[4] if len(args) > 4 else None
            if isinstance(what, str) and isinstance(asked, dict) and isinstance(path, list):
                platform.assume(what, asked, used, path, value)
            return None
        if name == "states":
            return engine.active_states()
        if name == "now":
            return platform.now
        if name == "session.zone":
            return zone_now(platform, args[0] if args else None)
        if name == "ixn.setuData":
            data, ixn = args[0], args[1]
            platform.merge_udata(ixn, data, js=False)
            self._udata_changed_soon(ixn)
            return None
        if name == "ixn.deleteuData":
            keys, ixn = args[0], args[1]
            obj = platform.interaction(ixn)
            if obj is not None:
                if keys is None:
                    obj["udata"].clear()
                else:
                    for k in keys:
                        obj["udata"].pop(k, None)
            self._udata_changed_soon(ixn)
            return None
        self.record_call(name, args)
        return None

    @property
    def logs(self) -> list[dict[str, Any]]:
        """The ``__Log`` messages kept, as ``{"message", "label", "level"}`` dicts."""
        return [{"message": m, "label": label, "level": level} for m, label, level in self._logs]

    def js_log(self, *args: str | None) -> Any:
        """``__Log`` called with strings (or null/undefined) only: its arguments as they are.
        Answers `undefined`, which crosses back without JSON (``__Log`` drops it anyway)."""
        self._log(list(args))
        return UNDEFINED

    def _log(self, args: list[Any]) -> None:
        message = args[0] if args else ""
        level = args[2] if len(args) > 2 else None
        if len(self._logs) < MAX_KEPT:  # a strategy looping on __Log must not exhaust Python memory
            self._logs.append((message, args[1] if len(args) > 1 else None, level))
        engine = self.platform.engine
        if engine.tracing:  # an untraced run (batches, benches) builds no record
            engine.trace(
                "log",
                {"label": args[1] if len(args) > 1 else "__Log", "expr": "__Log", "value": message, "level": level},
            )

    def _udata_changed_soon(self, ixn: Any) -> None:
        platform = self.platform
        platform.engine.schedule_timer(
            UDATA_CHANGE_DELAY, lambda: platform.deliver("interaction.udata.changed", {"interactionid": ixn})
        )

    def record_call(self, name: str, args: Any) -> None:
        """Remember a recorded no-op call (``_genesys.queue.reserveTarget``, treatments...)."""
        if len(self.calls) < MAX_KEPT:
            self.calls.append({"call": name, "args": args, "time": self.platform.now})
