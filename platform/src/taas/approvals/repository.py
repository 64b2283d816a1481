"""Queries on approval requests.

Approval requests are platform records (no tenant owns one): operators and auditors read
them all, a requester their own, as the service decides; no read here takes a scope.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from taas.approvals.models import Approval
from taas.approvals.states import APPROVAL, ApprovalStatus
from taas.kit.db import utcnow


class ApprovalRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: Approval) -> None:
        self.session.add(row)
        self.session.flush()

    def get(self, approval_id: uuid.UUID, *, lock: bool = False) -> Approval | None:
        query = select(Approval).where(Approval.id == approval_id)
        if lock:
            query = query.with_for_update()
        # populate_existing: a row expired by ``expire_due`` in this session is read afresh.
        return self.session.scalars(query.execution_options(populate_existing=True)).first()

    def pending_for(self, action: str, target: str) -> Approval | None:
        return self.session.scalars(
            select(Approval).where(
                Approval.action == action,
                Approval.target == target,
                Approval.status == ApprovalStatus.PENDING,
            )
        ).first()

    def expire_due(self) -> list[Approval]:
        """Mark pending requests past their expiry as expired; return them.

        One UPDATE, so the status guard on the mapped attribute does not see it: the
        ``WHERE status = 'pending'`` makes it the declared move pending -> expired."""
        APPROVAL.check(ApprovalStatus.PENDING, ApprovalStatus.EXPIRED)
        return list(
            self.session.scalars(
                update(Approval)
                .where(Approval.status == ApprovalStatus.PENDING, Approval.expires_at <= utcnow())
                .values(status=ApprovalStatus.EXPIRED, decided_at=Approval.expires_at)
                .returning(Approval),
                execution_options={"synchronize_session": False},
            )
        )

    def page(self, status: ApprovalStatus | None, limit: int) -> list[Approval]:
        query = select(Approval).order_by(Approval.requested_at.desc()).limit(limit)
        if status is not None:
            query = query.where(Approval.status == status)
        return list(self.session.scalars(query))
