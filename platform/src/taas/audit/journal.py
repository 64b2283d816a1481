"""The engine's events in the audit trail: every operation's start, steps, undos and end."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from taas.audit.repository import AuditRepository
from taas.operations.models import Operation

ACTOR = "system:provisioner"


def record_operation_event(
    session: Session, operation: Operation, action: str, outcome: str, detail: dict[str, Any]
) -> None:
    """An :data:`taas.operations.plans.Observer`: append the event to the audit trail."""
    AuditRepository(session).append(
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
