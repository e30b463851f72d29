"""The simulated Genesys platform of one ORS session: interactions, pending requests, fakes.

``OrsPlatform`` implements :class:`~simulator.ors.extensions.base.FakeEnv`.  It is created by the
dialect when a session starts (``ORSProfile.install_globals``) and reached from the session as
``platform_of(session)``.  It

* keeps the interaction objects the platform controls, and shows each change in
  ``_genesys.ixn.interactions`` when the session processes the event reporting it
  (``external_event_taken``: ORS's object model changes only as a result of events);
* turns an executed action into a :class:`Request` (``execute_action``), writes its id into the
  ``requestid`` location, answers what ORS refuses itself (``Action.refuse``), else schedules the
  answer chosen by the fakes profile (a rule, the module's default fake, or nothing when the
  rule is *manual*) within the action's declared timeout;
* lets a user answer a manual request (``respond``) and inject unsolicited platform events
  (``inject``, ``hangup``, ``abandon``, ``party_changed``, ``udata_changed``, ``merge``);
* ends what runs for an interaction that leaves the strategy (each module's ``interaction_left``)
  and closes the requests of an ended session;
* reports each lookup the profile cannot answer as an ``assumption`` record (``assume``);
* tracks the strategy's *outcome* (routed / terminated / abandoned / waiting / error) through the
  modules' outcome hooks.

Its parts, one job each: :class:`~.requestbook.RequestBook` (the request lifecycle: actions,
fakes answers, timeouts, manual answers, cancellation), :mod:`.evaluation` (an action's attributes
and children by declaration), :class:`~.objectmodel.ObjectModel` (the interactions and their JS
mirror), :class:`~.outcome.OutcomeTracker` (the routing outcome), :class:`~.jsbridge.JSBridge`
(``__orsCall``), :mod:`.childsessions` (``<session:start>``/``terminate``) and
:class:`~.engine.Engine` (the only place that knows the interpreter's session API: datamodel,
clock, queues, tracer).  This class composes them behind the :class:`FakeEnv` the extension
modules see and the API of the runners; it delivers events with their effects and injects the
platform's own events (start, hang-up, party and attached-data changes, merges).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import childsessions
from .engine import Engine
from .evaluation import Shape
from .extensions import BY_NAME
from .extensions.base import Emit, FakeEnv, Module, Request
from .extensions.interaction import interaction_object
from .fakes import FakesProfile, load_fakes
from .jsbridge import JSBridge
from .objectmodel import ObjectModel
from .outcome import OutcomeTracker
from .requestbook import RequestBook

#: a session's platform lives on the session itself (`SessionBase.profile_state`: a reference
#: cycle, which `SessionBase.dispose` breaks, else the collector frees it with the session). A
#: process-wide WeakKeyDictionary kept every session forever: its values are strong and the
#: platform refers back to its session, so no closed simulation's memory was ever returned.


#: the fakes profile of each run, by session group (every session of a run shares it)
_RUN_FAKES: weakref.WeakKeyDictionary[Any, FakesProfile] = weakref.WeakKeyDictionary()


def use_fakes(group: Any, fakes: FakesProfile) -> None:
    """Give the sessions of `group` (a run) the fakes `fakes`; the sessions already started
    answer their later requests with them."""
    _RUN_FAKES[group] = fakes
    for session in list(group.sessions.values()):
        platform = platform_of(session)
        if platform is not None:
            platform.fakes = fakes


def fakes_of(group: Any) -> FakesProfile:
    """The fakes profile of `group`'s run (the defaults when the run gave none)."""
    fakes = _RUN_FAKES.get(group)
    if fakes is None:
        fakes = _RUN_FAKES[group] = load_fakes(None)
    return fakes


def platform_of(session: Any) -> OrsPlatform | None:
    """The platform attached to an engine session, if it runs with the ORS profile."""
    state = session.profile_state
    return state if isinstance(state, OrsPlatform) else None


