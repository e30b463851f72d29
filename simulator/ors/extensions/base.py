"""The declaration format of an ORS extension module, and the fake-behaviour contract.

Every module in this package (session, ws, queue, interaction, dialog, statistic, classification,
resource, elasticconnector) is *data*: one :class:`Module` instance named ``MODULE`` that says

* its XML namespace(s) and short name (``queue``) and the event prefixes it owns;
* every action element (:class:`Action`) with its attributes (:class:`Attr`: required, how the
  value is written - ``expression`` / ``literal`` / ``location`` -, type, default, valid values)
  and its child elements (:class:`Child`, recursively);
* every event it can emit (:class:`EventDecl`) with its data fields;
* its ``_genesys.<name>`` JavaScript surface: the JS source that installs it (``js``) and the list
  of documented members (:class:`JSMember`) so lint, docs and tests can enumerate them;
* its fake behaviour: for each action a Python function ``fake(request, env) -> list[Emit]`` that
  says which events the simulated platform sends back, when (virtual seconds) and with what data;
* its part of the fakes profile (:class:`FakesSection`: the top-level sections it reads, their JSON
  schema, defaults and checks; the schema of a rule's ``params``) and its *outcome hook* (how one
  of its events changes the strategy's routing outcome).  ``simulator/ors/fakes.py`` composes the
  profile from these declarations: adding an extension means adding one module here.

How an action runs (implemented once, in ``simulator/ors/dialect.py``):

1. the handler evaluates the element's attributes and children following the declaration
   (:func:`evaluate_attribute` policy), checks types / valid values (a bad value becomes the
   module's error event ``error.<prefix>.<action>`` with ``error='invalidattribute'``);
2. it generates a request id and writes it into the ``requestid`` location *synchronously*
   (Composer compares ``_event.data.requestid`` with that location on every response);
3. it records a :class:`Request` (id, module, action, evaluated attributes, children, source
   line) in the session's pending requests;
4. it asks the fakes profile for the first matching rule (``simulator/ors/fakes.py``): a rule may
   answer with its own events, an error, a delay, or mark the request *manual* (it then waits
   for :meth:`OrsSession.respond`); with no rule, ``Action.fake`` gives the default answer;
5. each :class:`Emit` is delivered as an external event after its virtual delay; ``requestid``
   is added to the data when the event belongs to the request.  A request is *answered* when an
   event flagged ``final`` is delivered.

Unsolicited platform events (hang-up, party change, ...) use the same :class:`Emit` type.
Definition-time checks (missing required attribute, literal outside its valid values, unknown
child element) come from :func:`validate_element`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from lxml import etree

SCXML_NS = "http://www.w3.org/2005/07/scxml"
GENESYS_NS_BASE = "http://www.genesyslab.com/modules/"
#: at most this many records of one kind (assumptions, __Log messages, recorded calls) are kept
#: per session (the JS memory limit does not cover Python-side records a hostile loop could pile up)
MAX_KEPT = 10_000

#: How an attribute value is written in the document.
#: ``expression``: an ECMAScript value expression; ``literal``: a bare token / text taken as is
#: (``type="agentgroup"``); ``location``: an lvalue the platform writes (``requestid``).
AttrKind = Literal["expression", "literal", "location"]

#: Value types checked after evaluation.  ``any`` accepts everything; ``resource`` is a string or
#: a resource object; ``duration`` a number of seconds or a CSS2 time string ("10s", "200ms").
AttrType = Literal["any", "string", "integer", "number", "boolean", "object", "array", "resource", "duration"]


class _NoDefault:
    """Sentinel: the attribute has no default value."""

    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True)
class Attr:
    """One attribute of an action or child element."""

    name: str
    kind: AttrKind = "expression"
    required: bool = False
    type: AttrType = "any"
    default: Any = NO_DEFAULT
    #: allowed values (after evaluation); ``None`` = unrestricted
    values: tuple[Any, ...] | None = None
    doc: str = ""
    #: the ``error`` ORS answers when a required attribute evaluates to nothing (default: the
    #: module's ``invalid_error``), e.g. ``invaliddestination`` for a redirect's ``to``
    invalid_error: str | None = None
    #: ORS rule for expression attributes: when evaluating a *bare token* (``route="false"``,
    #: ``type="ann"``) throws a ReferenceError, the token itself is the value.
    bare_token_literal: bool = True


class _Declared:
    """An element declaration (action or child) with its attribute declarations."""

    attributes: tuple[Attr, ...]

    def attr(self, name: str) -> Attr | None:
        """The declaration of attribute `name`, if any."""
        return next((a for a in self.attributes if a.name == name), None)


@dataclass(frozen=True)
class Child(_Declared):
    """A child element allowed inside an action (or inside another child)."""

    tag: str
    #: ``None`` = the parent's module namespace; ``SCXML_NS`` for core ``<param>``/``<content>``;
    #: another module's namespace URI for cross-module children (``dialog:runtreatments``).
    namespace: str | None = None
    min: int = 0
    max: int | None = None
    attributes: tuple[Attr, ...] = ()
    children: tuple[Child, ...] = ()
    #: children/attributes not declared here are accepted and evaluated generically
    #: (used for cross-module containers whose content the other module declares)
    open: bool = False
    doc: str = ""


@dataclass(frozen=True)
class EventDecl:
    """An event the platform can send to the session."""

    name: str
    fields: tuple[str, ...] = ()
    doc: str = ""
    #: sent by the platform on its own (not as the answer to an action)
    unsolicited: bool = False


@dataclass(frozen=True)
class Emit:
    """One event the fake sends: after `delay` virtual seconds, event `name` with `data`.

    `final` marks the event that completes the request (``.done`` or the error event);
    `request` says whether ``requestid`` (and ``interactionid`` when known) are added to `data`.
    """

    name: str
    data: Mapping[str, Any] = field(default_factory=dict)
    delay: float = 0.0
    final: bool = False
    request: bool = True
    #: applied when the session processes the event (e.g. merge the IVR's udata): ORS changes
    #: the object model only as a result of events, so the handler of this event is the first
    #: to see the change
    effect: Callable[[FakeEnv], None] | None = None


@dataclass
class Request:
    """A pending (or answered) extension request, as shown to the user and the trace."""

    id: str
    module: str
    action: str
    attributes: dict[str, Any]
    children: list[dict[str, Any]]
    file: str | None = None
    line: int | None = None
    #: ``closed``: still pending when the session ended (ORS drops it)
    status: Literal["pending", "manual", "answered", "cancelled", "closed"] = "pending"
    #: the events already delivered (name, data, virtual time)
    responses: list[dict[str, Any]] = field(default_factory=list)
    #: what answered it: "default", "rule:<index>", "manual", "platform"
    answered_by: str | None = None
    created_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable view (trace records, websocket frames, CLI summary)."""
        return {
            "id": self.id,
            "module": self.module,
            "action": self.action,
            "attributes": self.attributes,
            "children": self.children,
            "file": self.file,
            "line": self.line,
            "status": self.status,
            "responses": self.responses,
            "answered_by": self.answered_by,
            "created_at": self.created_at,
        }

    def child(self, tag: str) -> dict[str, Any] | None:
        """First evaluated child (searching depth-first) with local name `tag`."""
        return next(iter(find_children(self.children, tag)), None)


