"""Other sessions of a simulation, as ``<session:start>`` / ``<session:terminate>`` see them."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .platform import OrsPlatform

#: sessions being started by <session:start> right now: they get no interaction
_WITHOUT_INTERACTION: set[int] = set()


def started_without_interaction(session: Any) -> bool:
    """Whether `session` is being started by ``<session:start>`` (it gets no interaction)."""
    return id(session) in _WITHOUT_INTERACTION


def start_session(platform: OrsPlatform, src: str, params: Mapping[str, Any]) -> str:
    """Start another session of the project (``<session:start>``); returns its session id.

    `src` is a project path or a URL whose path ends with one (``http://h/app/src-gen/X.scxml``).
    The new session runs in the same group, on the same clock and fakes, without an
    interaction; `params` initialise its same-named ``<data>``. When it ends, this session
    receives ``done.scxml.<name> {sessionid, reason, params}``. Raises LookupError.
    """
    from simulator.scxml.model import get_model

    session = platform.session
    project = session.model.loaded.project
    path = urlsplit(src).path.lstrip("/") if "://" in src else src.lstrip("/")
    here = posixpath.dirname(session.model.entry)
    candidates = [posixpath.normpath(posixpath.join(here, path)), path] if path else []
    found = next((c for c in candidates if c in project), None)
    if found is None and path:
        found = next((p for p in sorted(project) if path.endswith("/" + p)), None)
    if found is None:
        raise LookupError(f"no document {src!r} in the project")
    model = get_model(project, found, session.profile)
    if model.errors:
        raise LookupError(f"{found}: {model.errors[0]}")
    # the started session runs under the limits of the one that started it
    child = session.group.create_session(
        model,
        initial_data=dict(params),
        memory_limit=session.memory_limit,
        time_limit=session.time_limit,
    )
    name = model.name or posixpath.basename(found)

    def on_record(record: dict[str, Any]) -> None:
        if record.get("type") == "done" and record.get("session") == child.sessionid and session.running:
            data = {"sessionid": child.sessionid, "reason": record.get("status"), "params": record.get("donedata")}
            platform.engine.schedule_timer(0.0, lambda: platform.deliver(f"done.scxml.{name}", data))

    child.attach(on_record)
    _WITHOUT_INTERACTION.add(id(child))
    try:
        child.start()
    finally:
        _WITHOUT_INTERACTION.discard(id(child))
    return child.sessionid


def session_running(session: Any, sessionid: str) -> bool:
    """Whether a session of the group with this id is running."""
    other = session.group.sessions.get(str(sessionid))
    return other is not None and other.running


def terminate_session(session: Any, sessionid: str) -> bool:
    """Stop a session of the group (``<session:terminate>``); False if there is none."""
    other = session.group.sessions.get(str(sessionid))
    if other is None or not other.running:
        return False
    other.cancel()
    return True
