"""The W3C SCXML 1.0 interpreter: Appendix D's algorithm with the spec's names, made steppable.

https://www.w3.org/TR/scxml/#AlgorithmforSCXMLInterpretation

This module holds the algorithm alone, with the spec's names in the spec's order, in two
classes: `Microsteps` has the functions (selectEventlessTransitions, selectTransitions,
removeConflictingTransitions, microstep, exitStates, computeExitSet, executeTransitionContent,
enterStates, computeEntrySet, addDescendantStatesToEnter, addAncestorStatesToEnter,
isInFinalState, getTransitionDomain, findLCCA, getEffectiveTargetStates, getProperAncestors) and
`Session` the procedures that drive them (interpret, mainEventLoop, exitInterpreter).
mainEventLoop is split into steppable pieces (`step_macrostep`, `step_microstep`, `_settle`) so a
debugger can stop between them; `macrostep()` returns what one macrostep did as a `MacroStep`. What the
algorithm calls out to lives beside it:

* session.py: `SessionBase`, the state the algorithm works on and the public API between steps
  (`inject`, `run`, `pause`/`resume`, `snapshot`, `attach`/`detach`, `configuration_ids`,
  `status`, `final_state`, `datamodel`, `errors`, `close`);
* executable.py: executable content, `<data>`/`<donedata>`, errors as events (W3C 4, 5.10) and
  `ActionContext`, the API of profile action handlers;
* ioprocessors.py (`<send>` delivery, W3C 6.2 and Appendix C) and invoke.py (W3C 6.4);
* plan.py: the model's memos (candidates per event name, exit and entry sets per configuration);
* steps.py: `MacroStep`/`MicroStep`, what a macrostep did; trace.py builds records from them;
* group.py: `SessionGroup`, the sessions of one simulation with their clock and trace numbering.

`SessionGroup`, `Session`, `ActionContext`, `Event` and `NullDataModel` are importable from here.

Runtime errors never escape: a failing expression becomes an ``error.execution`` internal event
(W3C 5.10) plus an ``error`` trace record. A hostile chart that keeps itself busy (more than
``max_microsteps`` microsteps in one macrostep) stops with an ``error`` record of kind ``storm``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import model as m
from .events import Event
from .executable import ActionContext
from .group import SessionGroup
from .ioprocessors import SCXML_IO
from .nulldatamodel import NullDataModel, make_datamodel
from .plan import StepPlan
from .session import MAX_MICROSTEPS, SessionBase, _order
from .steps import MacroStep, MicroStep
from .trace import OMIT, DoneRecord, ErrorRecord, StartRecord, jsonable, microstep_record

__all__ = ["MAX_MICROSTEPS", "ActionContext", "Event", "NullDataModel", "Session", "SessionGroup"]

_UNKNOWN: Any = object()


class Microsteps(SessionBase):
    """The functions of Appendix D that select transitions and take a microstep, in the spec's
    order (selectEventlessTransitions .. getProperAncestors); `Session` runs them."""

    _history_seen = False
    _step: StepPlan | None = None

    # ---- transition selection -----------------------------------------------------------------

    def select_eventless_transitions(self) -> list[m.Transition]:
        """https://www.w3.org/TR/scxml/#selectEventlessTransitions"""
        enabled: list[m.Transition] = []
        config = self._config or self._configuration_node()
        eventless = config.eventless
        if eventless is None:
            eventless = config.eventless_transitions()
        for transitions in eventless:  # per atomic state (document order): its and its ancestors'
            for t in transitions:
                if t.cond is None or self.content.condition(t):
                    if t not in enabled:
                        enabled.append(t)
                    break
        return self.remove_conflicting_transitions(enabled) if len(enabled) > 1 else enabled

    def select_transitions(self, event: Event) -> list[m.Transition]:
        """https://www.w3.org/TR/scxml/#selectTransitions"""
        enabled: list[m.Transition] = []
        config = self._config or self._configuration_node()
        found = config.candidates.get(event.name)
        if found is None:
            found = config.candidates_for(event.name)
        if not found:
            return enabled
        evaluate_bool = self.datamodel.evaluate_bool
        for transitions in found:  # per atomic state: its and its ancestors' matching transitions
            for t in transitions:
                if t.cond is not None:
                    # conditionMatch(), inlined: a failing cond is false + error.execution (5.9.1)
                    try:
                        if not evaluate_bool(t.cond):
                            continue
                    except Exception as exc:
                        self.content.error_from(exc, t)
                        continue
                if t not in enabled:
                    enabled.append(t)
                break
        return self.remove_conflicting_transitions(enabled) if len(enabled) > 1 else enabled

    def remove_conflicting_transitions(self, enabled: list[m.Transition]) -> list[m.Transition]:
        """https://www.w3.org/TR/scxml/#removeConflictingTransitions

        The answer depends on the configuration and the transitions' domains only: the plan
        keeps it when the document decides every domain.
        """
        key = self.plan.step_key(enabled)
        config = self._config or self._configuration_node()
        if key is not None:
            known = config.conflicts.get(key)
            if known is not None:
                return list(known)
        filtered: list[m.Transition] = []
        exit_sets: dict[m.Transition, set[m.State]] = {}
        for t1 in enabled:
            t1_preempted = False
            to_remove = []
            exit1 = exit_sets.setdefault(t1, self.compute_exit_set([t1]))
            for t2 in filtered:
                if exit1 & exit_sets[t2]:
                    if t2.source in t1.source.ancestors:
                        to_remove.append(t2)
                    else:
                        t1_preempted = True
                        break
            if not t1_preempted:
                for t3 in to_remove:
                    filtered.remove(t3)
                filtered.append(t1)
        if key is not None:
            config.remember_conflicts(key, tuple(filtered))
        return filtered

    # ---- microstep ----------------------------------------------------------------------------

    def microstep(self, enabled: list[m.Transition], event: Event | None = None) -> None:
        """https://www.w3.org/TR/scxml/#microstep"""
        exited = self.exit_states(enabled)
        self.execute_transition_content(enabled)
        entered = self.enter_states(enabled)
        step = self._step
        if step is not None and step.key in self.plan.entries:
            # No history state took part: the plan knows the configuration it leads to.
            following = step.next
            if following is None:
                following = step.next = self._configuration_node()
            self._config = following
        current = self._current
        if current is not None:
            micro = MicroStep(event, tuple(enabled), exited, entered)
            current.microsteps.append(micro)
            if self.tracing:
                self.emit(microstep_record(micro))

    def exit_states(self, enabled: list[m.Transition]) -> tuple[m.State, ...]:
        """https://www.w3.org/TR/scxml/#exitStates"""
        t = enabled[0]
        key = (t if t in self.plan.domains else None) if len(enabled) == 1 else self.plan.step_key(enabled)
        if key is not None:
            # Transitions whose domains the document decides: the plan keeps their exit set per
            # configuration.
            config = self._config or self._configuration_node()
            step = config.steps.get(key)
            if step is None:
                exits = tuple(sorted(self.compute_exit_set(enabled), key=_order, reverse=True))
                step = config.remember_step(key, exits)
            self._step = step
            states_to_exit = step.exits
            if step.plain:
                if self.states_to_invoke:
                    self.states_to_invoke.difference_update(states_to_exit)
                self.configuration.difference_update(states_to_exit)
                self._config = None
                return states_to_exit
        else:
            self._step = None
            states_to_exit = tuple(sorted(self.compute_exit_set(enabled), key=_order, reverse=True))
        if not states_to_exit:
            return states_to_exit
        configuration = self.configuration
        if self.states_to_invoke:
            for s in states_to_exit:
                self.states_to_invoke.discard(s)
        for s in states_to_exit:
            for h in s.history:
                if h.history_type == "deep":
                    value = [s0 for s0 in configuration if s0.is_atomic and s in s0.ancestors]
                else:
                    value = [s0 for s0 in configuration if s0.parent is s]
                self.history_value[h.id] = sorted(value, key=_order)
        execute_block = self.content.execute_block
        for s in states_to_exit:
            for block in s.onexit:
                execute_block(block)
            for inv in s.invokes:
                self.invoker.cancel_invoke(inv)
            configuration.discard(s)
        self._config = None
        return states_to_exit

    def compute_exit_set(self, transitions: Iterable[m.Transition]) -> set[m.State]:
        """https://www.w3.org/TR/scxml/#computeExitSet"""
        states_to_exit: set[m.State] = set()
        for t in transitions:
            if t.targets:
                domain = self.get_transition_domain(t)
                for s in self.configuration:
                    if domain in s.ancestors:
                        states_to_exit.add(s)
        return states_to_exit

    def execute_transition_content(self, enabled: list[m.Transition]) -> None:
        """https://www.w3.org/TR/scxml/#executeTransitionContent"""
        for t in enabled:
            if t.content:
                self.content.execute_block(t.content)

    # ---- entering states ----------------------------------------------------------------------

    def enter_states(self, enabled: list[m.Transition]) -> tuple[m.State, ...]:
        """https://www.w3.org/TR/scxml/#enterStates"""
        late = self.model.binding == "late"
        memo = self.plan.entries.get(enabled[0] if len(enabled) == 1 else tuple(enabled))
        if memo is not None:
            if memo.all_plain:
                self.configuration.update(memo.entered)
                self._config = None
                return memo.entered
            entered, plain = memo.entered, memo.plain
            states_for_default_entry: Iterable[m.State] = memo.default_entry
            default_history_content = memo.default_history_content
        else:
            entered, plain, states_for_default_entry, default_history_content = self._entry_set(enabled, late)
        configuration = self.configuration
        self._config = None
        execute_block = self.content.execute_block
        for s, is_plain in zip(entered, plain, strict=True):
            configuration.add(s)
            if is_plain:
                continue
            if s.invokes:
                self.states_to_invoke.add(s)
            if late and s not in self.first_entry_done:
                self.first_entry_done.add(s)
                self.content.initialize_data(s.data)
            for block in s.onentry:
                execute_block(block)
            initial = s.initial
            if initial is not None and initial.content and s in states_for_default_entry:
                execute_block(initial.content)
            content = default_history_content.get(s.id)
            if content:
                execute_block(content)
            if s.kind == "final":
                parent = s.parent
                assert parent is not None  # a <final> is inside a state or <scxml>
                if parent.kind == "scxml":
                    self.running = False
                    self.final_state = s.id
                else:
                    grandparent = parent.parent
                    self.raise_event(Event("done.state." + parent.id, self.content.done_data(s), "platform"))
                    if (
                        grandparent is not None
                        and grandparent.kind == "parallel"
                        and all(self.is_in_final_state(c) for c in grandparent.children)
                    ):
                        self.raise_event(Event("done.state." + grandparent.id, None, "platform"))
        return entered

    def _entry_set(self, enabled: list[m.Transition], late: bool) -> tuple[Any, ...]:
        """computeEntrySet() and what entering each state involves; memoised in the plan when no
        history state took part (the entry set then depends on the document only)."""
        states_to_enter: set[m.State] = set()
        states_for_default_entry: set[m.State] = set()
        default_history_content: dict[str, tuple[Any, ...]] = {}
        self._history_seen = False
        self.compute_entry_set(enabled, states_to_enter, states_for_default_entry, default_history_content)
        entered = tuple(sorted(states_to_enter, key=_order))
        # `plain` states need nothing but joining the configuration (the common case).
        plain = tuple(
            not (
                s.invokes
                or s.onentry
                or s.kind == "final"
                or (late and s.data)
                or (s in states_for_default_entry and s.initial is not None and s.initial.content)
                or s.id in default_history_content
            )
            for s in entered
        )
        if not self._history_seen:
            key = enabled[0] if len(enabled) == 1 else tuple(enabled)
            self.plan.remember_entry(key, entered, plain, frozenset(states_for_default_entry), default_history_content)
        return entered, plain, states_for_default_entry, default_history_content

    def compute_entry_set(
        self,
        transitions: list[m.Transition],
        states_to_enter: set[m.State],
        states_for_default_entry: set[m.State],
        default_history_content: dict[str, tuple[Any, ...]],
    ) -> None:
        """https://www.w3.org/TR/scxml/#computeEntrySet"""
        for t in transitions:
            for s in t.targets:
                self.add_descendant_states_to_enter(
                    s, states_to_enter, states_for_default_entry, default_history_content
                )
            ancestor = self.get_transition_domain(t)
            for s in self.get_effective_target_states(t):
                self.add_ancestor_states_to_enter(
                    s, ancestor, states_to_enter, states_for_default_entry, default_history_content
                )

    def add_descendant_states_to_enter(
        self,
        state: m.State,
        states_to_enter: set[m.State],
        states_for_default_entry: set[m.State],
        default_history_content: dict[str, tuple[Any, ...]],
    ) -> None:
        """https://www.w3.org/TR/scxml/#addDescendantStatesToEnter"""
        if state.kind == "history":
            assert state.parent is not None  # a <history> is inside a state
            self._history_seen = True
            stored = self.history_value.get(state.id)
            targets: Iterable[m.State]
            if stored:
                targets = stored
            else:
                transition = state.transitions[0] if state.transitions else None
                targets = transition.targets if transition is not None else ()
                if transition is not None and transition.content:
                    default_history_content[state.parent.id] = transition.content
            for s in targets:
                self.add_descendant_states_to_enter(
                    s, states_to_enter, states_for_default_entry, default_history_content
                )
            for s in targets:
                self.add_ancestor_states_to_enter(
                    s, state.parent, states_to_enter, states_for_default_entry, default_history_content
                )
            return
        states_to_enter.add(state)
        if state.is_compound:
            assert state.initial is not None  # every compound state has one (model.py)
            states_for_default_entry.add(state)
            for s in state.initial.targets:
                self.add_descendant_states_to_enter(
                    s, states_to_enter, states_for_default_entry, default_history_content
                )
            for s in state.initial.targets:
                self.add_ancestor_states_to_enter(
                    s, state, states_to_enter, states_for_default_entry, default_history_content
                )
        elif state.kind == "parallel":
            for child in state.children:
                if not any(child is s or child in s.ancestors for s in states_to_enter):
                    self.add_descendant_states_to_enter(
                        child, states_to_enter, states_for_default_entry, default_history_content
                    )

    def add_ancestor_states_to_enter(
        self,
        state: m.State,
        ancestor: m.State | None,
        states_to_enter: set[m.State],
        states_for_default_entry: set[m.State],
        default_history_content: dict[str, tuple[Any, ...]],
    ) -> None:
        """https://www.w3.org/TR/scxml/#addAncestorStatesToEnter"""
        for anc in self.get_proper_ancestors(state, ancestor):
            states_to_enter.add(anc)
            if anc.kind == "parallel":
                for child in anc.children:
                    if not any(child is s or child in s.ancestors for s in states_to_enter):
                        self.add_descendant_states_to_enter(
                            child, states_to_enter, states_for_default_entry, default_history_content
                        )

    def is_in_final_state(self, state: m.State) -> bool:
        """https://www.w3.org/TR/scxml/#isInFinalState"""
        if state.is_compound:
            return any(c.kind == "final" and c in self.configuration for c in state.children)
        if state.kind == "parallel":
            return all(self.is_in_final_state(c) for c in state.children)
        return False

    # ---- domains and ancestry -----------------------------------------------------------------

    def get_transition_domain(self, t: m.Transition) -> m.State | None:
        """https://www.w3.org/TR/scxml/#getTransitionDomain

        The domain depends on the document alone unless a target is a history state; the plan
        keeps it in that case.
        """
        domain = self.plan.domains.get(t, _UNKNOWN)
        if domain is not _UNKNOWN:
            return domain
        tstates = self.get_effective_target_states(t)
        source = t.source
        if not tstates:
            domain = None
        elif t.type == "internal" and source.is_compound and all(source in s.ancestors for s in tstates):
            domain = source
        else:
            domain = self.find_lcca([source, *tstates])
        if not any(s.kind == "history" for s in t.targets):
            self.plan.domains[t] = domain
        return domain

    @staticmethod
    def find_lcca(states: list[m.State]) -> m.State | None:
        """https://www.w3.org/TR/scxml/#findLCCA"""
        head, tail = states[0], states[1:]
        for anc in head.ancestors:
            if (anc.is_compound or anc.kind == "scxml") and all(anc in s.ancestors for s in tail):
                return anc
        return None

    def get_effective_target_states(self, t: m.Transition) -> list[m.State]:
        """https://www.w3.org/TR/scxml/#getEffectiveTargetStates"""
        targets: list[m.State] = []
        for s in t.targets:
            if s.kind == "history":
                stored = self.history_value.get(s.id)
                extra = (
                    stored if stored else (self.get_effective_target_states(s.transitions[0]) if s.transitions else [])
                )
                for x in extra:
                    if x not in targets:
                        targets.append(x)
            elif s not in targets:
                targets.append(s)
        return targets

    @staticmethod
    def get_proper_ancestors(state: m.State, ancestor: m.State | None) -> list[m.State]:
        """https://www.w3.org/TR/scxml/#getProperAncestors (excludes the <scxml> root)."""
        result = []
        for anc in state.ancestors:
            if anc is ancestor or anc.kind == "scxml":
                break
            result.append(anc)
        return result


