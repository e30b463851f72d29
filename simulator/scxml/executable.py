"""Executable content (W3C 4) and the datamodel operations around it (5.3, 5.7, 5.9, 5.10).

`ExecutableContent` runs blocks of one session: `<raise>`, `<send>` (evaluation; delivery is the
I/O processors', ioprocessors.py), `<cancel>`, `<log>`, `<assign>`, `<script>`, `<if>`,
`<foreach>` and profile actions (through `ActionContext`). It also initialises `<data>` and
evaluates `<donedata>`. Runtime errors never escape: a failing expression becomes an
`error.execution` internal event (W3C 5.10) plus an `error` trace record, and aborts the rest of
its block (W3C 4.10).

`ActionContext` is what a profile action handler gets (see profile.py): `evaluate`,
`evaluate_bool`, `assign`, `raise_event`, `send_external`, `schedule`/`cancel_timer`, `emit`,
`attribute`, `line`/`file`, `session`, `now`, `fail`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from . import model as m
from .clock import Timer, parse_duration
from .errors import ExecutionError
from .events import Event
from .trace import CancelRecord, ErrorRecord, ExtensionRecord, LogRecord, RaiseRecord, SendRecord, jsonable

if TYPE_CHECKING:
    from .session import SessionBase


def _js_error_type() -> type[Exception]:
    from .datamodel import JSError  # lazy: the null datamodel needs no JS engine

    return JSError


class ActionContext:
    """Operations a custom action handler (profile.action_handlers) may use on its session."""

    __slots__ = ("node", "session")

    def __init__(self, session: SessionBase, node: m.Node):
        self.session = session
        self.node = node

    @property
    def line(self) -> int | None:
        return self.node.line

    @property
    def file(self) -> str | None:
        return self.node.file

    @property
    def now(self) -> float:
        return self.session.group.clock.now

    @property
    def datamodel(self) -> Any:
        return self.session.datamodel

    def attribute(self, name: str, default: str | None = None) -> str | None:
        """Raw text of an attribute of the element being executed."""
        attributes = getattr(self.node, "attributes", None)
        if attributes is None and self.node.element is not None:
            attributes = self.node.element.attrib
        return (attributes or {}).get(name, default)

    def evaluate(self, expr: str) -> Any:
        """Evaluate an expression; failures raise ExecutionError (-> error.execution)."""
        return self.session.content.evaluate(expr, self.node)

    def evaluate_bool(self, expr: str) -> bool:
        return self.session.content.evaluate_bool_strict(expr, self.node)

    def assign(self, location: str, value: Any) -> None:
        """Store a Python value at a datamodel location."""
        self.session.content.assign_value(location, value, self.node)

    def raise_event(self, name: str, data: Any = None) -> None:
        """Put an event on the internal queue."""
        self.session.raise_event(Event(name, data, "internal"))

    def send_external(
        self, name: str, data: Any = None, delay: float = 0.0, sendid: str | None = None, origin: str | None = None
    ) -> Timer | None:
        """Enqueue an external event for this session, optionally after `delay` virtual seconds."""
        event = Event(name, data, "external", sendid, origin, None, None)
        return self.session.io.deliver_later(self.session, event, delay, sendid)

    def schedule(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run `callback` after `delay` seconds on the group's clock (virtual or wall)."""
        session = self.session
        return session.group.clock.schedule(delay, callback, key=session.sessionid, holder=session._timers)

    def cancel_timer(self, timer: Timer) -> None:
        self.session.group.clock.cancel(timer)

    def emit(self, type_: str, **fields: Any) -> None:
        """Emit a trace record (e.g. "action" / "response") located at this element."""
        fields.setdefault("file", self.node.file)
        fields.setdefault("line", self.node.line)
        self.session.emit(ExtensionRecord(type_, fields))

    def fail(self, message: str, kind: str = "execution") -> None:
        """Abort the element with an error.<kind> event."""
        raise ExecutionError(message, kind, None, self.node.line)


