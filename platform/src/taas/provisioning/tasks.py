"""Celery tasks: run operations, resume stalled ones, reconcile, purge expired data.

Task arguments are ids only; everything else is read from the database when the task runs.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from celery import Task, shared_task

from taas.integrations.systems import systems
from taas.kit.celery import celery_app
from taas.kit.db import new_session, utcnow
from taas.kit.settings import app_settings
from taas.provisioning import reconciler
from taas.provisioning.models import OperationKind
from taas.provisioning.repository import OperationRepository
from taas.provisioning.runner import OperationRunner, RetryLater
from taas.provisioning.saga import PLANS
from taas.tenants.models import Tenant
from taas.tenants.states import TenantStatus

log = logging.getLogger(__name__)


RUN_OPERATION = "taas.provisioning.run_operation"


@shared_task(  # type: ignore[untyped-decorator]
    name=RUN_OPERATION,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def run_operation(self: Task, operation_id: str) -> None:
    """Run or resume one operation; come back later on a temporary failure."""
    try:
        OperationRunner(systems(), app_settings()).run(uuid.UUID(operation_id))
    except RetryLater as later:
        raise self.retry(countdown=later.delay) from later


def enqueue(operation_id: uuid.UUID) -> None:
    """Hand an operation to the workers (call after the transaction that created it commits)."""
    celery_app().send_task(RUN_OPERATION, args=[str(operation_id)])


def enqueue_committed(operation_ids: list[uuid.UUID]) -> None:
    """:func:`enqueue` each committed operation; one the broker refuses is only logged,
    since ``resume_stalled`` hands it to a worker later."""
    for operation_id in operation_ids:
        try:
            enqueue(operation_id)
        except Exception:
            log.exception("could not enqueue operation %s; it will be resumed", operation_id)


@shared_task(name="taas.provisioning.resume_stalled")  # type: ignore[untyped-decorator]
def resume_stalled() -> int:
    """Re-enqueue open operations no worker has touched for a while (e.g. its worker died)."""
    threshold = utcnow() - dt.timedelta(seconds=app_settings().stalled_after_s)
    with new_session() as session:
        stalled = OperationRepository(session).stalled(threshold)
        for operation in stalled:
            log.warning("operation %s looks stalled; re-enqueueing it", operation.id)
            enqueue(operation.id)
    return len(stalled)


@shared_task(name="taas.provisioning.reconcile_all")  # type: ignore[untyped-decorator]
def reconcile_all() -> int:
    """Repair drift of every active or suspended tenant."""
    with new_session() as session:
        report = reconciler.reconcile_all(session, systems())
    return sum(report.values())


@shared_task(name="taas.provisioning.purge_expired")  # type: ignore[untyped-decorator]
def purge_expired() -> int:
    """Start a purge for offboarded tenants whose retention period is over."""
    started = 0
    with new_session() as session:
        repo = OperationRepository(session)
        due = session.query(Tenant).filter(
            Tenant.status == TenantStatus.OFFBOARDED,
            Tenant.purge_after.is_not(None),
            Tenant.purge_after < utcnow(),
        )
        operations = []
        for tenant in due:
            if repo.open_for(tenant.id) is not None:
                continue
            operations.append(
                repo.create(
                    tenant_id=tenant.id,
                    kind=OperationKind.PURGE,
                    step_names=[step.name for step in PLANS[OperationKind.PURGE]],
                    requested_by="system:retention",
                    request_id=None,
                    traceparent=None,
                )
            )
        session.commit()
        for operation in operations:
            enqueue(operation.id)
            started += 1
    return started
