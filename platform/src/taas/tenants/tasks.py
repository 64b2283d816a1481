"""Celery tasks of the tenants domain: reconcile every tenant; purge expired data."""

from __future__ import annotations

import logging

from celery import shared_task

from taas.integrations.systems import systems
from taas.kit.db import new_session, utcnow
from taas.kit.scope import Scope
from taas.operations.repository import OperationRepository
from taas.tenants import reconciler
from taas.tenants.plans import TenantOperation, tenant_lane
from taas.tenants.repository import TenantRepository

log = logging.getLogger(__name__)
RETENTION = "system:retention"


@shared_task(name="taas.tenants.reconcile_all")  # type: ignore[untyped-decorator]
def reconcile_all() -> int:
    """Repair drift of every active or suspended tenant."""
    with new_session() as session:
        report = reconciler.reconcile_all(session, systems())
    return sum(report.values())


@shared_task(name="taas.tenants.purge_expired")  # type: ignore[untyped-decorator]
def purge_expired() -> int:
    """Start a purge for offboarded tenants whose retention period is over."""
    started = 0
    with new_session() as session:
        operations = OperationRepository(session)
        due = TenantRepository(session).retention_over(Scope.platform(RETENTION), utcnow())
        for tenant in due:
            if operations.open_in(tenant_lane(tenant.id)) is not None:
                continue
            operations.start(
                lane=tenant_lane(tenant.id),
                tenant_id=tenant.id,
                kind=TenantOperation.PURGE,
                requested_by=RETENTION,
                request_id=None,
                traceparent=None,
            )
            started += 1
        session.commit()  # the outbox hands the purges to the workers
    return started