def find_children(children: Iterable[dict[str, Any]], tag: str) -> list[dict[str, Any]]:
    """All evaluated children (depth-first, document order) whose local name is `tag`."""
    found: list[dict[str, Any]] = []
    for c in children:
        if c["tag"] == tag:
            found.append(c)
        found.extend(find_children(c.get("children", ()), tag))
    return found


class FakeEnv:
    """What a fake function may read or change: the fakes profile and the simulated platform.

    Implemented by ``simulator/ors/platform.py``; declared here so modules type against it
    without importing the dialect.
    """

    fakes: Any  # simulator.ors.fakes.FakesProfile
    #: the fakes' stores by module (state()), made on first use; declared, not in `__dict__`:
    #: the platform compiled by mypyc has none
    _fake_state: dict[str, dict[str, Any]] | None = None

    @property
    def now(self) -> float:
        """Virtual seconds since session start.

        A property, as the platform's is: compiled by mypyc, an attribute declared here would be
        a slot of its own that the platform's property does not fill."""
        raise NotImplementedError

    def config(self, module: str) -> dict[str, Any]:
        """The fakes profile section of `module` with the matching rule's ``params`` merged in."""
        raise NotImplementedError

    def interaction(self, interactionid: str | None) -> dict[str, Any] | None:
        """The platform's interaction object (a dict mirrored into ``_genesys.ixn``), or None."""
        raise NotImplementedError

    def primary_interaction_id(self) -> str | None:
        """g_uid of the session's first interaction."""
        raise NotImplementedError

    def new_id(self, kind: str = "req") -> str:
        """A fresh, deterministic id (request ids, session ids, connids)."""
        raise NotImplementedError

    def pending(self, module: str | None = None, action: str | None = None) -> list[Request]:
        """Live requests of this session (optionally filtered)."""
        raise NotImplementedError

    def cancel_request(self, request_id: str, emits: list[Emit]) -> Request | None:
        """Stop answering `request_id` (its scheduled events are dropped); deliver `emits` for it."""
        raise NotImplementedError

    def state(self, module: str) -> dict[str, Any]:
        """Per-session mutable store of `module`'s fake (stored documents, open web requests...).

        Lives as long as this environment (one per simulated session), so a replay starts afresh.
        """
        if self._fake_state is None:
            self._fake_state = {}
        return self._fake_state.setdefault(module, {})

    def execute_js(self, source: str) -> None:
        """Run a script in the session's global scope (keeps a ``_genesys`` surface in step with
        the fake, e.g. the value ``sData`` returns after a ``statistic.update``)."""
        raise NotImplementedError

    def add_interaction(self, ixn_id: str | None = None, obj: dict[str, Any] | None = None) -> dict[str, Any]:
        """Put an interaction into the session's object model (and its JS mirror)."""
        raise NotImplementedError

    def merge_udata(self, ixn_id: str | None, data: Mapping[str, Any], js: bool = True) -> None:
        """Merge user data into an interaction (before the event announcing it is delivered)."""
        raise NotImplementedError

    def assign(self, location: str, value: Any) -> None:
        """Write a value into a datamodel location (``sessionid``/``idlocation`` outputs)."""
        raise NotImplementedError

    #: what the fakes could not answer (see :meth:`assume`), in order, one per distinct question
    assumptions: list[dict[str, Any]]
    _assumed: set[str]

    def trace(self, kind: str, fields: dict[str, Any]) -> None:
        """Add a record of type `kind` to the session's trace (when it is traced)."""
        raise NotImplementedError

    def assume(
        self,
        what: str,
        asked: Mapping[str, Any],
        used: Any,
        path: list[str],
        value: Any = None,
        append: bool = False,
        request: Request | None = None,
    ) -> None:
        """Report a lookup the fakes profile cannot answer: `what` was `asked` and the default
        `used`; `path` (and `value`, appended to a list when `append`) is where the answer goes in
        the profile.  Recorded once per distinct question in ``assumptions`` and as an
        ``assumption`` trace record (docs/trace.md)."""
        key = json.dumps([what, asked], sort_keys=True, default=str)
        if key in self._assumed or len(self.assumptions) >= MAX_KEPT:
            return
        self._assumed.add(key)
        fields: dict[str, Any] = {
            "what": what,
            "asked": dict(asked),
            "used": used,
            "fakes": {"path": [str(p) for p in path], "value": used if value is None else value, "append": append},
            "file": request.file if request is not None else None,
            "line": request.line if request is not None else None,
        }
        self.assumptions.append(fields)
        self.trace("assumption", dict(fields))

    def start_session(self, src: str, params: Mapping[str, Any]) -> str:
        """Start a project document as another session; its id (LookupError if it is unknown)."""
        raise NotImplementedError

    def session_running(self, sessionid: str) -> bool:
        """Whether a session of the simulation with this id is running."""
        raise NotImplementedError

    def terminate_session(self, sessionid: str) -> bool:
        """Stop a session of the simulation; False if there is none."""
        raise NotImplementedError


