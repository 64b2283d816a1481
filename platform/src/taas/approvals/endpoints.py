"""HTTP API of maker-checker approvals: /v1/approvals."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query

from taas.approvals.schemas import ApprovalOut, ApprovalStatus, Decision
from taas.approvals.service import ApprovalService
from taas.kit.problems import problems
from taas.kit.web import CurrentPrincipal, DbSession, RequestId

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/approvals", tags=["approvals"], responses=problems(400))
DECIDE_ERRORS = problems(401, 403, 404, 409, 422)
IdempotencyKey = Annotated[
    str | None,
    Header(max_length=200, description="Retrying with the same key does the same thing once."),
]


@router.get(
    "",
    response_model=list[ApprovalOut],
    responses=problems(401, 403, 422),
    summary="Approval requests, newest first (operators and auditors)",
)
def list_approvals(
    session: DbSession,
    principal: CurrentPrincipal,
    status: ApprovalStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ApprovalOut]:
    rows = ApprovalService(session, principal, None).page(status, limit)
    session.commit()  # requests found past their expiry are recorded as expired
    return rows


@router.get(
    "/{approval_id}",
    response_model=ApprovalOut,
    responses=problems(401, 403, 404, 422),
)
def get_approval(
    approval_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> ApprovalOut:
    row = ApprovalService(session, principal, None).get(approval_id)
    session.commit()
    return row


@router.post(
    "/{approval_id}/approve",
    response_model=ApprovalOut,
    responses=DECIDE_ERRORS,
    summary="Approve a request and run its action (never the requester: 409)",
)
def approve_request(
    approval_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
    body: Decision | None = None,
    idempotency_key: IdempotencyKey = None,
) -> ApprovalOut:
    """The action runs as the approving operator, in this request; a request that is no
    longer pending answers 409, and so does the requester approving their own request."""
    service = ApprovalService(session, principal, request_id)
    decided = service.approve(approval_id, body or Decision(), idempotency_key)
    session.commit()  # the outbox hands operations the action started to the workers
    return decided


@router.post(
    "/{approval_id}/reject",
    response_model=ApprovalOut,
    responses=DECIDE_ERRORS,
    summary="Refuse a request: nothing runs",
)
def reject_request(
    approval_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
    body: Decision | None = None,
    idempotency_key: IdempotencyKey = None,
) -> ApprovalOut:
    service = ApprovalService(session, principal, request_id)
    decided = service.reject(approval_id, body or Decision(reason="rejected"), idempotency_key)
    session.commit()
    return decided


@router.post(
    "/{approval_id}/cancel",
    response_model=ApprovalOut,
    responses=DECIDE_ERRORS,
    summary="Withdraw your own pending request",
)
def cancel_request(
    approval_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
    body: Decision | None = None,
) -> ApprovalOut:
    service = ApprovalService(session, principal, request_id)
    decided = service.cancel(approval_id, body or Decision(reason="cancelled by the requester"))
    session.commit()
    return decided
