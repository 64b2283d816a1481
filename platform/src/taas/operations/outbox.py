"""The outbox: an operation is handed to the workers only once the transaction that
recorded it (with the state change that asked for it) has committed.

The operations table is the outbox. Creating an operation tracks its id on the session;
after that session commits, the ids are sent to the workers and marked dispatched. If the
process dies between the commit and the send, the relay task
(:func:`taas.operations.tasks.relay`) finds the undispatched row and sends it: nothing
committed is lost, and sending twice is harmless (the runner holds a per-operation lock
and skips finished operations).
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import event, update
from sqlalchemy.orm import Session

from taas.kit.celery import celery_app
from taas.kit.db import engine, utcnow
from taas.operations.models import Operation

log = logging.getLogger(__name__)
RUN_OPERATION = "taas.operations.run"
_PENDING = "taas.operations.outbox"


def track(session: Session, operation_id: uuid.UUID) -> None:
    """Send ``operation_id`` to the workers once ``session`` commits."""
    session.info.setdefault(_PENDING, []).append(operation_id)


def send(operation_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Hand operations to the workers; returns those the broker took."""
    sent = []
    for operation_id in operation_ids:
        try:
            celery_app().send_task(RUN_OPERATION, args=[str(operation_id)])
        except Exception:
            log.exception("could not send operation %s; the relay will", operation_id)
            continue
        sent.append(operation_id)
    return sent


def _mark_dispatched(operation_ids: list[uuid.UUID]) -> None:
    with Session(engine()) as session, session.begin():
        session.execute(
            update(Operation)
            .where(Operation.id.in_(operation_ids), Operation.dispatched_at.is_(None))
            .values(dispatched_at=utcnow())
            .execution_options(synchronize_session=False)
        )


@event.listens_for(Session, "after_commit")
def _send_committed(session: Session) -> None:
    operation_ids = session.info.pop(_PENDING, None)
    if not operation_ids:
        return
    sent = send(operation_ids)
    if sent:
        try:
            _mark_dispatched(sent)
        except Exception:  # the relay sends them once more; the runner makes that harmless
            log.exception("could not mark operations dispatched")


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
