"""HTTP API of maker-checker approvals: /v1/approvals."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from taas.approvals.schemas import ApprovalOut, ApprovalStatus, Decision
from taas.approvals.service import ApprovalService
from taas.kit.problems import problems
from taas.kit.web import IdempotencyKey, committed, service_of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/approvals", tags=["approvals"], responses=problems(400))
# The route of a decision on a request, which answers the request as it now stands.
DECISION: dict[str, Any] = {
    "response_model": ApprovalOut,
    "responses": problems(401, 403, 404, 409, 422),
}
Approvals = Annotated[ApprovalService, Depends(service_of(ApprovalService))]


@router.get(
    "",
    response_model=list[ApprovalOut],
    responses=problems(401, 403, 422),
    summary="Approval requests, newest first (operators and auditors)",
)
def list_approvals(
    service: Approvals,
    status: ApprovalStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ApprovalOut]:
    # Requests found past their expiry are recorded as expired.
    return committed(service.session, service.page(status, limit))


@router.get("/{approval_id}", response_model=ApprovalOut, responses=problems(401, 403, 404, 422))
def get_approval(approval_id: uuid.UUID, service: Approvals) -> ApprovalOut:
    return committed(service.session, service.get(approval_id))


@router.post(
    "/{approval_id}/approve",
    **DECISION,
    summary="Approve a request and run its action (never the requester: 409)",
)
def approve_request(
    approval_id: uuid.UUID,
    service: Approvals,
    body: Decision | None = None,
    idempotency_key: IdempotencyKey = None,
) -> ApprovalOut:
    """The action runs as the approving operator, in this request; a request that is no
    longer pending answers 409, and so does the requester approving their own request."""
    decided = service.approve(approval_id, body or Decision(), idempotency_key)
    return committed(service.session, decided)


@router.post(
    "/{approval_id}/reject",
    **DECISION,
    summary="Refuse a request: nothing runs",
)
def reject_request(
    approval_id: uuid.UUID,
    service: Approvals,
    body: Decision | None = None,
    idempotency_key: IdempotencyKey = None,
) -> ApprovalOut:
    decided = service.reject(approval_id, body or Decision(reason="rejected"), idempotency_key)
    return committed(service.session, decided)


@router.post(
    "/{approval_id}/cancel",
    **DECISION,
    summary="Withdraw your own pending request",
)
def cancel_request(
    approval_id: uuid.UUID, service: Approvals, body: Decision | None = None
) -> ApprovalOut:
    decided = service.cancel(approval_id, body or Decision(reason="cancelled by the requester"))
    return committed(service.session, decided)
