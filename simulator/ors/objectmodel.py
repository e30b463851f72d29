"""The ORS object model of one session: the interactions the platform controls, mirrored in JS.

The platform changes its own copy at once; the session's ``_genesys.ixn.interactions`` shows a
change when the session processes the event that reports it (ORS's object model changes only as
a result of events), so the mirroring is applied as an event's effect (see OrsPlatform.deliver).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .engine import Engine
from .extensions.interaction import interaction_object
from .fakes import FakesProfile


class ObjectModel:
    """The interaction objects (dicts by ``g_uid``, in arrival order) and their JS mirror."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.interactions: dict[str, dict[str, Any]] = {}

    def interaction(self, interactionid: str | None) -> dict[str, Any] | None:
        """The interaction object (by g_uid; ``0``/None = the first), or None."""
        if interactionid in (None, "", "0", 0):
            return next(iter(self.interactions.values()), None)
        return self.interactions.get(str(interactionid))

    def primary_interaction_id(self) -> str | None:
        """g_uid of the first interaction still in the session."""
        return next(iter(self.interactions), None)

    def add(self, fakes: FakesProfile, ixn_id: str | None = None, obj: dict[str, Any] | None = None) -> dict[str, Any]:
        """Put an interaction into the object model, JS mirror included (`ixn_id` already there:
        that one; no `obj`: a new one from the fakes profile)."""
        if obj is None:
            existing = self.interaction(ixn_id) if ixn_id else None
            if existing is not None:
                return existing
            obj = interaction_object(fakes, ixn_id, parentid="")
        self.interactions[obj["g_uid"]] = obj
        self._put(obj)
        return obj

    def mirror(self, _env: Any = None) -> None:
        """Show every interaction in ``_genesys.ixn`` (as an event's effect)."""
        for obj in self.interactions.values():
            self._put(obj)

    def _put(self, obj: dict[str, Any]) -> None:
        self.engine.js(f"_genesys.ixn.__put({json.dumps(obj)});")

    def remove(self, ixn: str) -> bool:
        """The platform stops controlling `ixn`; whether it did. The JS mirror follows with
        :meth:`unmirror`, when the session processes the event that says so."""
        return self.interactions.pop(ixn, None) is not None

    def unmirror(self, ixn: str) -> None:
        self.engine.js(f"_genesys.ixn.__remove({json.dumps(ixn)});")

    def merge_udata(self, ixn_id: str | None, data: Mapping[str, Any], js: bool = True) -> None:
        """Merge user data into an interaction (Python copy and, when `js`, the JS object)."""
        obj = self.interaction(ixn_id)
        if obj is None:
            return
        obj["udata"].update(data)
        if js:
            self.engine.js(
                "(function(x,d){if(x){for(var k in d)x.udata[k]=d[k];}})"
                f"(_genesys.ixn.interactions[{json.dumps(obj['g_uid'])}],{json.dumps(dict(data))});"
            )
