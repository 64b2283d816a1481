"""Run one operation's plan: step by step, recorded, resumable, compensated on failure.

The runner knows nothing about Celery or about any domain: it looks the plan up by the
operation's kind. A temporary failure raises ``RetryLater`` and the task decides when to
come back. A PostgreSQL advisory lock held for the whole run makes sure two workers never
run the same operation at once (a redelivered or re-enqueued task finds the lock taken and
returns).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from taas.kit.db import new_session, utcnow
from taas.kit.errors import TaasError, TemporaryError
from taas.kit.scope import Scope
from taas.kit.settings import AppSettings
from taas.kit.telemetry import bind_tenant, continue_trace, tracer
from taas.operations import faults
from taas.operations.models import Operation, OperationStep
from taas.operations.plans import Plan, Step, StepContext, UnknownPlan, When, hooks, notify
from taas.operations.plans import plan_for as find_plan
from taas.operations.repository import OperationRepository, operation_lock
from taas.operations.states import OPEN, OperationStatus, StepStatus

log = logging.getLogger(__name__)
MAX_DELAY_S = 30.0


class RetryLater(Exception):
    """A step hit a temporary failure; run the operation again after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"retry in {delay:.1f}s")
        self.delay = delay


ENGINE = Scope.platform("taas:operations")  # the engine runs every tenant's operations


@dataclass
class _Run:
    """One run of one operation: its session, record, plan and step context."""

    session: Session
    operation: Operation
    plan: Plan[Any]
    ctx: StepContext


def _run_hooks(session: Session, operation: Operation, when: When) -> None:
    for hook in hooks(operation.kind, when):
        hook(session, operation)


