"""SCXML events as the interpreter queues them (W3C 5.10.1, the fields of `_event`)."""

from __future__ import annotations

from typing import Any

from .trace import jsonable


def is_unicode_text(name: str) -> bool:
    """Whether `name` can be an event's name: Unicode text. JSON from a client may carry a lone
    surrogate (`"\\ud800"`), which no document's descriptor can name and `_event` cannot hold."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Event:
    """An SCXML event (W3C 5.10.1 `_event` fields)."""

    __slots__ = ("data", "invokeid", "name", "origin", "origintype", "raw", "sendid", "type")

    def __init__(
        self,
        name: str,
        data: Any = None,
        type: str = "external",
        sendid: str | None = None,
        origin: str | None = None,
        origintype: str | None = None,
        invokeid: str | None = None,
    ):
        self.name = name
        self.data = data
        self.type = type
        self.sendid = sendid
        self.origin = origin
        self.origintype = origintype
        self.invokeid = invokeid
        self.raw: str | None = None  # the HTTP request text of BasicHTTP events (`_event.raw`)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "sendid": self.sendid,
            "origin": self.origin,
            "origintype": self.origintype,
            "invokeid": self.invokeid,
            "data": jsonable(self.data),
        }

    def copy(self) -> Event:
        event = Event(self.name, self.data, self.type, self.sendid, self.origin, self.origintype, self.invokeid)
        event.raw = self.raw
        return event
