"""Run one operation's saga: step by step, recorded, resumable, compensated on failure.

The runner knows nothing about Celery: a temporary failure raises ``RetryLater`` and the
task decides when to come back. A PostgreSQL advisory lock held for the whole run makes
sure two workers never run the same operation at once (a redelivered or re-enqueued
task simply finds the lock taken and returns).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from taas.audit.repository import AuditRepository
from taas.catalog.models import Subscription
from taas.catalog.states import SubscriptionStatus
from taas.integrations.spec import Quotas, TenantSpec
from taas.integrations.systems import Systems
from taas.kit.db import engine, new_session, scoped, utcnow
from taas.kit.errors import TaasError, TemporaryError
from taas.kit.settings import AppSettings
from taas.kit.telemetry import bind_tenant, continue_trace, tracer
from taas.provisioning import faults
from taas.provisioning.models import (
    SUBSCRIPTION_KINDS,
    Operation,
    OperationKind,
    OperationStatus,
    OperationStep,
    StepStatus,
)
from taas.provisioning.saga import PLANS, Step, StepContext, module_of
from taas.tenants.models import Tenant
from taas.tenants.states import TenantStatus, check_transition

log = logging.getLogger(__name__)
ACTOR = "system:provisioner"
MAX_DELAY_S = 30.0


class RetryLater(Exception):
    """A step hit a temporary failure; run the operation again after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"retry in {delay:.1f}s")
        self.delay = delay


