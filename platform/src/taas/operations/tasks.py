"""Celery tasks of the engine: run an operation; relay the outbox.

Task arguments are ids only; everything else is read from the database when the task runs.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from celery import Task, shared_task

from taas.kit.db import new_session, utcnow
from taas.kit.settings import app_settings
from taas.operations import outbox
from taas.operations.repository import OperationRepository
from taas.operations.runner import OperationRunner, RetryLater

log = logging.getLogger(__name__)
RELAY = "taas.operations.relay"


@shared_task(  # type: ignore[untyped-decorator]
    name=outbox.RUN_OPERATION,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def run_operation(self: Task, operation_id: str) -> None:
    """Run or resume one operation; come back later on a temporary failure."""
    try:
        OperationRunner(app_settings()).run(uuid.UUID(operation_id))
    except RetryLater as later:
        raise self.retry(countdown=later.delay) from later


@shared_task(name=RELAY)  # type: ignore[untyped-decorator]
def relay() -> int:
    """Send open operations that no worker has: never dispatched (the process that
    committed them died before sending) or stalled (their worker died)."""
    settings = app_settings()
    now = utcnow()
    with new_session() as session:
        repo = OperationRepository(session)
        due = repo.to_relay(
            created_before=now - dt.timedelta(seconds=settings.outbox_relay_interval_s),
            stalled_before=now - dt.timedelta(seconds=settings.stalled_after_s),
        )
        if not due:
            return 0
        log.warning("relaying %d operation(s) no worker has", len(due))
        sent = outbox.send(due)
        repo.mark_dispatched(sent)
        session.commit()
    return len(sent)
