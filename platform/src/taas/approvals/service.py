"""Maker-checker: one operator requests a destructive action, a different one approves it.

The mechanism is generic: a domain registers an executor for each action it guards
(``register``), asks for a request instead of acting (``ApprovalService.request``), and
the action runs, as the approving operator, when a second operator approves. A request
that nobody decides expires; its requester can cancel it; any operator but the requester
can reject it. Every step is audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taas.approvals.models import Approval
from taas.approvals.repository import ApprovalRepository
from taas.approvals.schemas import ApprovalAction, ApprovalOut, ApprovalStatus, Decision
from taas.audit.repository import AuditRepository
from taas.kit.auth import Principal
from taas.kit.db import utcnow
from taas.kit.errors import Conflict, Forbidden, NotFound
from taas.kit.idempotency import IdempotencyStore, Once
from taas.kit.service import CallerService
from taas.kit.settings import app_settings

MAX_PAGE: Final = 200


@dataclass(frozen=True)
class ApprovedAction:
    """What an executor is given: the request a second operator has just approved."""

    id: uuid.UUID
    action: ApprovalAction
    target: str
    params: dict[str, Any]
    reason: str
    requested_by: str


@dataclass(frozen=True)
class Executed:
    """What an executor did: a body for the record. Operations it started are handed to
    the workers when the approval's transaction commits (the engine's outbox)."""

    result: dict[str, Any]


Executor = Callable[[Session, Principal, str | None, ApprovedAction], Executed]
_EXECUTORS: dict[ApprovalAction, Executor] = {}


def register(action: ApprovalAction, executor: Executor) -> None:
    """Called by the domain that owns ``action``: what approving a request of it runs."""
    _EXECUTORS[action] = executor


def _require_operator(principal: Principal, what: str) -> None:
    if not principal.is_operator:
        raise Forbidden(f"only platform operators may {what}")


class ApprovalService(CallerService):
    def __init__(self, session: Session, principal: Principal, request_id: str | None) -> None:
        super().__init__(session, principal, request_id)
        self.approvals = ApprovalRepository(session)
        self.audit = AuditRepository(session)

    # ------------------------------------------------------------------ reading

    def page(self, status: ApprovalStatus | None, limit: int) -> list[ApprovalOut]:
        if not (self.principal.is_operator or self.principal.is_auditor):
            raise Forbidden("only platform operators and auditors may list approval requests")
        self._expire_due()
        rows = self.approvals.page(status, max(1, min(limit, MAX_PAGE)))
        return [ApprovalOut.model_validate(row) for row in rows]

    def get(self, approval_id: uuid.UUID) -> ApprovalOut:
        self._expire_due()
        row = self.approvals.get(approval_id)
        if row is None or not self._may_see(row):
            raise NotFound(f"approval request {approval_id} not found")
        return ApprovalOut.model_validate(row)

    def _may_see(self, row: Approval) -> bool:
        return (
            self.principal.is_operator
            or self.principal.is_auditor
            or row.requested_by_subject == self.principal.subject
        )

    # ------------------------------------------------------------------ requesting

    def request(
        self,
        action: ApprovalAction,
        target: str,
        *,
        summary: str,
        params: dict[str, Any],
        reason: str,
        idempotency_key: str | None,
    ) -> ApprovalOut:
        """Record a pending request (the caller has checked that it may ask for it)."""
        scope = f"approvals.request:{action}:{target}"[:100]
        first = self.once(idempotency_key, scope, [params, reason])
        if first.earlier is not None:
            return ApprovalOut.model_validate(first.earlier)
        self._expire_due()
        self._no_pending(action, target)
        now = utcnow()
        row = Approval(
            action=action,
            target=target,
            summary=summary,
            params=params,
            reason=reason,
            status=ApprovalStatus.PENDING,
            requested_by=self.principal.name,
            requested_by_subject=self.principal.subject,
            requested_at=now,
            expires_at=now + dt.timedelta(seconds=app_settings().approval_ttl_s),
        )
        try:
            with self.session.begin_nested():
                self.approvals.add(row)
        except IntegrityError as exc:
            raise Conflict(
                f"a {action} request for {target} is already pending",
                hint="approve, reject or cancel it: taas approvals list",
            ) from exc
        self._audit("approval.request", row, {"summary": summary, "params": params})
        body = self._out(row)
        first.keep(body.model_dump(mode="json"))
        return body

    def _no_pending(self, action: ApprovalAction, target: str) -> None:
        pending = self.approvals.pending_for(action, target)
        if pending is not None:
            raise Conflict(
                f"a {action} request for {target} is already pending ({pending.id}, "
                f"requested by {pending.requested_by})",
                hint=f"a second operator approves it: taas approvals approve {pending.id}; "
                f"or cancel it: taas approvals cancel {pending.id}",
                approval_id=str(pending.id),
            )

    # ------------------------------------------------------------------ deciding

    def approve(
        self, approval_id: uuid.UUID, decision: Decision, idempotency_key: str | None
    ) -> ApprovalOut:
        """Approve and run the action as this (second) operator; never by the requester."""
        _require_operator(self.principal, "approve requests")
        replay = self._replay("approve", approval_id, decision, idempotency_key)
        if replay is not None:
            return replay
        row = self._pending(approval_id)
        if row.requested_by_subject == self.principal.subject:
            raise Conflict(
                "you requested this action; another operator must approve it (four eyes)",
                hint="ask a second platform operator: taas approvals approve " + str(row.id),
            )
        executor = _EXECUTORS.get(ApprovalAction(row.action))
        if executor is None:  # pragma: no cover - wiring registers every executor
            raise Conflict(f"no executor is registered for {row.action}")
        executed = executor(
            self.session,
            self.principal,
            self.request_id,
            ApprovedAction(
                id=row.id,
                action=ApprovalAction(row.action),
                target=row.target,
                params=dict(row.params),
                reason=row.reason,
                requested_by=row.requested_by,
            ),
        )
        self._decide(row, ApprovalStatus.APPROVED, decision.reason)
        row.result = executed.result
        body = self._out(row)
        self._remember("approve", idempotency_key, body)
        return body

    def reject(
        self, approval_id: uuid.UUID, decision: Decision, idempotency_key: str | None
    ) -> ApprovalOut:
        """Refuse a request: nothing runs. Any operator but the requester (who cancels)."""
        _require_operator(self.principal, "reject requests")
        replay = self._replay("reject", approval_id, decision, idempotency_key)
        if replay is not None:
            return replay
        row = self._pending(approval_id)
        if row.requested_by_subject == self.principal.subject:
            raise Conflict(
                "you requested this action; withdraw it with cancel instead",
                hint=f"taas approvals cancel {row.id}",
            )
        self._decide(row, ApprovalStatus.REJECTED, decision.reason)
        body = self._out(row)
        self._remember("reject", idempotency_key, body)
        return body

    def cancel(self, approval_id: uuid.UUID, decision: Decision) -> ApprovalOut:
        """The requester withdraws a pending request."""
        row = self._pending(approval_id)
        if row.requested_by_subject != self.principal.subject:
            raise Forbidden(
                "only the requester may cancel a request",
                hint=f"reject it instead: taas approvals reject {row.id}",
            )
        self._decide(row, ApprovalStatus.CANCELLED, decision.reason)
        return self._out(row)

    # ------------------------------------------------------------------ helpers

    def _pending(self, approval_id: uuid.UUID) -> Approval:
        self._expire_due()
        row = self.approvals.get(approval_id, lock=True)
        if row is None or not self._may_see(row):
            raise NotFound(f"approval request {approval_id} not found")
        if row.status != ApprovalStatus.PENDING:
            by = f" by {row.decided_by}" if row.decided_by else ""
            raise Conflict(
                f"approval request {row.id} is already {row.status}{by}",
                hint="a decided request cannot change; ask for the action again if needed",
                current_status=row.status,
            )
        return row

    def _decide(self, row: Approval, status: ApprovalStatus, reason: str) -> None:
        row.status = status
        row.decided_by = self.principal.name
        row.decided_at = utcnow()
        row.decision_reason = reason
        self._audit(f"approval.{status}", row, {"reason": reason})

    def _replay(
        self,
        verb: str,
        approval_id: uuid.UUID,
        decision: Decision,
        idempotency_key: str | None,
    ) -> ApprovalOut | None:
        scope = f"approvals.{verb}:{approval_id}"
        first = self.once(idempotency_key, scope, decision.model_dump(mode="json"))
        return None if first.earlier is None else ApprovalOut.model_validate(first.earlier)

    def _remember(self, verb: str, idempotency_key: str | None, body: ApprovalOut) -> None:
        once_for = Once(IdempotencyStore(self.session), self.principal.name, idempotency_key)
        once_for.keep(body.model_dump(mode="json"))

    def _expire_due(self) -> None:
        for row in self.approvals.expire_due():
            self.audit.append(
                actor="taas",
                action="approval.expired",
                outcome="expired",
                request_id=self.request_id,
                detail={"approval": str(row.id), "action": row.action, "target": row.target},
            )

    def _out(self, row: Approval) -> ApprovalOut:
        self.session.flush()
        self.session.refresh(row)
        return ApprovalOut.model_validate(row)

    def _audit(self, action: str, row: Approval, detail: dict[str, Any]) -> None:
        self.audit.append(
            actor=self.principal.name,
            action=action,
            outcome="accepted",
            request_id=self.request_id,
            detail={
                "approval": str(row.id),
                "action": row.action,
                "target": row.target,
                "requested_by": row.requested_by,
                **detail,
            },
        )