def spec_of(tenant: Tenant) -> TenantSpec:
    return TenantSpec(
        id=tenant.id,
        slug=tenant.slug,
        tier=tenant.tier,
        region=tenant.region,
        quotas=Quotas(**tenant.quotas),
        object_lock=tenant.object_lock,
        display_name=tenant.display_name,
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


# What each kind of operation does to the tenant's status when it starts, succeeds, fails.
_ON_START = {OperationKind.PROVISION: TenantStatus.PROVISIONING}
_ON_SUCCESS = {
    OperationKind.PROVISION: TenantStatus.ACTIVE,
    OperationKind.OFFBOARD: TenantStatus.OFFBOARDED,
}
_ON_FAILURE = {
    OperationKind.PROVISION: TenantStatus.FAILED,
    OperationKind.OFFBOARD: TenantStatus.FAILED,
}


class OperationRunner:
    """Runs operations against the real systems."""

    def __init__(self, systems: Systems, settings: AppSettings) -> None:
        self.systems = systems
        self.settings = settings

    def run(self, operation_id: uuid.UUID) -> None:
        """Run (or resume) the operation; raises RetryLater on a temporary failure."""
        with operation_lock(operation_id) as mine:
            if not mine:
                log.info("operation %s is being run by another worker", operation_id)
                return
            with new_session() as session:
                operation = session.get(Operation, operation_id)
                if operation is None or operation.status not in (
                    OperationStatus.PENDING,
                    OperationStatus.RUNNING,
                ):
                    return
                with (
                    continue_trace(operation.traceparent),
                    tracer().start_as_current_span(f"operation.{operation.kind}") as span,
                ):
                    bind_tenant(operation.tenant_id)
                    span.set_attribute("operation.id", str(operation.id))
                    self._run(session, operation)

    def _run(self, session: Session, operation: Operation) -> None:
        tenant = session.get(Tenant, operation.tenant_id)
        if tenant is None:
            raise LookupError(f"operation {operation.id} refers to a missing tenant")
        audit = AuditRepository(session)
        plan = PLANS[operation.kind]
        records = {step.name: step for step in operation.steps}
        if operation.status == OperationStatus.PENDING:
            operation.status = OperationStatus.RUNNING
            operation.started_at = utcnow()
            start_status = _ON_START.get(OperationKind(operation.kind))
            if start_status and tenant.status != start_status:
                check_transition(tenant.status, start_status)
                tenant.status, tenant.status_reason = start_status, None
            self._audit(audit, operation, "operation.started", "started")
            session.commit()
        ctx = StepContext(spec=spec_of(tenant), systems=self.systems, params=operation.params)
        for step in plan:
            record = records[step.name]
            if record.status == StepStatus.DONE:
                continue
            operation.updated_at = utcnow()  # heartbeat for the stalled-operation check
            record.status = StepStatus.RUNNING
            record.attempts += 1
            record.started_at = utcnow()
            session.commit()
            try:
                with tracer().start_as_current_span(f"saga.step {step.name}") as span:
                    span.set_attribute("tenant.id", str(tenant.id))
                    span.set_attribute("saga.attempt", record.attempts)
                    faults.check(tenant.slug, step.name)
                    changes = step.run(ctx)
            except TemporaryError as exc:
                record.status, record.error = StepStatus.PENDING, exc.message
                if record.attempts < self.settings.step_retry_limit:
                    self._audit(audit, operation, f"saga.{step.name}", "retrying", error=str(exc))
                    session.commit()
                    delay = min(
                        self.settings.step_retry_base_s * 2 ** (record.attempts - 1), MAX_DELAY_S
                    )
                    raise RetryLater(max(delay, exc.delay)) from exc
                self._fail(
                    session,
                    operation,
                    tenant,
                    record,
                    f"gave up after {record.attempts} attempts: {exc}",
                )
                return
            except Exception as exc:  # every failure is recorded, none is lost
                message = str(exc)
                if isinstance(exc, TaasError) and exc.hint:
                    message = f"{exc.message} (next: {exc.hint})"
                self._fail(session, operation, tenant, record, message)
                return
            record.status, record.error = StepStatus.DONE, None
            record.detail = {"changes": changes}
            record.finished_at = utcnow()
            self._audit(audit, operation, f"saga.{step.name}", "succeeded", changes=changes)
            session.commit()
        self._succeed(session, operation, tenant)

    def _succeed(self, session: Session, operation: Operation, tenant: Tenant) -> None:
        operation.status = OperationStatus.SUCCEEDED
        operation.finished_at = utcnow()
        final = _ON_SUCCESS.get(OperationKind(operation.kind))
        if final is not None:
            check_transition(tenant.status, final)
            tenant.status = final
            tenant.status_reason = None
        if operation.kind == OperationKind.OFFBOARD:
            tenant.offboarded_at = utcnow()
            until = operation.params.get("retain_until")
            tenant.purge_after = dt.datetime.fromisoformat(until) if until else None
        if operation.kind == OperationKind.PURGE:
            tenant.purge_after = None
        if operation.kind == OperationKind.OFFBOARD:
            _remove_subscriptions(session, tenant)
        if operation.kind in SUBSCRIPTION_KINDS:
            module = module_of(operation.params.get("module"))
            upstream = None
            if module is not None:
                upstream = module.upstream_url or self.systems.modules.service_url(
                    spec_of(tenant), module
                )
            _settle_subscription(session, operation, error=None, upstream_url=upstream)
        self._audit(AuditRepository(session), operation, "operation.succeeded", "succeeded")
        session.commit()

    def _fail(
        self,
        session: Session,
        operation: Operation,
        tenant: Tenant,
        record: OperationStep,
        message: str,
    ) -> None:
        record.status, record.error, record.finished_at = StepStatus.FAILED, message, utcnow()
        audit = AuditRepository(session)
        self._audit(audit, operation, f"saga.{record.name}", "failed", error=message)
        session.commit()
        leftovers = self._compensate(session, operation, tenant)
        operation.status = OperationStatus.FAILED
        operation.finished_at = utcnow()
        operation.error = f"{record.name}: {message}"
        if leftovers:
            operation.error += f"; could not undo: {'; '.join(leftovers)}"
        failed = _ON_FAILURE.get(OperationKind(operation.kind))
        if failed is not None and tenant.status != failed:
            check_transition(tenant.status, failed)
            tenant.status = failed
        if operation.kind in SUBSCRIPTION_KINDS:
            _settle_subscription(session, operation, error=f"{record.name}: {message}")
        else:
            tenant.status_reason = f"{operation.kind} failed at {record.name}: {message}"
        self._audit(audit, operation, "operation.failed", "failed", error=operation.error)
        session.commit()

    def _compensate(self, session: Session, operation: Operation, tenant: Tenant) -> list[str]:
        """Undo the completed steps of a failed provisioning or subscription, newest first."""
        if operation.kind not in (OperationKind.PROVISION, OperationKind.SUBSCRIBE):
            return []
        ctx = StepContext(spec=spec_of(tenant), systems=self.systems, params=operation.params)
        steps: dict[str, Step] = {step.name: step for step in PLANS[operation.kind]}
        leftovers = []
        audit = AuditRepository(session)
        for record in sorted(operation.steps, key=lambda r: r.position, reverse=True):
            step = steps[record.name]
            if record.status not in (StepStatus.DONE, StepStatus.FAILED, StepStatus.RUNNING):
                continue
            if step.undo is None:
                continue
            try:
                undone = self._undo_with_retries(step, ctx)
            except Exception as exc:
                leftovers.append(f"{record.name} ({exc})")
                self._audit(audit, operation, f"saga.undo.{record.name}", "failed", error=str(exc))
                continue
            if record.status == StepStatus.DONE:
                record.status = StepStatus.UNDONE  # a failed step keeps saying it failed
            record.detail = {**record.detail, "undone": undone}
            self._audit(audit, operation, f"saga.undo.{record.name}", "succeeded", changes=undone)
            session.commit()
        return leftovers

    def _undo_with_retries(self, step: Step, ctx: StepContext, attempts: int = 3) -> list[str]:
        assert step.undo is not None  # noqa: S101 - checked by the caller
        for attempt in range(1, attempts + 1):
            try:
                return step.undo(ctx)
            except TemporaryError:
                if attempt == attempts:
                    raise
                time.sleep(min(2**attempt, 10))
        return []

    def _audit(
        self,
        audit: AuditRepository,
        operation: Operation,
        action: str,
        outcome: str,
        **detail: object,
    ) -> None:
        audit.append(
            actor=ACTOR,
            action=action,
            outcome=outcome,
            tenant_id=operation.tenant_id,
            request_id=operation.request_id,
            detail={
                "operation_id": str(operation.id),
                "kind": operation.kind,
                "requested_by": operation.requested_by,
                **detail,
            },
        )


def _settle_subscription(
    session: Session, operation: Operation, error: str | None, upstream_url: str | None = None
) -> None:
    """What a finished subscription operation means for the subscription.

    On success the version and the address of its upstream change in the same transaction:
    the gateways route to the version the subscription is on, never to a mix of the two.
    """
    row = session.get(Subscription, operation.subscription_id)
    if row is None:
        return
    kind = OperationKind(operation.kind)
    if error is None:
        if kind == OperationKind.UNSUBSCRIBE:
            row.status, row.status_reason = SubscriptionStatus.REMOVED, "unsubscribed"
        else:
            row.status, row.status_reason = SubscriptionStatus.ACTIVE, None
            row.plugin_version_id = uuid.UUID(operation.params["module"]["plugin_version_id"])
            if upstream_url:
                row.upstream_url = upstream_url
    elif kind == OperationKind.CHANGE_SUBSCRIPTION:
        # Still deployed and routed on the version it had.
        row.status = SubscriptionStatus.ACTIVE
        row.status_reason = f"version change failed: {error}"
    else:
        row.status, row.status_reason = SubscriptionStatus.FAILED, error


def _remove_subscriptions(session: Session, tenant: Tenant) -> None:
    live = scoped(select(Subscription), Subscription, tenant.id).where(
        Subscription.status != SubscriptionStatus.REMOVED
    )
    for row in session.scalars(live):
        row.status, row.status_reason = SubscriptionStatus.REMOVED, "tenant offboarded"