class ExecutableContent:
    """Runs the executable content of one session (see the module docstring)."""

    __slots__ = ("_send_counter", "session")

    def __init__(self, session: SessionBase):
        self.session = session
        self._send_counter = 0

    # ---- blocks -----------------------------------------------------------------------------

    def execute_block(self, block: tuple[Any, ...]) -> None:
        """Run actions in order; the first failure aborts the rest of the block (W3C 4.10)."""
        for action in block:
            try:
                _EXECUTORS[type(action)](self, action)
            except ExecutionError as err:
                self.error(err, action, err.sendid)
                return

    def raise_(self, node: m.Raise) -> None:
        name = node.event if node.event is not None else str(self.evaluate(node.event_expr or "", node))
        session = self.session
        if session.tracing:
            session.emit(RaiseRecord(name, node.file, node.line))
        data = self.params(node.params, ()) if node.params else None
        session.raise_event(Event(name, data, "internal"))

    def log(self, node: m.Log) -> None:
        value = self.evaluate(node.expr, node) if node.expr is not None else None
        session = self.session
        if session.tracing:
            extra = session.profile.log_fields(node.element) if node.element is not None else {}
            session.emit(LogRecord(node.label, jsonable(value), node.file, node.line, extra))  # e.g. ORS <log level>

    def assign(self, node: m.Assign) -> None:
        dm = self.session.datamodel
        try:
            if node.expr is not None:
                dm.assign(node.location, node.expr)
            else:
                if not dm.is_valid_location(node.location):
                    raise ExecutionError(f"invalid location {node.location!r}", line=node.line)
                dm.assign_value(node.location, node.content.value if node.content is not None else None)
        except ExecutionError:
            raise
        except Exception as exc:
            raise self.as_execution_error(exc, node) from exc

    def script(self, node: m.Script) -> None:
        try:
            self.session.datamodel.execute(node.source, node.name)
        except Exception as exc:
            raise self.as_execution_error(exc, node) from exc

    def if_(self, node: m.If) -> None:
        for cond, block in node.branches:
            if cond is None or self.evaluate_bool_strict(cond, node):
                self.execute_block(block)
                return

    def foreach(self, node: m.Foreach) -> None:
        dm = self.session.datamodel
        array = self.evaluate(node.array, node)
        if isinstance(array, dict):
            items = list(array.values())
        elif isinstance(array, (list, tuple)):
            items = list(array)
        else:
            raise ExecutionError(f"<foreach> array {node.array!r} is not iterable", line=node.line)
        for name in (node.item, node.index):
            if not name:
                continue
            if not dm.is_valid_location(name):
                raise ExecutionError(f"<foreach> {name!r} is not a valid location", line=node.line)
            try:
                dm.evaluate(name)
            except Exception:
                # W3C 4.6: a new variable is declared when `item`/`index` do not exist yet.
                try:
                    dm.declare(name.strip(), None)
                except Exception as exc:
                    raise self.as_execution_error(exc, node) from exc
        for index, item in enumerate(items):
            self.assign_value(node.item, item, node)
            if node.index:
                self.assign_value(node.index, index, node)
            for action in node.block:
                # A failure inside the body aborts the whole <foreach> (W3C 4.6).
                _EXECUTORS[type(action)](self, action)

    def custom(self, node: m.Custom) -> None:
        try:
            node.handler.execute(ActionContext(self.session, node), node)
        except ExecutionError:
            raise
        except Exception as exc:
            raise self.as_execution_error(exc, node) from exc

    def cancel(self, node: m.Cancel) -> None:
        session = self.session
        sendid = node.sendid if node.sendid is not None else str(self.evaluate(node.sendid_expr or "", node))
        if session.tracing:
            session.emit(CancelRecord(sendid, node.file, node.line))
        found = session.io.cancel_send(sendid)
        for name, data in session.profile.cancel_events(sendid, found):
            session.raise_event(Event(name, data, "platform"))

    def send(self, node: m.Send) -> None:
        """Evaluate a <send> (W3C 6.2) and hand it to the I/O processors."""
        sendid = node.id
        if sendid is None:
            self._send_counter += 1
            sendid = f"send.{self._send_counter}.{node.line}"
            if node.idlocation is not None:
                self.assign_value(node.idlocation, sendid, node)
        try:
            event = node.event
            if node.event_expr is not None:
                event = str(self.evaluate(node.event_expr, node))
            target = node.target
            if node.target_expr is not None:
                target = str(self.evaluate(node.target_expr, node))
            type_ = node.type
            if node.type_expr is not None:
                type_ = str(self.evaluate(node.type_expr, node))
            delay = 0.0
            if node.delay is not None or node.delay_expr is not None:
                raw = node.delay if node.delay is not None else self.evaluate(node.delay_expr or "", node)
                parsed = parse_duration(raw)
                if parsed is None:
                    raise ExecutionError(f"invalid delay {raw!r}", line=node.line)
                delay = parsed
            if node.content is not None:
                data = self.content_value(node.content)
            elif node.params or node.namelist:
                data = self.params(node.params, node.namelist)
            else:
                data = None
        except ExecutionError as err:
            err.sendid = sendid
            raise
        session = self.session
        if session.tracing:
            session.emit(SendRecord(event, sendid, target, type_, delay, jsonable(data), node.file, node.line))
        # _event.sendid is only set when the author gave an id (W3C 5.10.1, test333).
        session.io.dispatch(event, target, type_, sendid, delay, data, node, node.id)

    # ---- values -----------------------------------------------------------------------------

    def content_value(self, content: m.Content) -> Any:
        if content.expr is not None:
            return self.evaluate(content.expr, content)
        return content.value

    def params(self, params: tuple[m.Param, ...], namelist: tuple[str, ...]) -> dict[str, Any]:
        """The data of <send>/<invoke>/<donedata>: namelist values, then <param>s (W3C 5.7)."""
        data: dict[str, Any] = {}
        dm = self.session.datamodel
        for name in namelist:
            try:
                data[name] = dm.evaluate(name)
            except Exception as exc:
                raise self.as_execution_error(exc, None) from exc
        for p in params:
            value = self.evaluate(p.expr if p.expr is not None else p.location or "", p)
            name = p.name or ""
            if name in data:  # duplicate names keep every value (W3C 5.7 / test178)
                previous = data[name]
                data[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                data[name] = value
        return data

    def done_data(self, state: m.State) -> Any:
        """Evaluate <donedata> (W3C 5.7); errors give error.execution and empty data."""
        donedata = state.donedata
        if donedata is None:
            return None
        try:
            if donedata.content is not None:
                return self.content_value(donedata.content)
            return self.params(donedata.params, ()) if donedata.params else None
        except ExecutionError as err:
            self.error(err, donedata)
            return None

    def initialize_datamodel(self) -> None:
        """Early binding: every <data> now; late: declare all, initialise the root's (W3C 5.3.3)."""
        session = self.session
        model = session.model
        if model.binding == "early":
            self.initialize_data(model.all_data)
        else:
            for data in model.all_data:
                if data.id:
                    session.datamodel.declare(data.id, None)
            self.initialize_data(session.root.data)
            session.first_entry_done.add(session.root)

    def initialize_data(self, items: Iterable[m.Data]) -> None:
        dm = self.session.datamodel
        initial_data = self.session.initial_data
        run_of = getattr(dm, "declare_undefined", None)
        run: list[m.Data] = []  # <data> without a value, declared in one call (`declare_undefined`)
        for data in items:
            if not data.id:
                continue
            if (
                run_of is not None
                and data.expr is None
                and data.src_value is None
                and data.content is None
                and data.id not in initial_data
            ):
                run.append(data)
                continue
            if run:
                self._declare_run(run_of, run)
                run = []
            self._initialize_one(data)
        if run:
            self._declare_run(run_of, run)

    def _declare_run(self, run_of: Any, run: list[m.Data]) -> None:
        """`<data>` without a value, in document order, each as `_initialize_one` declares it, the
        run in as few calls as the datamodel can (a name the global object has, or an error, is
        handled alone, exactly once, and the run goes on after it)."""
        if len(run) == 1:
            self._initialize_one(run[0])
            return
        ids = tuple(data.id or "" for data in run)
        i = 0
        while i < len(run):
            try:
                stop, exc = run_of(ids, i)
            except Exception:
                stop, exc = i, None  # (the datamodel failed outside the run) declared alone
            if stop >= len(run):
                return
            if exc is None:
                self._initialize_one(run[stop])
            else:
                self._unbound(run[stop], exc)
            i = stop + 1

    def _initialize_one(self, data: m.Data) -> None:
        dm = self.session.datamodel
        initial_data = self.session.initial_data
        try:
            if data.id in initial_data:
                dm.declare_value(data.id, initial_data[data.id])
            elif data.expr is not None:
                dm.declare(data.id, data.expr)
            elif data.src_value is not None:
                dm.declare_value(data.id, data.src_value)
            elif data.content is not None:
                dm.declare_value(data.id, data.content.value)
            else:
                dm.declare(data.id, None)
        except Exception as exc:
            self._unbound(data, exc)

    def _unbound(self, data: m.Data, exc: Exception) -> None:
        """W3C 5.3: a `<data>` whose value failed exists but stays unbound; error.execution."""
        with contextlib.suppress(Exception):
            self.session.datamodel.declare(data.id, None)
        self.error_from(exc, data)

    # ---- expressions and errors -------------------------------------------------------------

    def condition(self, t: m.Transition) -> bool:
        """conditionMatch(): a failing cond is false and raises error.execution (W3C 5.9.1)."""
        try:
            return bool(self.session.datamodel.evaluate_bool(t.cond))
        except Exception as exc:
            self.error_from(exc, t)
            return False

    def evaluate(self, expr: str, node: m.Node) -> Any:
        try:
            return self.session.datamodel.evaluate(expr)
        except ExecutionError:
            raise
        except Exception as exc:
            raise self.as_execution_error(exc, node) from exc

    def evaluate_bool_strict(self, expr: str, node: m.Node) -> bool:
        try:
            return bool(self.session.datamodel.evaluate_bool(expr))
        except Exception as exc:
            raise self.as_execution_error(exc, node) from exc

    def assign_value(self, location: str, value: Any, node: m.Node) -> None:
        try:
            self.session.datamodel.assign_value(location, value)
        except Exception as exc:
            raise self.as_execution_error(exc, node) from exc

    def as_execution_error(self, exc: Exception, node: m.Node | None) -> ExecutionError:
        if isinstance(exc, ExecutionError):
            return exc
        name = getattr(exc, "name", None) if isinstance(exc, _js_error_type()) else None
        message = getattr(exc, "message", None) or str(exc)
        if name:
            message = f"{name}: {message}"
        line = node.line if node is not None else None
        file = None
        js_line = getattr(exc, "line", None)
        if isinstance(js_line, int) and js_line > 0:
            # A line of a script's text (the one that failed, or the one that defined the failing
            # function) -> its file and line; a cond/expr line ("<input>") is the node's own.
            source = getattr(exc, "source", None)
            script = self.session.model.scripts_by_name.get(source) if source else None
            if script is None and isinstance(node, m.Script) and source in (None, "<input>"):
                script = node  # its text ran unnamed (syntax error, or no bytecode support)
            if script is not None:
                file, line = script.locate(js_line)
        error = ExecutionError(message, "execution", name, line)
        error.file = file
        return error

    def error_from(self, exc: Exception, node: m.Node | None) -> None:
        self.error(self.as_execution_error(exc, node), node)

    def error(self, err: ExecutionError, node: m.Node | None, sendid: str | None = None) -> None:
        """Record the failure and put error.<kind> on the internal queue (W3C 5.10)."""
        session = self.session
        tag = node.element.tag if node is not None and node.element is not None else None
        element = tag.rsplit("}", 1)[-1] if isinstance(tag, str) else None
        name = session.profile.error_event_name(err.kind, err.js_error, element)
        line = err.line if err.line is not None else (node.line if node is not None else None)
        file = err.file or (node.file if node is not None else session.model.entry)
        session.emit(ErrorRecord(err.kind, name, err.message, file, line))
        data = session.profile.error_event_data({"message": err.message, "line": line, "file": file}, element)
        session.raise_event(Event(name, data, "platform", sendid=sendid or err.sendid))
        session.profile.execution_failed(session, err.js_error, err.message)


_EXECUTORS: Final[dict[type, Callable[[ExecutableContent, Any], None]]] = {
    m.Raise: ExecutableContent.raise_,
    m.Send: ExecutableContent.send,
    m.Cancel: ExecutableContent.cancel,
    m.Log: ExecutableContent.log,
    m.Assign: ExecutableContent.assign,
    m.Script: ExecutableContent.script,
    m.If: ExecutableContent.if_,
    m.Foreach: ExecutableContent.foreach,
    m.Custom: ExecutableContent.custom,
}
