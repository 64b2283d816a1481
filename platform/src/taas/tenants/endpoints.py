"""HTTP API over tenants: /v1/tenants."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse

from taas.audit.endpoints import AuditPage, AuditQuery
from taas.kit.problems import problems
from taas.kit.web import IdempotencyKey, committed, service_of
from taas.tenants.models import Tenant
from taas.tenants.schemas import (
    OffboardRequest,
    OperationOut,
    StatusChange,
    TenantAccepted,
    TenantCreate,
    TenantOut,
    TenantPage,
    TenantUpdate,
)
from taas.tenants.service import TenantService
from taas.tenants.states import TenantStatus

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/tenants", tags=["tenants"], responses=problems(400))
READ_ERRORS = problems(401, 403, 404, 422)
WRITE_ERRORS = problems(401, 403, 404, 409, 422)
Tenants = Annotated[TenantService, Depends(service_of(TenantService))]
# A change answers 202 when it started an operation, 200 when there was nothing to do.
ACCEPTED: dict[int | str, dict[str, Any]] = {
    200: {"model": TenantAccepted, "description": "Nothing to carry out; no operation started"},
    202: {"model": TenantAccepted, "description": "Accepted; `operation` carries it out"},
}
# The route of such a change (a POST answers 202 unless there was nothing to do).
CHANGE: dict[str, Any] = {
    "status_code": 202,
    "response_model": TenantAccepted,
    "responses": WRITE_ERRORS | ACCEPTED,
}


def _respond(service: TenantService, accepted: TenantAccepted) -> JSONResponse:
    """Commit (the outbox then hands a started operation to the workers) and answer 202
    when something was started or awaits approval, 200 when there was nothing to do."""
    service.session.commit()
    started = accepted.operation is not None or accepted.approval is not None
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202 if started else 200)


@router.post(
    "",
    status_code=202,
    response_model=TenantAccepted,
    responses=problems(401, 403, 409, 422) | ACCEPTED,
    summary="Create a tenant and start provisioning it",
)
def create_tenant(
    body: TenantCreate,
    service: Tenants,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=200,
            description="Retrying with the same key returns the same tenant and starts "
            "no second operation.",
        ),
    ] = None,
) -> Any:
    return _respond(service, service.create(body, idempotency_key))


@router.get("", response_model=TenantPage, responses=problems(401, 403, 422))
def list_tenants(
    service: Tenants,
    status: Annotated[list[TenantStatus] | None, Query()] = None,
    tier: Annotated[str | None, Query(max_length=16)] = None,
    region: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=64, description="Slug or name prefix.")] = None,
    after: Annotated[str | None, Query(max_length=64, description="next_cursor of a page.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TenantPage:
    return service.page(
        after=after, limit=limit, statuses=status or [], tier=tier, region=region, search=q
    )


@router.get("/{tenant}", response_model=TenantOut, responses=READ_ERRORS)
def get_tenant(tenant: str, service: Tenants) -> Tenant:
    return service.visible(service.resolve(tenant))


@router.patch("/{tenant}", response_model=TenantAccepted, responses=WRITE_ERRORS | ACCEPTED)
def update_tenant(tenant: str, body: TenantUpdate, service: Tenants) -> Any:
    return _respond(service, service.update(service.resolve(tenant), body))


@router.post("/{tenant}/suspend", **CHANGE)
def suspend_tenant(tenant: str, service: Tenants, body: StatusChange | None = None) -> Any:
    return _respond(service, service.suspend(service.resolve(tenant), body or StatusChange()))


@router.post("/{tenant}/resume", **CHANGE)
def resume_tenant(tenant: str, service: Tenants, body: StatusChange | None = None) -> Any:
    return _respond(service, service.resume(service.resolve(tenant), body or StatusChange()))


@router.post("/{tenant}/retry", **CHANGE)
def retry_tenant(tenant: str, service: Tenants) -> Any:
    return _respond(service, service.retry(service.resolve(tenant)))


@router.post("/{tenant}/offboard", **CHANGE)
def offboard_tenant(
    tenant: str,
    service: Tenants,
    body: OffboardRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Offboard now; or, when fewer days of data are kept than the platform's threshold
    (30 by default), answer with a pending ``approval`` that a second operator approves
    (POST /v1/approvals/{id}/approve) before anything is removed."""
    request = body or OffboardRequest()
    return _respond(service, service.offboard(service.resolve(tenant), request, idempotency_key))


@router.get("/{tenant}/operations", response_model=list[OperationOut], responses=READ_ERRORS)
def tenant_operations(
    tenant: str, service: Tenants, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[OperationOut]:
    return service.operations_of(service.resolve(tenant), limit)


@router.post(
    "/{tenant}/reconcile", response_model=TenantOut, responses=WRITE_ERRORS | problems(502, 503)
)
def reconcile_tenant(tenant: str, service: Tenants) -> Tenant:
    """Compare and repair this tenant now (the reconciler also does it periodically)."""
    return committed(service.session, service.reconcile(service.resolve(tenant)))


@router.get("/{tenant}/audit", response_model=AuditPage, responses=READ_ERRORS, tags=["audit"])
def tenant_audit(tenant: str, service: Tenants, window: AuditQuery) -> AuditPage:
    """Audit events of one tenant (its bank admins see their own)."""
    tenant_id = service.resolve(tenant)
    return window.page(service.audit_of(tenant_id, after_seq=window.after, limit=window.limit))