class Session(Microsteps):
    """One running SCXML document: interpret, mainEventLoop and exitInterpreter of Appendix D."""

    _recording = False
    _finished: MacroStep | None = None

    # ---- interpret(doc) -----------------------------------------------------------------------

    def start(self) -> None:
        """https://www.w3.org/TR/scxml/#interpret (up to the first stable configuration)."""
        if self.status != "created":
            return
        self.status = "running"
        self.running = True
        self._begin_macrostep(None)
        try:
            self.datamodel = make_datamodel(
                self.model.datamodel, self.profile, self.memory_limit, self.time_limit, self.group.js_runtimes, self
            )
        except Exception as exc:  # resource exhaustion creating the JS runtime
            self._fatal("datamodel", f"cannot create the datamodel: {exc}")
            return
        dm = self.datamodel
        # `Date` shows the profile's wall clock at the group's virtual time; Math.random is seeded
        clock, profile, session = self.group.clock, self.profile, self
        dm.install_time(
            profile.time_base(session).zone,
            lambda: profile.time_base(session).epoch_ms(clock.now),
            f"{self.group.seed}/{self.sessionid}",
        )
        dm.set_systems(
            (
                ("_sessionid", self.sessionid),
                ("_name", self.model.name),
                ("_ioprocessors", self.io.system_variable()),
                ("_x", {}),
            )
        )
        dm.define_predicate("In", self.in_state)
        self.profile.install_globals(self)
        parent = self.parent.sessionid if self.parent is not None else None
        self.emit(StartRecord(self.model.name, self.model.entry, parent))
        self.content.initialize_datamodel()
        self.profile.datamodel_initialized(self)
        for script in self.model.scripts:
            self.content.execute_block((script,))
        assert self.root.initial is not None
        entered = self.enter_states([self.root.initial])
        if self._current is not None:
            self._current.initial = entered
        self._settle()

    # ---- mainEventLoop(), in steppable pieces ----------------------------------------------------

    def macrostep(self) -> MacroStep | None:
        """Run one macrostep (see `step_macrostep`) and return what it did, None if idle."""
        self._take_finished()
        self._recording = True
        try:
            self.step_macrostep()
        finally:
            self._recording = False
        return self._take_finished()

    def _take_finished(self) -> MacroStep | None:
        # A method of its own: after `self._finished = None`, mypy (and so mypyc, which checks the
        # type at run time) would take the attribute for None across the step that sets it.
        finished, self._finished = self._finished, None
        return finished

    def step_macrostep(self) -> bool:
        """https://www.w3.org/TR/scxml/#mainEventLoop: settle pending internal work, or take one
        external event and settle; False when there is nothing to do."""
        if self.status == "created":
            self.start()
            return True
        if not self.running:
            return False
        if self._internal or self.states_to_invoke:
            self._begin_macrostep(None)
            self._settle()
            return True
        external = self._external
        if not external:
            return False
        event = external.popleft()
        if self._recording or self.listeners or self.group.tracer.listeners:
            self._begin_macrostep(event)
        else:  # the untraced fast path (benchmarks, batch runs): nothing is recorded
            self._microsteps = 0
            self._current = None
        self._take_external(event)
        self._settle()
        return True

    def step_microstep(self) -> bool:
        """One microstep of mainEventLoop (or start / invoke / take one external event)."""
        if self.status == "created":
            self.start()
            return True
        if not self.running:
            return False
        if self._current is None:
            self._begin_macrostep(None)
        enabled = self.select_eventless_transitions()
        if enabled:
            self.microstep(enabled, None)
            self._finish_if_stopped()
            return True
        if self._internal:
            event, enabled = self._take_internal()
            if enabled:
                self.microstep(enabled, event)
            self._finish_if_stopped()
            return True
        if self.states_to_invoke:
            self._run_invokes()
            return True
        self._end_macrostep()
        external = self._external
        if external:
            event = external.popleft()
            self._begin_macrostep(event)
            self._take_external(event)
            self._finish_if_stopped()
            return True
        return False

    def _settle(self) -> None:
        """Eventless transitions and internal events until stable, then invokes."""
        while self.running:
            enabled = self.select_eventless_transitions()
            event = None
            if not enabled:
                if not self._internal:
                    if self.states_to_invoke:
                        self._run_invokes()
                        continue
                    break
                event, enabled = self._take_internal()
            if enabled:
                self.microstep(enabled, event)
            self._microsteps += 1
            if self._microsteps > self.max_microsteps:
                self._fatal(
                    "storm",
                    f"more than {self.max_microsteps} microsteps in one macrostep (event storm); session stopped",
                )
                return
        self._end_macrostep()
        if not self.running and self.status == "running":
            self.exit_interpreter()

    def _take_internal(self) -> tuple[Event, list[m.Transition]]:
        """The internal-event half of mainEventLoop: dequeue, record, bind ``_event``, select."""
        event = self.internal_queue.popleft()
        if self._current is not None:
            self._current.internal_events.append(event.name)
        self.set_event(event)
        return event, self.select_transitions(event)

    def _take_external(self, event: Event) -> None:
        """The external-event half of mainEventLoop: finalize, autoforward, select, microstep."""
        self.events_processed += 1
        self.profile.external_event_taken(self, event)
        self.set_event(event)
        if self.invoker.invocations:
            self.invoker.external_event(event)
        enabled = self.select_transitions(event)
        if enabled:
            self.microstep(enabled, event)

    def _finish_if_stopped(self) -> None:
        if not self.running and self.status == "running":
            self._end_macrostep()
            self.exit_interpreter()

    def _run_invokes(self) -> None:
        states = sorted(self.states_to_invoke, key=_order)
        self.states_to_invoke.clear()
        for state in states:
            for inv in state.invokes:
                self.invoker.invoke(inv)

    def _begin_macrostep(self, event: Event | None) -> None:
        self._microsteps = 0
        self._current = MacroStep(event) if self._recording or self.tracing else None

    def _end_macrostep(self) -> None:
        current, self._current = self._current, None
        if current:  # stepping that found nothing to do records no (empty) macrostep
            self._finished = current
            self.record_macrostep(current)

    def _fatal(self, kind: str, message: str) -> None:
        self.emit(ErrorRecord(kind, None, message, self.model.entry, None))
        self.running = False
        self.status = "error"
        self._internal = self._external = None  # the queued events are dropped
        self.cancel_all_timers()
        self._end_macrostep()
        self.final_configuration = self.configuration_ids
        self.invoker.cancel_all()
        self.emit(DoneRecord("error", None, OMIT, self.configuration_ids))

    # ---- exitInterpreter() ------------------------------------------------------------------

    def exit_interpreter(self) -> None:
        """https://www.w3.org/TR/scxml/#exitInterpreter — also sends done.invoke to the parent."""
        states_to_exit = sorted(self.configuration, key=_order, reverse=True)
        self.final_configuration = [st.id for st in reversed(states_to_exit)]
        done_data = None
        final = None
        for s in states_to_exit:
            for block in s.onexit:
                self.content.execute_block(block)
            for inv in s.invokes:
                self.invoker.cancel_invoke(inv)
            self.configuration.discard(s)
            if s.kind == "final" and s.parent is self.root:
                final = s
                done_data = self.content.done_data(s)
        self._config = None
        self.cancel_all_timers()
        self.running = False
        if self.status == "running":
            self.status = "final" if final is not None else "cancelled"
        if final is not None:
            self.final_state = final.id
        configuration = [final.id] if final is not None else []
        self.emit(DoneRecord(self.status, self.final_state, jsonable(done_data), configuration))
        parent = self.parent
        if final is not None and parent is not None and self.invokeid in parent.invocations:
            name = "done.invoke." + self.invokeid
            done = Event(name, done_data, "external", None, self.location, SCXML_IO, self.invokeid)
            parent.invoker.deliver_from_child(self, done)

    def cancel(self) -> None:
        """Terminate this (invoked) session: onexit handlers run, no done.invoke is sent."""
        if not self.running:
            return
        self.status = "cancelled"
        self._internal = self._external = None  # the queued events are dropped
        # Detached while exiting: nothing its onexit handlers send reaches the parent, and no
        # done.invoke is returned (W3C 6.4.3).
        parent, self.parent = self.parent, None
        self.exit_interpreter()
        self.parent = parent
