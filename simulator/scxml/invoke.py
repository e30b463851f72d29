"""`<invoke>` (W3C 6.4): child SCXML sessions on the same group and clock.

`Invoker` belongs to one session: it starts the invocations of the states entered in a macrostep,
cancels them when their state exits, runs `<finalize>` and autoforwards external events, and
filters the events of children (a cancelled invocation's events are discarded, W3C 6.4.3).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from . import model as m
from .errors import ExecutionError
from .events import Event
from .ioprocessors import SCXML_TYPES
from .loader import resolve_href
from .trace import InvokeRecord, jsonable

if TYPE_CHECKING:
    from .session import SessionBase

_SCXML_ROOT = re.compile(r"\s*<scxml[\s>]")


class Invoker:
    """The invocations of one session (see the module docstring)."""

    __slots__ = ("_counter", "invocations", "session")

    def __init__(self, session: SessionBase):
        self.session = session
        #: running invocations: invokeid -> (the <invoke>, the child session)
        self.invocations: dict[str, tuple[m.Invoke, SessionBase]] = {}
        self._counter = 0

    def invoke(self, inv: m.Invoke) -> None:
        """Start an invoked SCXML session on the same group and clock (W3C 6.4)."""
        session = self.session
        content = session.content
        try:
            type_ = inv.type
            if inv.type_expr is not None:
                type_ = str(content.evaluate(inv.type_expr, inv))
            if inv.id is not None:
                invokeid = inv.id
            else:
                self._counter += 1
                invokeid = f"{inv.state.id}.{session.sessionid[:8]}{self._counter}"
                if inv.idlocation is not None:
                    content.assign_value(inv.idlocation, invokeid, inv)
            if type_ not in SCXML_TYPES:
                raise ExecutionError(f"unsupported invoke type {type_!r}", line=inv.line)
            child_model = inv.model
            if inv.src_expr is not None:
                src = str(content.evaluate(inv.src_expr, inv))
                child_model = self.model_for_src(src, inv)
            elif inv.content is not None and inv.model is None:
                text = content.content_value(inv.content)
                if type(text).__name__ == "XMLValue":
                    text = jsonable(text)
                if not isinstance(text, str):
                    raise ExecutionError("<invoke> content is not an SCXML document", line=inv.line)
                if _SCXML_ROOT.match(text) and "xmlns=" not in text.split(">", 1)[0]:
                    # XML held in the datamodel loses the inherited default namespace declaration.
                    text = text.replace("<scxml", f'<scxml xmlns="{m.SCXML_NS}"', 1)
                child_model = m.model_from_string(
                    text, f"{session.model.entry}#invoke-{invokeid}", session.profile, session.model.loaded.project
                )
            if child_model is None:
                raise ExecutionError("<invoke> has no document to run", line=inv.line)
            if child_model.errors:
                raise ExecutionError(f"invoked document is invalid: {child_model.errors[0]}", line=inv.line)
            data = content.params(inv.params, inv.namelist) if (inv.params or inv.namelist) else None
        except ExecutionError as err:
            content.error(err, inv)
            return
        child = session.group.create_session(
            child_model,
            parent=session,
            invokeid=invokeid,
            initial_data=data,
            memory_limit=session.memory_limit,
            time_limit=session.time_limit,
            max_microsteps=session.max_microsteps,
            trace_datamodel=session.trace_datamodel,
        )
        self.invocations[invokeid] = (inv, child)
        session.emit(InvokeRecord(invokeid, child.sessionid, inv.file, inv.line))
        child.start()

    def model_for_src(self, src: str, inv: m.Invoke) -> m.Model:
        session = self.session
        path = resolve_href(inv.file or session.model.entry, src)
        project = session.model.loaded.project
        if path is None or path not in project:
            raise ExecutionError(f"invoke src {src!r} is not a file of this project", line=inv.line)
        return m.get_model(project, path, session.profile)

    def cancel_invoke(self, inv: m.Invoke) -> None:
        """Cancel the sessions `inv` started when its state exits (W3C 6.4.3)."""
        for invokeid, (node, child) in list(self.invocations.items()):
            if node is inv:
                del self.invocations[invokeid]
                child.cancel()
                self.session.group.sessions.pop(child.sessionid, None)
                if child.datamodel is not None:
                    child.datamodel.close()

    def cancel_all(self) -> None:
        """Cancel every child (the session stopped on an error)."""
        for _, child in list(self.invocations.values()):
            child.cancel()

    def external_event(self, event: Event) -> None:
        """Before an external event is processed: `<finalize>` of the invocation that sent it,
        and a copy to every child with `autoforward` (W3C 6.4, 6.5)."""
        for invokeid, (inv, child) in list(self.invocations.items()):
            if invokeid == event.invokeid and inv.finalize:
                self.session.content.execute_block(inv.finalize)
            if inv.autoforward and child.running:
                child.external_queue.append(event.copy())

    def deliver_from_child(self, child: SessionBase, event: Event) -> None:
        """Events from a cancelled invocation are discarded (W3C 6.4.3)."""
        session = self.session
        invocation = self.invocations.get(child.invokeid or "")
        if invocation is not None and invocation[1] is child and session.running:
            session.external_queue.append(event)
