"""All operation queries."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taas.kit.db import scoped
from taas.provisioning.models import Operation, OperationStatus, OperationStep

OPEN = (OperationStatus.PENDING, OperationStatus.RUNNING)


class OperationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        *,
        tenant_id: uuid.UUID,
        kind: str,
        step_names: Sequence[str],
        requested_by: str,
        request_id: str | None,
        traceparent: str | None,
        params: dict[str, Any] | None = None,
        subscription_id: uuid.UUID | None = None,
    ) -> Operation:
        operation = Operation(
            tenant_id=tenant_id,
            subscription_id=subscription_id,
            kind=kind,
            status=OperationStatus.PENDING,
            requested_by=requested_by,
            request_id=request_id,
            traceparent=traceparent,
            params=params or {},
        )
        operation.steps = [
            OperationStep(position=position, name=name) for position, name in enumerate(step_names)
        ]
        self.session.add(operation)
        self.session.flush()
        return operation

    def get(self, operation_id: uuid.UUID) -> Operation | None:
        return self.session.get(Operation, operation_id)

    def open_for(
        self, tenant_id: uuid.UUID, subscription_id: uuid.UUID | None = None
    ) -> Operation | None:
        """The unfinished operation in the tenant's own lane, or in one subscription's."""
        lane = (
            Operation.subscription_id.is_(None)
            if subscription_id is None
            else Operation.subscription_id == subscription_id
        )
        query = scoped(select(Operation), Operation, tenant_id).where(
            Operation.status.in_(OPEN), lane
        )
        return self.session.scalars(query).first()

    def for_tenant(self, tenant_id: uuid.UUID, *, limit: int = 50) -> list[Operation]:
        query = scoped(select(Operation), Operation, tenant_id)
        return list(self.session.scalars(query.order_by(Operation.created_at.desc()).limit(limit)))

    def stalled(self, older_than: dt.datetime) -> list[Operation]:
        """Open operations nobody has touched since ``older_than``."""
        query = select(Operation).where(
            Operation.status.in_(OPEN), Operation.updated_at < older_than
        )
        return list(self.session.scalars(query))
