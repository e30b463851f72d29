"""The model's plan: memos of what the document alone decides, shared by every session of a model.

The interpreter asks the same questions again and again: which transitions of the active states
match event "ping", which states does transition t3 exit from configuration {s0}, which states
does it enter, what is the configuration afterwards. The answers depend on the document and the
configuration only (never on the datamodel), so the first session to compute one stores it here
and every later microstep of every session of the model reads it back.

A configuration is keyed by its atomic states (document order), which determine it fully; each
`Configuration` node carries the memos that depend on it, so a microstep whose transition was seen
before in that configuration costs a few dictionary lookups. Memos that involve history states
are never stored (their answer depends on the session's history values). Every memo is bounded:
event names and configurations come from documents and users.

Plans are shared between threads like the model itself: a race only computes an answer twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import State, Transition

#: most configurations memoised per model, event names per configuration, steps per configuration
MAX_CONFIGURATIONS = 4096
MAX_NAMES = 1024
MAX_STEPS = 256
#: most memo entries of all kinds per model: bounds the memory a hostile document can make a
#: plan take (each entry is a few small tuples)
MAX_ENTRIES = 100_000


class EntryPlan:
    """What `enterStates` does for one transition set when no history state takes part."""

    __slots__ = ("all_plain", "default_entry", "default_history_content", "entered", "plain")

    def __init__(
        self,
        entered: tuple[State, ...],
        plain: tuple[bool, ...],
        default_entry: frozenset[State],
        default_history_content: dict[str, tuple[Any, ...]],
    ):
        #: states to enter, document order
        self.entered = entered
        #: per entered state: True when entering it only adds it to the configuration
        self.plain = plain
        #: entering is only adding `entered` to the configuration
        self.all_plain = all(plain)
        self.default_entry = default_entry
        self.default_history_content = default_history_content


class StepPlan:
    """One transition taken from one configuration: its exit set and where it leads."""

    __slots__ = ("exits", "key", "next", "plain")

    def __init__(self, key: Transition | tuple[Transition, ...], exits: tuple[State, ...]):
        self.key = key
        #: states to exit, reverse document order
        self.exits = exits
        #: exiting is only removing `exits` from the configuration (no history to record, no
        #: <onexit>, no invocation to cancel)
        self.plain = not any(s.history or s.onexit or s.invokes for s in exits)
        #: the configuration after the microstep (None until a session completed it)
        self.next: Configuration | None = None


class Configuration:
    """A configuration (by its atomic states) and the memos that depend on it."""

    __slots__ = ("atomic", "candidates", "conflicts", "eventless", "plan", "steps")

    def __init__(self, plan: Plan, atomic: tuple[State, ...]):
        self.plan = plan
        self.atomic = atomic
        #: event name -> per atomic state with a match, the transitions of it and its ancestors
        #: matching the name, in selectTransitions' search order
        self.candidates: dict[str, tuple[tuple[Transition, ...], ...]] = {}
        self.eventless: tuple[tuple[Transition, ...], ...] | None = None
        #: transition(s) -> StepPlan, for transitions whose domains the document decides
        self.steps: dict[Transition | tuple[Transition, ...], StepPlan] = {}
        #: enabled transitions -> removeConflictingTransitions' answer (same condition)
        self.conflicts: dict[Transition | tuple[Transition, ...], tuple[Transition, ...]] = {}

    def candidates_for(self, name: str) -> tuple[tuple[Transition, ...], ...]:
        found = self.candidates.get(name)
        if found is None:
            # Atomic states without a match are left out: the search order stays the same.
            found = tuple(ts for ts in (_matching(state, name) for state in self.atomic) if ts)
            if len(self.candidates) < MAX_NAMES and self.plan.take_room():
                self.candidates[name] = found
        return found

    def eventless_transitions(self) -> tuple[tuple[Transition, ...], ...]:
        found = self.eventless
        if found is None:
            per_state = (
                tuple(t for s in (state, *state.ancestors) for t in s.transitions if not t.events)
                for state in self.atomic
            )
            found = self.eventless = tuple(ts for ts in per_state if ts)
        return found

    def remember_step(self, key: Transition | tuple[Transition, ...], exits: tuple[State, ...]) -> StepPlan:
        step = StepPlan(key, exits)
        if len(self.steps) < MAX_STEPS and self.plan.take_room():
            self.steps[key] = step
        return step

    def remember_conflicts(self, key: Transition | tuple[Transition, ...], filtered: tuple[Transition, ...]) -> None:
        if len(self.conflicts) < MAX_STEPS and self.plan.take_room():
            self.conflicts[key] = filtered


def _matching(state: State, name: str) -> tuple[Transition, ...]:
    return tuple(t for s in (state, *state.ancestors) for t in s.transitions if t.events and t.matches(name))


class Plan:
    """Per-model memos (see the module docstring)."""

    __slots__ = ("configurations", "domains", "entries", "room")

    def __init__(self) -> None:
        #: memo entries still allowed (MAX_ENTRIES); past it answers are computed, not kept
        self.room = MAX_ENTRIES
        self.configurations: dict[tuple[State, ...], Configuration] = {}
        #: transition -> its domain, for transitions without history targets
        self.domains: dict[Transition, State | None] = {}
        #: transition(s) -> EntryPlan, when no history state took part
        self.entries: dict[Transition | tuple[Transition, ...], EntryPlan] = {}

    def take_room(self) -> bool:
        """Whether one more memo entry may be kept (and count it)."""
        if self.room <= 0:
            return False
        self.room -= 1
        return True

    def step_key(self, enabled: list[Transition]) -> Transition | tuple[Transition, ...] | None:
        """The memo key of a set of transitions, None unless the document decides every domain
        (no history target)."""
        domains = self.domains
        if len(enabled) == 1:
            t = enabled[0]
            return t if t in domains else None
        for t in enabled:
            if t not in domains:
                return None
        return tuple(enabled)

    def remember_entry(
        self,
        t: Transition | tuple[Transition, ...],
        entered: tuple[State, ...],
        plain: tuple[bool, ...],
        default_entry: frozenset[State],
        default_history_content: dict[str, tuple[Any, ...]],
    ) -> None:
        if len(self.entries) < MAX_CONFIGURATIONS and self.take_room():
            self.entries[t] = EntryPlan(entered, plain, default_entry, default_history_content)

    def configuration(self, atomic: tuple[State, ...]) -> Configuration:
        found = self.configurations.get(atomic)
        if found is None:
            found = Configuration(self, atomic)
            if len(self.configurations) < MAX_CONFIGURATIONS and self.take_room():
                self.configurations[atomic] = found
        return found