#: A fake: given the evaluated request and the environment, the events to send back.
FakeFn = Callable[[Request, FakeEnv], list[Emit]]
#: An outcome hook: ``(event name, event data, request answered or None, current outcome)`` -> the
#: new outcome (``{"status": "routed", ...}``), or None when the event does not change it.
OutcomeFn = Callable[[str, Mapping[str, Any], Request | None, Mapping[str, Any]], dict[str, Any] | None]
#: What ends when an interaction leaves: ``(env, interaction id, why)`` -> ``[(request, final event)]``.
LeftFn = Callable[[FakeEnv, str, str], list[tuple[Request, Emit]]]
#: Checks JSON schema cannot express: ``(section value, "$.<section>")`` -> problems ``"<path>: <why>"``.
CheckFn = Callable[[Any, str], list[str]]


@dataclass(frozen=True)
class FakesSection:
    """A top-level section of the fakes profile that one module owns (``queue``, ``http``...)."""

    name: str
    #: JSON schema (Draft 2020-12) of the section's value
    schema: Mapping[str, Any]
    #: the value when the profile does not give the section (objects are merged key by key)
    default: Any
    #: copied into ``__orsFakes`` for the module's JS surface (read synchronously by JS)
    js: bool = False
    #: semantic checks beyond the schema (regexes compile, dates parse...)
    check: CheckFn | None = None
    doc: str = ""


