"""Helpers of the engine tests: test plans whose steps record what they did, and
operations created for them (importable as ``operations_support``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from taas.kit.db import new_session, utcnow
from taas.kit.errors import PermanentError, TemporaryError
from taas.operations import outbox
from taas.operations.models import Operation, OperationStep
from taas.operations.plans import Plan, Step, register
from taas.operations.repository import OperationRepository


@dataclass
class Journal:
    """What the steps of a test plan did, in order, and what they should do next.

    ``fail`` maps a step name to the error to raise (``"temporary"`` or ``"permanent"``)
    and ``times`` to how often (None: always).
    """

    calls: list[str] = field(default_factory=list)
    fail: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    while_running: dict[str, Callable[[], None]] = field(default_factory=dict)

    def step(self, name: str) -> Callable[[Any], list[str]]:
        def run(ctx: Any) -> list[str]:
            self.calls.append(name)
            if name in self.while_running:
                self.while_running[name]()
            kind, times = self.fail.get(name, ("", 0))
            if kind and (times is None or times > 0):
                self.fail[name] = (kind, None if times is None else times - 1)
                if kind == "temporary":
                    raise TemporaryError(f"{name} is not reachable yet", delay=0.1)
                raise PermanentError(f"{name} refused", hint="fix it")
            return [f"ran {name}"]

        return run

    def undo(self, name: str) -> Callable[[Any], list[str]]:
        def run(ctx: Any) -> list[str]:
            self.calls.append(f"undo {name}")
            kind, _ = self.fail.get(f"undo {name}", ("", 0))
            if kind:
                raise PermanentError(f"undo of {name} refused")
            return [f"undid {name}"]

        return run


@dataclass(frozen=True)
class LabelContext:
    label: str


def make_plan(
    journal: Journal, steps: tuple[str, ...] = ("a", "b", "c"), **options: Any
) -> Plan[LabelContext]:
    """Register a plan of a new kind whose steps write to ``journal``."""
    kind = f"test.{uuid.uuid4().hex[:10]}"
    plan: Plan[LabelContext] = Plan(
        kind=kind,
        steps=tuple(Step(name, journal.step(name), journal.undo(name)) for name in steps),
        context=lambda session, operation: LabelContext(label=f"op-{operation.id}"),
        **options,
    )
    register(plan)
    return plan


def start(kind: str, *, send: bool = False) -> uuid.UUID:
    """Record a pending operation of ``kind``. Unless ``send``, it is kept from the workers
    (they know no test plan): it is marked dispatched to this test and not sent."""
    with new_session() as session:
        operation = OperationRepository(session).start(
            lane=f"test:{uuid.uuid4()}",
            kind=kind,
            requested_by="test",
            request_id=None,
            traceparent=None,
        )
        if not send:
            session.info.pop(outbox._PENDING, None)
            operation.dispatched_at = utcnow()
        session.commit()
        return operation.id


def load(operation_id: uuid.UUID) -> tuple[Operation, dict[str, OperationStep]]:
    """The operation as recorded now, with its steps by name."""
    with new_session() as session:
        operation = session.get(Operation, operation_id)
        assert operation is not None
        session.expunge_all()
        return operation, {step.name: step for step in operation.steps}


def set_step(operation_id: uuid.UUID, name: str, status: str, **detail: Any) -> None:
    """Write a step's record as an earlier (dead) worker would have left it."""
    with new_session() as session:
        operation = session.get(Operation, operation_id)
        assert operation is not None
        if status != "pending" and operation.status == "pending":
            operation.status = "running"
        record = next(step for step in operation.steps if step.name == name)
        record.status = status
        record.detail = {**record.detail, **detail}
        session.commit()