class OrsPlatform(FakeEnv):
    """The fake Genesys platform behind one ORS session (see the module docstring)."""

    #: the parts that refer back to the platform, let go of by `dispose` (mypyc: deletable)
    __deletable__ = ("book", "bridge")

    def __init__(self, session: Any, fakes: FakesProfile, document_url: str = "") -> None:
        self.session = session
        self.fakes = fakes
        self.document_url = document_url
        self.engine = Engine(session)
        self.book = RequestBook(self)
        self.bridge = JSBridge(self)
        self.model = ObjectModel(self.engine)
        self.tracker = OutcomeTracker()
        self._counter = 0
        #: what the fakes could not answer (see assume()), in order, one per distinct question
        self.assumptions: list[dict[str, Any]] = []
        self._assumed: set[str] = set()
        #: effects of queued events, applied when the session takes them (see deliver())
        self._on_taken: dict[int, tuple[dict[str, Any], list[Callable[[Any], None]]]] = {}
        session.profile_state = self

    def dispose(self) -> None:
        """Let go of the parts that refer back to the platform (its session disposed: see
        ORSProfile.release_state), which reference counting then frees with it; any later use
        of them raises AttributeError."""
        del self.book, self.bridge

    # -- FakeEnv --------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """Virtual seconds since the session group started."""
        return self.engine.now

    def config(self, module: str) -> dict[str, Any]:
        """The module's fakes section with the rule of the request being answered merged in."""
        return self.fakes.config(module, self.book.current_rule)

    @property
    def interactions(self) -> dict[str, dict[str, Any]]:
        """The interactions the platform controls, by g_uid (see ObjectModel)."""
        return self.model.interactions

    @property
    def outcome(self) -> dict[str, Any]:
        """The routing outcome so far (see OutcomeTracker)."""
        return self.tracker.state

    @property
    def requests(self) -> dict[str, Request]:
        """Every request of the session by id, in order (see RequestBook)."""
        return self.book.requests

    @property
    def calls(self) -> list[dict[str, Any]]:
        """The recorded no-op calls (see JSBridge)."""
        return self.bridge.calls

    @property
    def logs(self) -> list[dict[str, Any]]:
        """The ``__Log`` messages (see JSBridge)."""
        return self.bridge.logs

    def interaction(self, interactionid: str | None) -> dict[str, Any] | None:
        """The interaction object (by g_uid; ``0``/None = the first), or None."""
        return self.model.interaction(interactionid)

    def primary_interaction_id(self) -> str | None:
        """g_uid of the first interaction still in the session."""
        return self.model.primary_interaction_id()

    def new_id(self, kind: str = "req") -> str:
        """Deterministic ids: ``<SESSIONPREFIX>-<kind>-<n>`` so replays match."""
        self._counter += 1
        return f"{kind.upper()}{self._counter:05d}"

    @property
    def ended(self) -> bool:
        """Whether the session has ended (a top-level final, cancelled, or stopped by an error)."""
        return self.session.status in ("final", "cancelled", "error")

    def pending(self, module: str | None = None, action: str | None = None) -> list[Request]:
        """Live (pending or manual) requests, optionally of one module/action."""
        return self.book.pending(module, action)

    def pending_requests(self) -> list[Request]:
        """Requests still waiting for an answer (automatic or manual), oldest first."""
        return self.book.pending()

    def cancel_request(self, request_id: str, emits: list[Emit]) -> Request | None:
        """Drop the scheduled answer of `request_id`, mark it cancelled, deliver `emits` for it."""
        return self.book.cancel_request(request_id, emits)

    def trace(self, kind: str, fields: dict[str, Any]) -> None:
        """Add a record to the session's trace (when it is traced)."""
        self.engine.trace(kind, fields)

    def execute_js(self, source: str) -> None:
        """Run a script in the session's global scope (see FakeEnv.execute_js)."""
        self.engine.js(source)

    # -- other sessions (session:start / session:terminate) ----------------------------------------

    def start_session(self, src: str, params: Mapping[str, Any]) -> str:
        """Start a project document as another session (see childsessions.start_session)."""
        return childsessions.start_session(self, src, params)

    def session_running(self, sessionid: str) -> bool:
        """Whether a session of the group with this id is running."""
        return childsessions.session_running(self.session, sessionid)

    def terminate_session(self, sessionid: str) -> bool:
        """Stop a session of the group (``<session:terminate>``); False if there is none."""
        return childsessions.terminate_session(self.session, sessionid)

    def assign(self, location: str, value: Any) -> None:
        """Write a value into a datamodel location (``idlocation``-style outputs of actions)."""
        self.engine.assign(location, value)

    # -- interactions --------------------------------------------------------------------------

    def add_interaction(self, ixn_id: str | None = None, obj: dict[str, Any] | None = None) -> dict[str, Any]:
        """Put an interaction into the session's object model (JS mirror included)."""
        return self.model.add(self.fakes, ixn_id, obj)

    def merge_udata(self, ixn_id: str | None, data: Mapping[str, Any], js: bool = True) -> None:
        """Merge user data into an interaction (Python copy and, when `js`, the JS object)."""
        self.model.merge_udata(ixn_id, data, js)

    # -- session start -------------------------------------------------------------------------

    def start(self) -> None:
        """Create the profile's interaction and queue the start events (interaction.added, ...)."""
        for module in BY_NAME.values():
            if module.start is not None:
                module.start(self)  # platform activity the profile scripts for the module
        if self.fakes.data["none"] or childsessions.started_without_interaction(self.session):
            return
        # The platform controls the call at once; the session's object model shows it when it
        # processes interaction.added (a new session starts with an empty _genesys.ixn.interactions).
        obj = interaction_object(self.fakes)
        ixn_id = obj["g_uid"]
        self.model.interactions[ixn_id] = obj
        focus = self.fakes.interaction["routepoint"]
        for i, name in enumerate(self.fakes.start_events()):
            data: dict[str, Any] = {"interactionid": ixn_id}
            if name != "interaction.present":
                data["focusdeviceid"] = focus
            self.inject(name, data, 0.0, source="start", effect=self.model.mirror if i == 0 else None)
        for spec in self.fakes.data["inject"]:
            if "at" in spec:
                self.inject(spec["event"], spec.get("data") or {}, float(spec["at"]), source="profile")

    # -- delivery and platform effects -----------------------------------------------------------

    def deliver(
        self,
        name: str,
        data: Mapping[str, Any],
        effect: Callable[[FakeEnv], None] | None = None,
        request: Request | None = None,
        sendid: str | None = None,
    ) -> None:
        """Note the outcome and queue the event; its `effect` on the session's state (object
        model, statistics...) applies when the session *processes* the event, as on ORS (see
        external_event_taken).  The platform itself stops controlling a deleted interaction at once.

        `sendid` becomes ``_event.sendid`` (web requests answered by ``<ws:response>``).
        """
        effects = [effect] if effect is not None else []
        leaving = (
            data.get("interactionid")
            if name == "interaction.deleted" or (request is not None and self.tracker.routes(name, data, request))
            else None
        )
        if leaving is not None:
            self._interaction_leaves(str(leaving), "the interaction left the strategy")
        if name == "interaction.deleted" and data.get("interactionid") is not None:
            ixn = str(data["interactionid"])
            if self.model.remove(ixn):
                effects.append(lambda _env: self.model.unmirror(ixn))
        self.tracker.note(name, data, request, self.now)
        if self.engine.tracing:  # an untraced run (batches, benches) builds no record
            fields: dict[str, Any] = {"request": request.id if request else None, "event": name, "data": dict(data)}
            if request is not None:  # located at the element that made the request (else the root)
                fields.update(file=request.file, line=request.line)
            self.engine.trace("response", fields)
        payload = dict(data)
        if effects:
            # keyed by the data object, which becomes the queued Event's data (alive until taken)
            self._on_taken[id(payload)] = (payload, effects)
        self.engine.enqueue_external(name, payload, sendid)

    def external_event_taken(self, event: Any) -> None:
        """The session takes `event` off its external queue: apply the effects queued with it."""
        entry = self._on_taken.pop(id(event.data), None)
        if entry is not None and entry[0] is event.data:
            for effect in entry[1]:
                effect(self)

    def final_outcome(self, finished: bool, error: str | None = None) -> dict[str, Any]:
        """The summary outcome: routed(target) / terminated / abandoned / waiting(for) / error."""
        return self.tracker.final(finished, error, self.book)

    # -- user / scenario API ------------------------------------------------------------------

    def respond(self, request_id: str, events: Sequence[Mapping[str, Any]]) -> Request:
        """Answer a (manual or pending) request with events of the user's choice (see RequestBook.respond)."""
        return self.book.respond(request_id, events)

    def execute_action(
        self, ctx: Any, module: Module, element: Any, file: str | None, line: int | None, shape: Shape | None = None
    ) -> None:
        """Run one action element (see RequestBook.execute_action)."""
        self.book.execute_action(ctx, module, element, file, line, shape)

    def inject(
        self,
        name: str,
        data: Mapping[str, Any] | None = None,
        delay: float = 0.0,
        source: str = "user",
        sendid: str | None = None,
        effect: Callable[[FakeEnv], None] | None = None,
    ) -> None:
        """Queue an unsolicited platform event (after `delay` virtual seconds); `effect` applies
        when the session processes it.

        Shortcuts: ``hangup`` and ``abandon`` (the caller leaves), ``partystatechanged``.
        """
        payload = dict(data or {})
        if name in ("hangup", "abandon"):
            self.engine.schedule_timer(delay, lambda: self.hangup(abandon=name == "abandon", **payload))
            return
        self.engine.schedule_timer(delay, lambda: self.deliver(name, payload, effect, sendid=sendid))

    def hangup(self, abandon: bool = False, interactionid: str | None = None) -> None:
        """The caller hangs up: what runs for the call ends (dialogs fail ``cancelled``), the other
        pending requests are dropped, then (``interaction.abandoned`` and) ``interaction.deleted``."""
        ixn = interactionid or self.primary_interaction_id()
        if ixn is None:
            return
        self.tracker.state["hangup"] = True
        self._interaction_leaves(ixn, "the caller hung up")
        for request in self.pending():
            self.book.drop_answers(request.id)
            request.status = "cancelled"
        if abandon:
            self.deliver("interaction.abandoned", {"interactionid": ixn})
        self.deliver("interaction.deleted", {"interactionid": ixn, "resultof": "deletion"})

    def _interaction_leaves(self, ixn: str, why: str) -> None:
        """An interaction leaves the strategy (deleted, routed): each module ends what it runs for
        it, as ORS does; the events that says so are delivered at once, before the event that
        reports the departure."""
        for module in BY_NAME.values():
            if module.interaction_left is None:
                continue
            for request, emit in module.interaction_left(self, ixn, why):
                self.book.end(request)
                self.book.deliverer(request, emit)()

    def party_changed(self, focusdeviceid: str, devicetype: str = "routepoint") -> None:
        """The call moved: update ``parties`` and send ``interaction.partystatechanged``."""
        obj = self.interaction(None)
        if obj is None:
            return
        obj["parties"] = [{"device": focusdeviceid, "devicetype": devicetype}, *obj["parties"][1:]]
        data = {"interactionid": obj["g_uid"], "focusdeviceid": focusdeviceid}

        def mirror(env: FakeEnv) -> None:
            env.add_interaction(obj=obj)

        self.deliver("interaction.partystatechanged", data, mirror)

    def udata_changed(self, data: Mapping[str, Any]) -> None:
        """External attached-data change: update ``udata`` then ``interaction.udata.changed``."""
        ixn = self.primary_interaction_id()
        changed = dict(data)
        self.deliver("interaction.udata.changed", {"interactionid": ixn}, lambda p: p.merge_udata(ixn, changed))

    def merge(self, from_id: str, to_id: str) -> None:
        """A consult interaction was merged: ``interaction.onmerge``."""
        self.deliver("interaction.onmerge", {"frominteractionid": from_id, "tointeractionid": to_id})

    # -- the JS bridge (``__orsCall``) -----------------------------------------------------------

    def js_call(self, name: str, args_json: str) -> Any:
        """Calls from the ``_genesys`` JS surfaces and ORS globals (see JSBridge.js_call)."""
        return self.bridge.js_call(name, args_json)

    def record_call(self, name: str, args: Any) -> None:
        """Remember a recorded no-op call (``_genesys.queue.reserveTarget``, treatments...)."""
        self.bridge.record_call(name, args)

    # -- summary ------------------------------------------------------------------------------

    def requests_json(self, finished: bool = False) -> list[dict[str, Any]]:
        """Every request with its status and responses (see RequestBook.requests_json)."""
        return self.book.requests_json(finished)