class OperationRunner:
    """Runs operations of any registered kind."""

    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings

    def run(self, operation_id: uuid.UUID) -> None:
        """Run (or resume) the operation; raises RetryLater on a temporary failure."""
        with operation_lock(operation_id) as mine:
            if not mine:
                log.info("operation %s is being run by another worker", operation_id)
                return
            with new_session() as session:
                operation = OperationRepository(session).get(ENGINE, operation_id)
                if operation is None or operation.status not in OPEN:
                    return
                with (
                    continue_trace(operation.traceparent),
                    tracer().start_as_current_span(f"operation.{operation.kind}") as span,
                ):
                    if operation.tenant_id is not None:
                        bind_tenant(operation.tenant_id)
                    span.set_attribute("operation.id", str(operation.id))
                    try:
                        plan = find_plan(operation.kind)
                    except UnknownPlan as exc:
                        self._abandon(session, operation, str(exc))
                        return
                    self._run(session, operation, plan)

    def _run(self, session: Session, operation: Operation, plan: Plan[Any]) -> None:
        if operation.status == OperationStatus.PENDING:
            operation.status = OperationStatus.RUNNING
            operation.started_at = utcnow()
            _run_hooks(session, operation, When.START)
            notify(session, operation, "operation.started", "started")
            session.commit()
        run = _Run(session, operation, plan, plan.context(session, operation))
        records = {record.name: record for record in operation.steps}
        for step in plan.steps:
            record = records[step.name]
            if record.status == StepStatus.DONE:
                continue
            if record.status == StepStatus.RUNNING:  # its worker died while running it
                interrupted = int(record.detail.get("interrupted", 0)) + 1
                record.detail = {**record.detail, "interrupted": interrupted}
                if interrupted >= plan.max_starts:
                    message = (
                        f"its worker stopped {interrupted} times while running it (killed "
                        "for memory or time?); see the worker logs, then retry"
                    )
                    self._fail(run, record, message)
                    return
            if not self._run_step(run, step, record):
                return
        self._succeed(session, operation)

    def _run_step(self, run: _Run, step: Step[Any], record: OperationStep) -> bool:
        """Run one step and record what came of it; False when the operation stops here."""
        session, operation, ctx = run.session, run.operation, run.ctx
        operation.updated_at = utcnow()  # heartbeat for the stalled-operation check
        record.status = StepStatus.RUNNING
        record.attempts += 1
        record.started_at = utcnow()
        session.commit()
        try:
            with tracer().start_as_current_span(f"step {step.name}") as span:
                if operation.tenant_id is not None:
                    span.set_attribute("tenant.id", str(operation.tenant_id))
                span.set_attribute("step.attempt", record.attempts)
                faults.before(ctx.label, step.name)
                with faults.during(ctx.label, step.name):
                    changes = step.run(ctx)
                faults.after(ctx.label, step.name)
        except TemporaryError as exc:
            record.status, record.error = StepStatus.PENDING, exc.message
            if record.attempts < self.settings.step_retry_limit:
                notify(session, operation, f"saga.{step.name}", "retrying", error=str(exc))
                session.commit()
                delay = min(
                    self.settings.step_retry_base_s * 2 ** (record.attempts - 1), MAX_DELAY_S
                )
                raise RetryLater(max(delay, exc.delay)) from exc
            message = f"gave up after {record.attempts} attempts: {exc}"
            self._fail(run, record, message)
            return False
        except Exception as exc:  # every failure is recorded, none is lost
            message = str(exc)
            if isinstance(exc, TaasError) and exc.hint:
                message = f"{exc.message} (next: {exc.hint})"
            self._fail(run, record, message)
            return False
        record.status, record.error = StepStatus.DONE, None
        record.detail = {**record.detail, "changes": changes}
        record.finished_at = utcnow()
        notify(session, operation, f"saga.{step.name}", "succeeded", changes=changes)
        session.commit()
        return True

    def _succeed(self, session: Session, operation: Operation) -> None:
        operation.status = OperationStatus.SUCCEEDED
        operation.finished_at = utcnow()
        _run_hooks(session, operation, When.SUCCESS)
        notify(session, operation, "operation.succeeded", "succeeded")
        session.commit()

    def _fail(self, run: _Run, record: OperationStep, message: str) -> None:
        session, operation = run.session, run.operation
        record.status, record.error, record.finished_at = StepStatus.FAILED, message, utcnow()
        notify(session, operation, f"saga.{record.name}", "failed", error=message)
        session.commit()
        leftovers = self._compensate(run) if run.plan.compensate else []
        error = f"{record.name}: {message}"
        if leftovers:
            error += f"; could not undo: {'; '.join(leftovers)}"
        self._end_failed(session, operation, error)

    def _abandon(self, session: Session, operation: Operation, error: str) -> None:
        """End an operation no plan can run (its kind is not registered)."""
        log.error("operation %s cannot run: %s", operation.id, error)
        self._end_failed(session, operation, error)

    def _end_failed(self, session: Session, operation: Operation, error: str) -> None:
        operation.status = OperationStatus.FAILED
        operation.finished_at = utcnow()
        operation.error = error
        _run_hooks(session, operation, When.FAILURE)
        notify(session, operation, "operation.failed", "failed", error=error)
        session.commit()

    def _compensate(self, run: _Run) -> list[str]:
        """Undo the steps done (or part-done) of a failed plan, newest first."""
        session, operation, ctx = run.session, run.operation, run.ctx
        steps: dict[str, Step[Any]] = {step.name: step for step in run.plan.steps}
        leftovers = []
        for record in sorted(operation.steps, key=lambda r: r.position, reverse=True):
            step = steps.get(record.name)
            touched = (StepStatus.DONE, StepStatus.FAILED, StepStatus.RUNNING)
            if step is None or step.undo is None or record.status not in touched:
                continue
            try:
                undone = self._undo_with_retries(step, ctx)
            except Exception as exc:
                leftovers.append(f"{record.name} ({exc})")
                notify(session, operation, f"saga.undo.{record.name}", "failed", error=str(exc))
                continue
            if record.status == StepStatus.DONE:
                record.status = StepStatus.UNDONE  # a failed step keeps saying it failed
            record.detail = {**record.detail, "undone": undone}
            notify(session, operation, f"saga.undo.{record.name}", "succeeded", changes=undone)
            session.commit()
        return leftovers

    @staticmethod
    def _undo_with_retries(step: Step[Any], ctx: StepContext, attempts: int = 3) -> list[str]:
        assert step.undo is not None  # noqa: S101 - checked by the caller
        for attempt in range(1, attempts + 1):
            try:
                return step.undo(ctx)
            except TemporaryError:
                if attempt == attempts:
                    raise
                time.sleep(min(2**attempt, 10))
        return []
