"""Plans: what domains register with the engine.

A plan names an operation kind, its steps in order and how to build the context the steps
work with. Each step is idempotent (running it twice is safe: "already exists" means done)
and may have an undo. Domains react to an operation's start, success or failure through
hooks, in the same transaction as the engine's own status change; hooks may be added for
another domain's kinds (subscriptions close when their tenant is offboarded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Generic, Protocol, TypeVar

from pydantic import Field
from sqlalchemy.orm import Session

from taas.operations.models import Operation

Ctx = TypeVar("Ctx")


class StepContext(Protocol):
    """What every plan's context offers the engine: a label naming what the operation
    works on (a tenant's slug, a plugin version), used in logs and by fault injection."""

    @property
    def label(self) -> str: ...


@dataclass(frozen=True)
class Step(Generic[Ctx]):
    """One named, idempotent step and the action that undoes it."""

    name: str
    run: Callable[[Ctx], list[str]]
    undo: Callable[[Ctx], list[str]] | None = None


class When(StrEnum):
    START = "start"
    SUCCESS = "success"
    FAILURE = "failure"


# (session, operation) -> None, run inside the engine's transaction.
Hook = Callable[[Session, Operation], None]


@dataclass(frozen=True)
class Plan(Generic[Ctx]):
    """The steps of one operation kind and how to build their context."""

    kind: str
    steps: tuple[Step[Ctx], ...]
    context: Callable[[Session, Operation], Ctx]
    compensate: bool = False  # undo the steps done, newest first, when the plan fails
    max_starts: int = 5  # a step whose worker died this many times fails the operation

    def step_names(self) -> list[str]:
        return [step.name for step in self.steps]


class UnknownPlan(LookupError):
    """No plan is registered for an operation kind."""


_PLANS: dict[str, Plan[Any]] = {}
_HOOKS: dict[tuple[str, When], list[Hook]] = {}


def register(plan: Plan[Any]) -> Plan[Any]:
    """Make ``plan`` runnable; registering the same kind again replaces it."""
    _PLANS[plan.kind] = plan
    return plan


def on(kind: str, when: When, hook: Hook) -> None:
    """Run ``hook`` when an operation of ``kind`` starts, succeeds or fails."""
    hooks = _HOOKS.setdefault((kind, when), [])
    if hook not in hooks:
        hooks.append(hook)


def plan_for(kind: str) -> Plan[Any]:
    try:
        return _PLANS[kind]
    except KeyError:
        raise UnknownPlan(f"no plan is registered for operations of kind {kind!r}") from None


def hooks(kind: str, when: When) -> list[Hook]:
    return list(_HOOKS.get((kind, when), ()))


def kinds() -> list[str]:
    return sorted(_PLANS)


def registered_kinds(schema: dict[str, Any]) -> None:
    """For a JSON schema of an operation kind: the kinds registered when it is generated."""
    schema["enum"] = kinds()


# An operation's kind as the API shows it: a string, listed with the kinds registered.
OperationKind = Annotated[
    str,
    Field(
        description="What the operation does (provision, subscribe, ...).",
        json_schema_extra=registered_kinds,
    ),
]


def plans() -> list[Plan[Any]]:
    return [_PLANS[kind] for kind in kinds()]


# (session, operation, action, outcome, detail) -> None: told of every start, step, undo and
# end, in the engine's transaction (the audit trail is one such observer).
Observer = Callable[[Session, Operation, str, str, dict[str, Any]], None]
_OBSERVERS: list[Observer] = []


def observe(observer: Observer) -> None:
    if observer not in _OBSERVERS:
        _OBSERVERS.append(observer)


def notify(
    session: Session, operation: Operation, action: str, outcome: str, **detail: Any
) -> None:
    for observer in _OBSERVERS:
        observer(session, operation, action, outcome, detail)
