"""What one macrostep did, as data: the interpreter returns these, the trace layer reads them.

A `MacroStep` is one pass of the W3C mainEventLoop: the external event taken (or None for the
start-up or leftover internal work), the internal events dequeued, and the `MicroStep`s taken,
each with the transitions fired and the states exited and entered (in exit / entry order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events import Event
    from .model import State, Transition


@dataclass(slots=True)
class MicroStep:
    """One set of transitions taken together (W3C `microstep`)."""

    event: Event | None
    transitions: tuple[Transition, ...] | list[Transition]
    exited: tuple[State, ...]
    entered: tuple[State, ...]


@dataclass(slots=True)
class MacroStep:
    """Everything one macrostep did, in order."""

    event: Event | None
    internal_events: list[str] = field(default_factory=list)
    microsteps: list[MicroStep] = field(default_factory=list)
    #: states entered by the initial transition of the document (the start-up macrostep only)
    initial: tuple[State, ...] = ()

    @property
    def transitions(self) -> list[Transition]:
        return [t for step in self.microsteps for t in step.transitions]

    @property
    def exited(self) -> list[State]:
        return [s for step in self.microsteps for s in step.exited]

    @property
    def entered(self) -> list[State]:
        return [*self.initial, *(s for step in self.microsteps for s in step.entered)]

    def __bool__(self) -> bool:
        """False when stepping found nothing to do (no event, no transition, nothing entered)."""
        return bool(self.event or self.internal_events or self.microsteps or self.initial)