#: a quantified group that itself contains a quantifier: the classic catastrophic-backtracking
#: shape ("(a+)+", "(x*)*"); Python's re has no time limit, so profiles may not use it
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]")
MAX_PATTERN = 500


def regex_problem(pattern: str) -> str | None:
    """Why a ``re:`` pattern of a profile is refused (invalid, too long, nested quantifiers)."""
    if len(pattern) > MAX_PATTERN:
        return f"regular expression longer than {MAX_PATTERN} characters"
    if _NESTED_QUANTIFIER.search(pattern):
        return "nested quantifiers such as (a+)+ are not allowed (catastrophic backtracking)"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression ({exc})"
    return None


@dataclass(frozen=True)
class Action(_Declared):
    """An action element (``<queue:submit>``) of a module."""

    name: str
    attributes: tuple[Attr, ...] = ()
    children: tuple[Child, ...] = ()
    #: event prefix of this action's events when it differs from the module's (``voice``)
    event_prefix: str | None = None
    #: events answering this action (names relative to nothing: full names)
    events: tuple[str, ...] = ()
    #: the default fake behaviour; ``None`` = answer ``<prefix>.<name>.done`` immediately-ish
    fake: FakeFn | None = None
    #: error codes the fake may put in ``error`` (documentation, rule validation)
    errors: tuple[str, ...] = ()
    #: False for actions that produce no request/events (e.g. ``<dialog:runtreatments>``
    #: standalone or treatments inside a submit)
    asynchronous: bool = True
    #: the attribute holding this action's timeout and its unit in seconds (``("timeout", 1.0)``;
    #: ms: 0.001): without a final answer by then the platform answers ``error: 'timeout'``
    timeout: tuple[str, float] | None = None
    #: what ORS itself refuses whatever the fakes say: request -> ``(error, description)`` or None
    refuse: Callable[[Request], tuple[str, str] | None] | None = None
    #: rule ``match`` keys computed from the request besides its attributes: key -> the values
    #: a rule's expected value is compared with (any may match), e.g. a submit's ``targets``
    match_keys: Mapping[str, Callable[[Request], list[Any]]] = field(default_factory=dict)
    doc: str = ""


