"""Event I/O processors (W3C 6.2, Appendix C): where an evaluated `<send>` goes.

`IOProcessors` belongs to one session. `dispatch` hands a `<send>` to the SCXML I/O processor
(C.1: this session, `#_internal`, `#_parent`, `#_scxml_<id>`, `#_<invokeid>`), to BasicHTTP
(C.2, as an in-process loopback: simulations never touch the network) or to an I/O processor of
the profile (e.g. ORS `fm`). Delayed sends are timers on the group clock, kept by send id so
`<cancel>` can find them.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import TYPE_CHECKING, Any

from . import model as m
from .clock import Timer
from .errors import ExecutionError
from .events import Event
from .executable import ActionContext

if TYPE_CHECKING:
    from .session import SessionBase

SCXML_IO = m.SCXML_EVENT_PROCESSOR
BASICHTTP_IO = "http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor"
BASICHTTP_TYPES = {BASICHTTP_IO, "basichttp"}
#: base of the BasicHTTP locations: an in-process loopback, nothing listens on a socket
BASICHTTP_BASE = "http://localhost/scxml/"
SCXML_TYPES = {None, "", "scxml", SCXML_IO, "http://www.w3.org/TR/scxml", m.SCXML_INVOKE_TYPE}


class IOProcessors:
    """Sending and receiving events for one session (see the module docstring)."""

    __slots__ = ("send_timers", "session")

    def __init__(self, session: SessionBase):
        self.session = session
        #: pending delayed sends: sendid -> timers
        self.send_timers: dict[str, list[Timer]] = {}

    def system_variable(self) -> dict[str, Any]:
        """`_ioprocessors` (W3C 5.10): the location of this session for each processor."""
        session = self.session
        http = {"location": BASICHTTP_BASE + session.sessionid}
        processors: dict[str, Any] = {
            SCXML_IO: {"location": session.location},
            "scxml": {"location": session.location},
            BASICHTTP_IO: http,
            "basichttp": http,
        }
        for name in session.profile.io_processors:
            processors.setdefault(name, {"location": session.location})
        return processors

    def dispatch(
        self,
        event: str | None,
        target: str | None,
        type_: str | None,
        sendid: str,
        delay: float,
        data: Any,
        node: m.Node | None,
        event_sendid: str | None = None,
    ) -> None:
        """Hand an evaluated <send> to the SCXML I/O processor or a profile I/O processor."""
        session = self.session
        profile = session.profile
        if target:
            target = profile.send_target(target)  # dialect spellings (ORS `_internal`)
        if type_ in BASICHTTP_TYPES and type_ not in profile.io_processors:
            self.send_basichttp(event, target, sendid, delay, data, node)
            return
        if type_ not in SCXML_TYPES:
            processor = profile.io_processors.get(type_ or "")
            if processor is None:
                err = ExecutionError(f"unsupported send type {type_!r}", "execution", line=node.line if node else None)
                err.sendid = sendid
                raise err
            request = {"event": event, "target": target, "type": type_, "sendid": sendid, "delay": delay, "data": data}
            processor.send(ActionContext(session, node or session.root), request)
            return
        ev = Event(event or "", data, "external", event_sendid, session.location, SCXML_IO, None)
        if target is None or target == "":
            self.deliver_later(session, ev, delay, sendid)
            return
        if target == "#_internal":
            ev.type = "internal"
            session.raise_event(ev)
            return
        if target == "#_parent":
            if session.parent is None:
                self.communication_error(f"no parent session for target {target!r}", node, sendid)
                return
            ev.invokeid = session.invokeid
            self.deliver_later(session.parent, ev, delay, sendid)
            return
        if target.startswith("#_scxml_"):
            other = session.group.sessions.get(target[len("#_scxml_") :])
            if other is None or not other.running:
                self.communication_error(f"no session {target!r}", node, sendid)
                return
            self.deliver_later(other, ev, delay, sendid)
            return
        if target.startswith("#_"):
            invocation = session.invocations.get(target[2:])
            if invocation is None or not invocation[1].running:
                self.communication_error(f"no invoked session {target!r}", node, sendid)
                return
            self.deliver_later(invocation[1], ev, delay, sendid)
            return
        err = ExecutionError(f"unsupported send target {target!r}", "execution", line=node.line if node else None)
        err.sendid = sendid
        raise err

    def send_basichttp(
        self, event: str | None, target: str | None, sendid: str, delay: float, data: Any, node: m.Node | None
    ) -> None:
        """W3C C.2 BasicHTTP, as an in-process loopback: the request is built and parsed as HTTP
        would carry it (`_event.raw`, form fields, `_scxmleventname`), but only sessions of this
        group are reachable; any other URL is error.communication (simulations never touch the
        network)."""
        session = self.session
        if not target:
            self.communication_error("BasicHTTP <send> needs a target URL", node, sendid)
            return
        receiver = None
        if target.startswith(BASICHTTP_BASE):
            receiver = session.group.sessions.get(target[len(BASICHTTP_BASE) :])
        if receiver is None or not receiver.running:
            self.communication_error(f"BasicHTTP target {target!r} is not reachable", node, sendid)
            return
        content = isinstance(node, m.Send) and node.content is not None
        if content:
            body = urllib.parse.quote(data if isinstance(data, str) else json.dumps(data))
        else:
            fields = [("_scxmleventname", event)] if event else []
            for key, value in (data or {}).items() if isinstance(data, dict) else ():
                fields.append((key, value if isinstance(value, str) else json.dumps(value)))
            body = urllib.parse.urlencode(fields)
        path = target[len("http://localhost") :]
        raw = (
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
        )
        # The receiving side: parse the request as an HTTP server would.
        name = "HTTP.POST"
        payload: Any = None
        if content:
            payload = urllib.parse.unquote(body)
        else:
            parsed = urllib.parse.parse_qsl(body, keep_blank_values=True)
            values: dict[str, Any] = {}
            for key, value in parsed:
                if key == "_scxmleventname":
                    name = value
                else:
                    try:
                        values[key] = json.loads(value)
                    except ValueError:
                        values[key] = value
            payload = values or None
        ev = Event(name, payload, "external", None, BASICHTTP_BASE + session.sessionid, BASICHTTP_IO, None)
        ev.raw = raw
        self.deliver_later(receiver, ev, delay, sendid)

    def communication_error(self, message: str, node: m.Node | None, sendid: str) -> None:
        err = ExecutionError(message, "communication", None, node.line if node else None)
        self.session.content.error(err, node, sendid)

    def deliver_later(self, target: SessionBase, event: Event, delay: float, sendid: str | None) -> Timer | None:
        """Deliver now (delay 0) or schedule on the group clock; returns the timer if any."""
        if delay <= 0:
            target.io.receive(self.session, event)
            return None
        session = self.session
        send_timers = self.send_timers

        def fire() -> None:
            timers = send_timers.get(sendid or "")
            if timers is not None and timer in timers:
                timers.remove(timer)
                if not timers:
                    del send_timers[sendid or ""]
            if session.running:
                target.io.receive(session, event)

        timer: Timer = session.group.clock.schedule(delay, fire, key=session.sessionid)
        send_timers.setdefault(sendid or "", []).append(timer)
        return timer

    def receive(self, sender: SessionBase, event: Event) -> None:
        """An event arrives on this session's external queue."""
        session = self.session
        if not session.running and session.status != "created":
            return
        if sender.parent is session and sender is not session:
            session.invoker.deliver_from_child(sender, event)
        else:
            session.external_queue.append(event)

    def cancel_send(self, sendid: str) -> bool:
        """`<cancel>`: drop the pending sends with this id; whether there were any."""
        timers = self.send_timers.pop(sendid, ())
        for timer in timers:
            self.session.group.clock.cancel(timer)
        return bool(timers)

    def cancel_all(self) -> None:
        for timers in self.send_timers.values():
            for timer in timers:
                self.session.group.clock.cancel(timer)
        self.send_timers.clear()

    def pending_sends(self) -> list[dict[str, Any]]:
        """Delayed sends not yet delivered, by due time (for snapshots)."""
        timers: list[dict[str, Any]] = []
        for sendid, items in self.send_timers.items():
            timers.extend({"sendid": sendid, "due": t.due} for t in items if not t.cancelled)
        return sorted(timers, key=lambda t: (t["due"], t["sendid"]))
