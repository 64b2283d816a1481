"""Lifecycles as declared transitions, checked on every write of a status column.

A :class:`Lifecycle` names the states of one kind of record and the moves allowed between
them. :meth:`Lifecycle.guard` ties it to a mapped ``status`` attribute: from then on every
assignment goes through :meth:`Lifecycle.check`, whichever code makes it, so an undeclared
move raises :class:`IllegalTransition` (a 409 problem at the API) before it reaches the
database. Writing the status a record already has is not a move: the guard lets it pass,
while :meth:`Lifecycle.check`, asked directly, refuses a move to the same state unless it
is declared (suspending a suspended tenant is refused).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import event

from taas.kit.errors import Conflict

S = TypeVar("S", bound=StrEnum)

LIFECYCLES: list[Lifecycle[Any]] = []
# (mapped class, attribute name) -> the lifecycle that guards it, filled by Lifecycle.guard.
GUARDED: dict[tuple[type, str], Lifecycle[Any]] = {}


class IllegalTransition(Conflict):
    """A record cannot go from its current status to the one asked for."""

    def __init__(self, lifecycle: Lifecycle[Any], current: StrEnum, wanted: StrEnum) -> None:
        allowed = ", ".join(sorted(lifecycle.next_of(current))) or "none (final)"
        super().__init__(
            f"{lifecycle.name} is {current}; it cannot become {wanted}",
            hint=f"from {current} the allowed next states are: {allowed}",
        )
        self.current = current
        self.wanted = wanted


class Lifecycle(Generic[S]):
    """The declared states of one kind of record and the moves between them."""

    def __init__(
        self, name: str, states: type[S], transitions: Mapping[S, Iterable[S]], *, initial: S
    ) -> None:
        missing = set(states) - set(transitions)
        if missing:
            raise ValueError(f"{name}: no transitions declared from {sorted(map(str, missing))}")
        self.name = name
        self.states = states
        self.initial = initial
        self.transitions: dict[S, frozenset[S]] = {
            state: frozenset(targets) for state, targets in transitions.items()
        }
        LIFECYCLES.append(self)

    def next_of(self, current: StrEnum | str) -> frozenset[S]:
        return self.transitions[self.states(current)]

    def allows(self, current: StrEnum | str, wanted: StrEnum | str) -> bool:
        return self.states(wanted) in self.next_of(current)

    def check(self, current: StrEnum | str, wanted: StrEnum | str) -> None:
        """Raise :class:`IllegalTransition` unless ``current -> wanted`` is declared."""
        if not self.allows(current, wanted):
            raise IllegalTransition(self, self.states(current), self.states(wanted))

    def final(self) -> frozenset[S]:
        return frozenset(state for state, targets in self.transitions.items() if not targets)

    def guard(self, attribute: Any) -> None:
        """Check every assignment to the mapped ``attribute`` (a ``status`` column)."""
        GUARDED[(attribute.class_, attribute.key)] = self

        @event.listens_for(attribute, "set", active_history=True)
        def _checked(target: Any, value: Any, oldvalue: Any, initiator: Any) -> None:
            # a new record's first status, and a write of the same status, are not moves
            if isinstance(oldvalue, str) and oldvalue != value:
                self.check(oldvalue, value)

    def mermaid(self) -> str:
        """The lifecycle as a Mermaid state diagram."""
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial.value}"]
        for state, targets in self.transitions.items():
            lines += [f"    {state.value} --> {target.value}" for target in sorted(targets)]
            if not targets:
                lines.append(f"    {state.value} --> [*]")
        return "\n".join(lines)


def mermaid_document(lifecycles: Iterable[Lifecycle[Any]]) -> str:
    """Every lifecycle given, by name, as a Markdown section of Mermaid state diagrams (what
    ``taas docs states`` prints and docs/architecture.md holds)."""
    parts = []
    for lifecycle in sorted(lifecycles, key=lambda each: each.name):
        parts.append(f"### {lifecycle.name}\n\n```mermaid\n{lifecycle.mermaid()}\n```")
    return "\n\n".join(parts) + "\n"