@dataclass(frozen=True)
class JSMember:
    """A documented member of ``_genesys.<module>``: function, property or enumeration."""

    name: str
    kind: Literal["function", "property", "enum", "object"]
    signature: str = ""
    doc: str = ""
    #: for enums: member names in order
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class Module:
    """One ORS extension module, fully declared."""

    #: short name: ``queue``, ``interaction``, ``ws``, ... (also the ``<namespace>`` suffix)
    name: str
    namespace: str
    #: prefixes of the events this module owns (``interaction`` owns interaction/voice/...)
    event_prefixes: tuple[str, ...]
    #: the ``_genesys`` property: ``queue`` -> ``_genesys.queue`` (interaction uses ``ixn``)
    js_name: str
    actions: Mapping[str, Action] = field(default_factory=dict)
    events: tuple[EventDecl, ...] = ()
    #: JS source installing ``_genesys.<js_name>``; runs once per session after the fakes data
    #: object ``__orsFakes`` and the bridge ``__orsCall(name, argsJson)`` exist.  It must be
    #: constant text (no per-session formatting) so it can be compiled once.
    js: str = ""
    js_members: tuple[JSMember, ...] = ()
    #: namespace spellings accepted besides `namespace` (the docs omit ``http://``)
    aliases: tuple[str, ...] = ()
    doc: str = ""
    #: called once when a session's platform starts, to schedule platform activity the fakes
    #: profile scripts for this module (e.g. the ``ws.requests`` web requests)
    start: Callable[[FakeEnv], None] | None = None
    #: the fakes-profile sections this module reads
    fakes: tuple[FakesSection, ...] = ()
    #: JSON schema of a rule's ``params`` for this module (merged over the section its fakes
    #: read); None: the schema of the module's first section, or no params when it has none
    rule_params: Mapping[str, Any] | None = None
    #: how this module's events change the strategy's outcome (see :data:`OutcomeFn`)
    outcome: OutcomeFn | None = None
    #: the ``error`` of a request ORS refuses (``invalidattribute``; statistic: ``Request Invalid``)
    invalid_error: str = "invalidattribute"
    #: an interaction leaves the strategy (deleted, routed away): ``(env, interaction id, why)`` ->
    #: the module's requests for it that end, each with the event that ends it (empty: closed
    #: silently, e.g. through ``env.cancel_request``)
    interaction_left: LeftFn | None = None
    #: the outcome of a session that ended without one, from this module's requests (e.g. a
    #: terminate was asked for); None: the module has nothing to say
    ended_outcome: Callable[[list[Request]], dict[str, Any] | None] | None = None
    #: extra ``__orsFakes`` data derived from the merged profile (e.g. defaults that follow
    #: another section), for the module's JS surface
    js_data: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None

    def params_schema(self) -> Mapping[str, Any] | None:
        """The JSON schema a rule's ``params`` for this module must follow (None: no params)."""
        if self.rule_params is not None:
            return self.rule_params
        return self.fakes[0].schema if self.fakes else None

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every namespace URI that selects this module."""
        return (self.namespace, *self.aliases)

    def event_prefix(self, action: Action) -> str:
        """Prefix of `action`'s events (``queue`` -> ``queue.submit.done``)."""
        return action.event_prefix or self.event_prefixes[0]

    def done_event(self, action: Action) -> str:
        """``<prefix>.<action>.done``."""
        return f"{self.event_prefix(action)}.{action.name}.done"

    def error_event(self, action: Action) -> str:
        """``error.<prefix>.<action>``."""
        return f"error.{self.event_prefix(action)}.{action.name}"

    def event(self, name: str) -> EventDecl | None:
        """The declaration of event `name`, if any."""
        return next((e for e in self.events if e.name == name), None)


