"""All operation queries. Reads of operations take the caller's
:class:`~taas.kit.scope.Scope`; the engine's own reads (its runner and relay) use the
platform's. Lanes are the exception: :meth:`OperationRepository.open_in` answers "is this
subject busy?" across tenants, for a subject the caller has already read through its scope.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taas.kit.db import engine, utcnow
from taas.kit.errors import Conflict
from taas.kit.scope import Scope
from taas.operations import outbox
from taas.operations.models import Operation, OperationStep
from taas.operations.plans import plan_for
from taas.operations.states import OPEN, OperationStatus


def lane(kind: str, subject: uuid.UUID) -> str:
    """The lane of one subject: ``tenant:<id>``, ``subscription:<id>``, ..."""
    return f"{kind}:{subject}"


class LaneBusy(Conflict):
    """Another operation is still running in this lane."""


class OperationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def start(
        self,
        *,
        lane: str,
        kind: str,
        requested_by: str,
        request_id: str | None,
        traceparent: str | None,
        params: dict[str, Any] | None = None,
        tenant_id: uuid.UUID | None = None,
        busy: str = "this lane",
    ) -> Operation:
        """Record a pending operation of ``kind`` in ``lane``; it is handed to the workers
        when the caller's transaction commits (or by the outbox relay, if the process dies
        first). Raises :class:`LaneBusy` while another one is open in the lane."""
        open_op = self.open_in(lane)
        if open_op is not None:
            raise self._busy(open_op, busy)
        operation = Operation(
            lane=lane,
            tenant_id=tenant_id,
            kind=kind,
            status=OperationStatus.PENDING,
            requested_by=requested_by,
            request_id=request_id,
            traceparent=traceparent,
            params=params or {},
        )
        operation.steps = [
            OperationStep(position=position, name=name)
            for position, name in enumerate(plan_for(kind).step_names())
        ]
        try:
            with self.session.begin_nested():
                self.session.add(operation)
        except IntegrityError:  # a racing request opened one first
            open_op = self.open_in(lane)
            raise self._busy(open_op, busy) from None
        outbox.track(self.session, operation.id)
        return operation

    @staticmethod
    def _busy(open_op: Operation | None, busy: str) -> LaneBusy:
        running = f"operation {open_op.id} ({open_op.kind})" if open_op else "an operation"
        return LaneBusy(
            f"{running} is still running for {busy}",
            hint="wait until it finishes (taas tenants ops), then try again",
        )

    def get(self, scope: Scope, operation_id: uuid.UUID) -> Operation | None:
        query = scope.apply(select(Operation).where(Operation.id == operation_id), Operation)
        return self.session.scalars(query).one_or_none()

    def open_in(self, lane: str) -> Operation | None:
        """The unfinished operation in ``lane``, if any (whoever asks: a busy lane is busy)."""
        query = select(Operation).where(Operation.lane == lane, Operation.status.in_(OPEN))
        return self.session.scalars(query).first()

    def recent(self, scope: Scope, *, limit: int = 50) -> list[Operation]:
        """The newest operations in ``scope`` (narrow it to list one tenant's)."""
        query = scope.apply(select(Operation), Operation)
        return list(self.session.scalars(query.order_by(Operation.created_at.desc()).limit(limit)))

    def to_relay(self, created_before: dt.datetime, stalled_before: dt.datetime) -> list[uuid.UUID]:
        """Open operations to hand (again) to the workers: those never dispatched (their
        process died between commit and send), and those nobody has touched for a while
        (their worker died)."""
        never_sent = (Operation.dispatched_at.is_(None)) & (Operation.created_at < created_before)
        stalled = Operation.updated_at < stalled_before
        query = select(Operation.id).where(Operation.status.in_(OPEN), never_sent | stalled)
        return list(self.session.scalars(query.order_by(Operation.created_at)))

    def mark_dispatched(self, operation_ids: list[uuid.UUID]) -> None:
        self.session.execute(
            update(Operation)
            .where(Operation.id.in_(operation_ids), Operation.dispatched_at.is_(None))
            .values(dispatched_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def _lock_key(operation_id: uuid.UUID) -> int:
    return int.from_bytes(operation_id.bytes[:8], "big", signed=True)


@contextmanager
def operation_lock(operation_id: uuid.UUID) -> Iterator[bool]:
    """Hold a session-level advisory lock for the operation; yields False if it is taken.

    The lock lives on its own connection, so it is released if the worker dies.
    """
    with engine().connect() as conn:
        got = conn.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": _lock_key(operation_id)}
        ).scalar_one()
        conn.commit()
        try:
            yield bool(got)
        finally:
            if got:
                conn.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _lock_key(operation_id)}
                )
                conn.commit()
