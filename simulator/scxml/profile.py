"""Profiles: the only way a dialect (e.g. ORS, in simulator/ors/dialect.py) changes the engine.

The base class *is* the W3C behaviour, so `Profile()` is the `w3c` profile. A dialect subclasses it
and overrides hooks; the engine never tests `profile.name`. Hooks are called at well-defined
points:

  loading      transform_include(), preprocess_script()
  model build  attribute_is_expression(), raise_params, action_handlers (definition-time validate())
  session      js_intrinsics() (the JS context's built-ins), time_base() (the wall clock `Date` shows),
               install_globals() (after system variables, before <data> initialisation),
               datamodel_initialized() (after <data> initialisation)
  execution    action_handlers (execute()), error_event_name(), io_processors, cancel_events(),
               external_event_taken()

The engine passes handlers an `ActionContext` (defined in executable.py) that offers exactly the
operations a platform extension needs: evaluate an expression, assign a location, raise an
internal event, enqueue an external event (optionally delayed on the virtual clock), schedule
and cancel timers, read the element's source line, and emit trace records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .clock import TimeBase

if TYPE_CHECKING:
    from lxml import etree

#: the W3C profile's wall clock (`Profile.time_base`)
_W3C_TIME_BASE = TimeBase()


#: the built-ins of a session's JS context: "modern", everything QuickJS has; "es5", the standard
#: library of an ES5-era engine (no Proxy, Map/Set, WeakMap/WeakRef, typed arrays, Promise,
#: atob/btoa, performance), ~20 KB less per session (docs/performance.md)
JSIntrinsics = Literal["modern", "es5"]


class ActionHandler(Protocol):
    """Executes custom executable-content elements of one XML namespace (e.g. ORS queue:submit)."""

    def validate(self, element: etree._Element) -> list[tuple[int, str]]:
        """Definition-time check of one element: (source line, message) per problem."""
        ...

    def execute(self, ctx: Any, element: Any) -> None:
        """Run the element; `ctx` is the interpreter's ActionContext, `element` the model node."""
        ...


class IOProcessor(Protocol):
    """Delivers a <send> whose type is not the SCXML I/O processor (e.g. ORS `fm`, basichttp)."""

    def send(self, ctx: Any, request: Mapping[str, Any]) -> None: ...


class Profile:
    """W3C SCXML 1.0 behaviour; subclass and override hooks for a dialect."""

    name: str = "w3c"

    #: namespace URI -> handler for custom action elements in executable content
    action_handlers: Mapping[str, ActionHandler] = {}
    #: <send type> URI (and aliases) -> extra I/O processor
    io_processors: Mapping[str, IOProcessor] = {}
    #: whether <raise> may carry <param> children that become `_event.data` (ORS 2009 draft)
    raise_params: bool = False
    #: SCXML children the dialect allows beyond the W3C content models (model.CONTENT_MODEL):
    #: parent -> {child: (min, max)} (ORS: <raise><param>, any number of top-level <script>s)
    extra_children: Mapping[str, Mapping[str, tuple[int, int | None]]] = {}
    #: SCXML elements the dialect rejects as definition errors (ORS: {"history"})
    unsupported_elements: frozenset[str] = frozenset()

    def attribute_is_expression(self, tag: str, attribute: str) -> bool:
        """Whether `attribute` of core element `tag` (local name) holds an expression.

        W3C: only the `*expr` spellings (eventexpr, targetexpr, ...) and `cond`/`expr` are
        expressions; `location`/`idlocation` are locations and handled separately. ORS also
        evaluates `<send event|target|type|delay>` and `<cancel sendid>`.
        """
        return attribute in {"cond", "expr"} or attribute.endswith("expr")

    def transform_include(self, include: etree._Element, fragment: etree._Element) -> etree._Element:
        """Adapt an XInclude'd XML fragment before it replaces the <xi:include> element.

        W3C/XInclude: unchanged. ORS: rewrite ids with the `resolveid` prefix and substitute
        `$$_MY_PREFIX_$$`.
        """
        return fragment

    def preprocess_script(self, source: str) -> str:
        """Rewrite script/expression source before compiling (e.g. SpiderMonkey-only syntax)."""
        return source

    def send_target(self, target: str) -> str:
        """The W3C spelling of an evaluated `<send target>` (ORS writes `_internal`, `_parent`)."""
        return target

    def log_fields(self, element: etree._Element) -> dict[str, Any]:
        """Extra fields of the `log` trace record from dialect attributes of `<log>` (ORS: level)."""
        return {}

    def time_base(self, session: Any = None) -> TimeBase:
        """The wall clock of `session`: epoch instant at virtual time 0 and the local time zone.

        W3C: Monday 5 January 2026 10:00 UTC, in UTC (nothing in a session reads the host clock).
        A dialect takes it from the run's configuration (ORS: the ``time`` section of the fakes
        profile of the session's group).
        """
        return _W3C_TIME_BASE  # frozen: one for every session (a session's start reads it twice)

    def js_intrinsics(self, session: Any) -> JSIntrinsics:
        """The built-ins of `session`'s JS context. W3C: "modern" (a document may use any of
        them). ORS: the ``javascript`` setting of the run's fakes profile (default "es5")."""
        return "modern"

    def install_globals(self, session: Any) -> None:
        """Define extra JS globals/system variables for a new session (e.g. `_genesys`, `_data`)."""

    def datamodel_initialized(self, session: Any) -> None:
        """Called once the `<data>` items are initialised, before top-level scripts run.

        W3C: nothing. ORS builds `_data` (the declared data as one object) here.
        """

    def error_event_name(self, kind: str, js_error: str | None = None, element: str | None = None) -> str:
        """Name of the internal error event for a failed evaluation.

        `kind` is the W3C category ("execution" or "communication"); `js_error` the JS exception
        name if any (ORS names it `error.script.TypeError`, W3C `error.execution`); `element` the
        local name of the element that failed (ORS: a `cond` of `transition`/`if` is
        `error.illegalcond.<JSError>`).
        """
        return f"error.{kind}"

    def error_event_data(self, data: dict[str, Any], element: str | None) -> dict[str, Any]:
        """`_event.data` of an error event; `data` holds `message`, `file` and `line`.

        W3C: unchanged. ORS adds its fields `document`, `element`, `linenumber`, `description`.
        """
        return data

    def execution_failed(self, session: Any, js_error: str | None, message: str) -> None:
        """Called when an evaluation of `session` failed with the JS exception `js_error` (None: not
        a JS exception) and `message`, as its error event is raised.

        W3C: nothing. ORS reports a global that its ``javascript: "es5"`` setting leaves out as an
        assumption of the simulation (the strategy may run on an ORS that has it).
        """

    def external_event_taken(self, session: Any, event: Any) -> None:
        """Called when `session` takes `event` off its external queue, before `_event` is bound and
        transitions are selected (W3C mainEventLoop).

        W3C: nothing. ORS applies the platform change the event reports (its object model changes
        only as a result of events: an interaction leaves ``_genesys.ixn`` when
        ``interaction.deleted`` is processed, not when the platform queues it).
        """

    def release_state(self, session: Any) -> None:
        """Called when `session` is disposed (SessionBase.dispose): let go of `profile_state`.

        W3C: drop it. ORS first breaks its platform's references among its own parts.
        """
        session.profile_state = None

    def cancel_events(self, sendid: str, cancelled: bool) -> list[tuple[str, dict[str, Any]]]:
        """Internal events to raise after `<cancel sendid>` (`cancelled`: a pending send was found).

        W3C: none. ORS answers with `cancel.successful` / `error.notallowed`.
        """
        return []


W3C = Profile()