def module(
    name: str,
    *,
    js_name: str | None = None,
    event_prefixes: tuple[str, ...] | None = None,
    actions: Iterable[Action] = (),
    events: Iterable[EventDecl] = (),
    js: str = "",
    js_members: Iterable[JSMember] = (),
    doc: str = "",
    start: Callable[[FakeEnv], None] | None = None,
    fakes: Iterable[FakesSection] = (),
    rule_params: Mapping[str, Any] | None = None,
    outcome: OutcomeFn | None = None,
    js_data: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None,
    interaction_left: LeftFn | None = None,
    invalid_error: str = "invalidattribute",
    ended_outcome: Callable[[list[Request]], dict[str, Any] | None] | None = None,
) -> Module:
    """Build a :class:`Module` with the Genesys namespace conventions filled in."""
    namespace = GENESYS_NS_BASE + name
    return Module(
        name=name,
        namespace=namespace,
        aliases=(namespace.removeprefix("http://"), "https://" + namespace.removeprefix("http://")),
        event_prefixes=event_prefixes or (name,),
        js_name=js_name or name,
        actions={a.name: a for a in actions},
        events=tuple(events),
        js=js,
        js_members=tuple(js_members),
        doc=doc,
        start=start,
        fakes=tuple(fakes),
        rule_params=rule_params,
        outcome=outcome,
        js_data=js_data,
        interaction_left=interaction_left,
        invalid_error=invalid_error,
        ended_outcome=ended_outcome,
    )


def empty_js_object(js_name: str) -> str:
    """JS installing an empty ``_genesys.<js_name>``, for modules without documented members: the
    object exists, so ``typeof _genesys.<js_name>`` is ``'object'`` as on ORS."""
    return f"\n(function (g) {{ g.{js_name} = {{}}; }})(_genesys);\n"


# ---------------------------------------------------------------------------------------------
# Shared attribute / child declarations
# ---------------------------------------------------------------------------------------------

REQUESTID = Attr(
    "requestid", kind="location", doc="location receiving the generated request id (written synchronously)"
)
INTERACTIONID = Attr("interactionid", type="string", doc="g_uid of the interaction (default: the session's first)")
HINTS = Attr("hints", type="object", doc="extensions passed through to the platform")
PARAM = Child(
    "param",
    namespace=SCXML_NS,
    attributes=(Attr("name", kind="literal", required=True), Attr("expr"), Attr("location", kind="location")),
    doc="core <param name expr>: request parameters",
)
CONTENT = Child(
    "content",
    namespace=SCXML_NS,
    max=1,
    attributes=(Attr("expr"), Attr("_expr", doc="ORS spelling of expr")),
    doc="request body (<content _expr>)",
)


def request_interaction_id(request: Request, env: FakeEnv) -> str | None:
    """The interaction a request is about: its ``interactionid``, else the session's first."""
    value = request.attributes.get("interactionid")
    return str(value) if value not in (None, "") else env.primary_interaction_id()


def duration_seconds(value: Any, unit: float = 1.0) -> float | None:
    """A timeout/duration attribute in seconds: a number of `unit` seconds, or a CSS2 time
    (``'10s'``, ``'200ms'``); None when absent, zero, negative or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s)?", text)
        if match is None:
            return None
        number = float(match.group(1))
        seconds = number / 1000 if match.group(2) == "ms" else number if match.group(2) == "s" else number * unit
    elif isinstance(value, (int, float)):
        seconds = float(value) * unit
    else:
        return None
    return seconds if seconds > 0 else None


def required_refusal(module_: Module, action: Action, request: Request) -> tuple[str, str] | None:
    """``(error, description)`` when a required attribute evaluated to nothing (undefined, null or
    ``""``): ORS refuses such a request whatever would have answered it."""
    for attr in action.attributes:
        if attr.required and attr.kind != "location" and request.attributes.get(attr.name) in (None, ""):
            return attr.invalid_error or module_.invalid_error, f"{attr.name} is required"
    return None


def error_emit(module_: Module, action: Action, error: str, description: str, delay: float = 0.0) -> Emit:
    """The module's error event for `action` with ORS's ``error``/``description`` fields."""
    return Emit(module_.error_event(action), {"error": error, "description": description}, delay=delay, final=True)


# ---------------------------------------------------------------------------------------------
# Definition-time validation (shared by every module)
# ---------------------------------------------------------------------------------------------


def split_tag(tag: Any) -> tuple[str | None, str]:
    """``(namespace, local name)`` of an lxml tag or attribute name (``"{ns}local"``)."""
    text = str(tag)
    if text.startswith("{"):
        ns, _, local = text[1:].partition("}")
        return ns, local
    return None, text


def _check_literal(attr: Attr, raw: str, where: str, line: int, problems: list[tuple[int, str]]) -> None:
    if attr.kind != "literal" or attr.values is None:
        return
    allowed = {str(v).lower() for v in attr.values}
    if raw.strip().lower() not in allowed:
        problems.append(
            (
                line,
                f"{where}: attribute '{attr.name}' has an invalid value '{raw}' (expected one of: "
                + ", ".join(str(v) for v in attr.values)
                + ")",
            )
        )


def declared_child(children: Iterable[Child], ns: str | None, local: str, namespaces: tuple[str, ...]) -> Child | None:
    """The declaration of child element ``{ns}local``; `namespaces` are the parent module's URIs.

    A Genesys namespace may be written without ``http://`` (as the docs do).
    """
    for c in children:
        if c.namespace is None:
            accepted = namespaces
        elif c.namespace.startswith(GENESYS_NS_BASE):
            accepted = (c.namespace, c.namespace.removeprefix("http://"))
        else:
            accepted = (c.namespace,)
        if c.tag == local and ns in accepted:
            return c
    return None


def _validate(
    element: etree._Element,
    attributes: tuple[Attr, ...],
    children: tuple[Child, ...],
    namespace: str | None,
    namespaces: tuple[str, ...],
    where: str,
    open_: bool,
    problems: list[tuple[int, str]],
) -> None:
    line = element.sourceline or 0
    present = {split_tag(k)[1] for k in element.attrib}
    for attr in attributes:
        if attr.required and attr.name not in present:
            problems.append((line, f"{where}: missing required attribute '{attr.name}'"))
        elif attr.name in present:
            _check_literal(attr, element.get(attr.name) or "", where, line, problems)
    counts: dict[Child, int] = {}
    for sub in element:
        if not isinstance(sub.tag, str):
            continue  # comments, processing instructions
        ns, local = split_tag(sub.tag)
        decl = declared_child(children, ns, local, namespaces)
        if decl is None:
            if not open_:
                problems.append((sub.sourceline or line, f"{where}: unexpected child element <{local}>"))
            continue
        counts[decl] = counts.get(decl, 0) + 1
        _validate(sub, decl.attributes, decl.children, namespace, namespaces, f"{where}/{local}", decl.open, problems)
    for c in children:
        n = counts.get(c, 0)
        if n < c.min:
            problems.append((line, f"{where}: expected at least {c.min} <{c.tag}> child element(s)"))
        if c.max is not None and n > c.max:
            problems.append((line, f"{where}: at most {c.max} <{c.tag}> child element(s) allowed, found {n}"))


def validate_element(module_: Module, element: etree._Element) -> list[tuple[int, str]]:
    """Definition-time problems of one action element: (source line, message) per problem.

    Unknown elements of a module namespace are reported (ORS rejects them); unknown attributes
    are accepted (ORS ignores ``_``-prefixed and extra attributes).
    """
    _ns, local = split_tag(element.tag)
    action = module_.actions.get(local)
    where = f"<{module_.name}:{local}>"
    if action is None:
        return [(element.sourceline or 0, f"{where}: unknown action element of the {module_.name} module")]
    problems: list[tuple[int, str]] = []
    _validate(
        element, action.attributes, action.children, module_.namespace, module_.namespaces, where, False, problems
    )
    return problems
