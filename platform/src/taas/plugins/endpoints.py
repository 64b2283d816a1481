"""HTTP API of vendors and their plugin versions."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from taas.approvals.schemas import ApprovalOut
from taas.kit.auth import Principal
from taas.kit.problems import problems
from taas.kit.web import CurrentPrincipal, DbSession, IdempotencyKey, RequestId
from taas.plugins.manifest import manifest_json_schema
from taas.plugins.models import PluginVersion
from taas.plugins.schemas import (
    ManifestBody,
    PluginVersionOut,
    Reason,
    Review,
    VendorCreate,
    VendorCreated,
    VendorOut,
)
from taas.plugins.service import PluginService
from taas.plugins.states import PluginStatus, VendorStatus
from taas.plugins.vendors import VendorService

log = logging.getLogger(__name__)
vendors = APIRouter(prefix="/v1/vendors", tags=["vendors"], responses=problems(400))
plugins = APIRouter(prefix="/v1/plugins", tags=["plugins"], responses=problems(400))
READ_ERRORS = problems(401, 403, 404, 422)
WRITE_ERRORS = problems(401, 403, 404, 409, 422)
# ---------------------------------------------------------------------- vendors


@vendors.post(
    "",
    status_code=201,
    response_model=VendorCreated,
    responses=problems(401, 403, 409, 422, 502, 503),
    summary="Register a vendor and create its client credentials",
)
def create_vendor(
    body: VendorCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    created = VendorService(session, principal, request_id).create(body, idempotency_key)
    session.commit()
    return JSONResponse(created, status_code=201)


@vendors.get("", response_model=list[VendorOut], responses=problems(401, 403))
def list_vendors(session: DbSession, principal: CurrentPrincipal) -> list[VendorOut]:
    return VendorService(session, principal, None).listing()


@vendors.get("/{vendor}", response_model=VendorOut, responses=READ_ERRORS)
def get_vendor(vendor: str, session: DbSession, principal: CurrentPrincipal) -> Any:
    return VendorService(session, principal, None).visible(vendor)


def _vendor_status(
    vendor: str,
    target: VendorStatus,
    body: Reason | None,
    session: Session,
    principal: Principal,
    request_id: str,
) -> VendorOut:
    service = VendorService(session, principal, request_id)
    row = service.set_status(vendor, target, body.reason if body else "by operator")
    session.flush()
    out = VendorOut.model_validate(row)
    session.commit()
    return out


@vendors.post(
    "/{vendor}/disable",
    response_model=VendorOut,
    responses=problems(401, 403, 404, 409, 422, 502, 503),
    summary="Disable a vendor: no more tokens or submissions; its versions keep serving",
)
def disable_vendor(
    vendor: str,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
    body: Reason | None = None,
) -> VendorOut:
    """Its client in the vendor realm is disabled, so it can get no new token, and the API
    refuses its calls (403) while a token it already holds is still valid."""
    return _vendor_status(vendor, VendorStatus.DISABLED, body, session, principal, request_id)


@vendors.post(
    "/{vendor}/enable",
    response_model=VendorOut,
    responses=problems(401, 403, 404, 409, 422, 502, 503),
    summary="Enable a disabled vendor again",
)
def enable_vendor(
    vendor: str,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
    body: Reason | None = None,
) -> VendorOut:
    return _vendor_status(vendor, VendorStatus.ACTIVE, body, session, principal, request_id)


@vendors.delete(
    "/{vendor}",
    status_code=202,
    response_model=ApprovalOut,
    responses=problems(401, 403, 404, 409, 422)
    | {204: {"description": "The vendor is already deleted: nothing to approve"}},
    summary="Ask for a vendor to be deleted for good (a second operator approves)",
)
def delete_vendor(
    vendor: str,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
    reason: Annotated[
        str, Query(min_length=1, max_length=1000, description="Why (kept in the audit trail).")
    ] = "by operator",
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Deletion is final, so this records a pending request: it runs when a different
    operator approves it (POST /v1/approvals/{id}/approve). Then its client is deleted and
    its versions end (revoked, or rejected if never approved); the record stays with status
    ``deleted`` for the audit trail and usage history, and its slug and module names stay
    taken. Refused (409) while a bank subscribes to one of its versions, or while one is
    being validated: when asked, and again when approved. To stop the vendor at once
    meanwhile, disable it."""
    service = VendorService(session, principal, request_id)
    approval = service.request_delete(vendor, reason, idempotency_key)
    session.commit()
    if approval is None:
        return Response(status_code=204)
    return JSONResponse(approval.model_dump(mode="json"), status_code=202)


@vendors.post(
    "/{vendor}/plugins",
    status_code=202,
    response_model=PluginVersionOut,
    responses=WRITE_ERRORS,
    summary="Submit a plugin version (validation starts at once)",
)
def submit_plugin(
    vendor: str,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
    manifest: Annotated[
        ManifestBody, Body(description="The manifest (GET /v1/plugins/manifest-schema).")
    ],
    idempotency_key: IdempotencyKey = None,
) -> Any:
    submitted = PluginService(session, principal, request_id).submit(
        vendor, manifest, idempotency_key
    )
    session.commit()  # the outbox then hands the validation to the workers
    return JSONResponse(submitted.version.model_dump(mode="json"), status_code=202)


# ---------------------------------------------------------------------- plugins


@plugins.get("/manifest-schema", summary="JSON Schema of the plugin manifest")
def manifest_schema() -> dict[str, Any]:
    return manifest_json_schema()


@plugins.get("", response_model=list[PluginVersionOut], responses=problems(401, 403, 422))
def list_plugins(
    session: DbSession,
    principal: CurrentPrincipal,
    name: Annotated[str | None, Query(max_length=40)] = None,
    status: PluginStatus | None = None,
) -> list[PluginVersionOut]:
    return PluginService(session, principal, None).list_versions(name, status)


@plugins.get("/{name}/versions/{version}", response_model=PluginVersionOut, responses=READ_ERRORS)
def get_plugin_version(
    name: str, version: str, session: DbSession, principal: CurrentPrincipal
) -> PluginVersionOut:
    service = PluginService(session, principal, None)
    return service.out(service.get_version(name, version))


def _reviewed(session: Session, service: PluginService, row: PluginVersion) -> PluginVersionOut:
    body = service.out(row)
    session.commit()  # the outbox hands operations the change started to the workers
    return body


@plugins.post(
    "/{name}/versions/{version}/approve", response_model=PluginVersionOut, responses=WRITE_ERRORS
)
def approve_plugin(
    name: str,
    version: str,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
    body: Review | None = None,
) -> PluginVersionOut:
    """Approve a validated version (and by default publish it). Never by its submitter."""
    service = PluginService(session, principal, request_id)
    row = service.approve(name, version, body or Review())
    return _reviewed(session, service, row)


@plugins.post(
    "/{name}/versions/{version}/reject", response_model=PluginVersionOut, responses=WRITE_ERRORS
)
def reject_plugin(
    name: str,
    version: str,
    body: Reason,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
) -> PluginVersionOut:
    service = PluginService(session, principal, request_id)
    row = service.reject(name, version, body.reason)
    return _reviewed(session, service, row)


@plugins.post(
    "/{name}/versions/{version}/publish", response_model=PluginVersionOut, responses=WRITE_ERRORS
)
def publish_plugin(
    name: str, version: str, session: DbSession, principal: CurrentPrincipal, request_id: RequestId
) -> PluginVersionOut:
    service = PluginService(session, principal, request_id)
    row = service.publish(name, version)
    return _reviewed(session, service, row)


@plugins.post(
    "/{name}/versions/{version}/deprecate", response_model=PluginVersionOut, responses=WRITE_ERRORS
)
def deprecate_plugin(
    name: str,
    version: str,
    body: Reason,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
) -> PluginVersionOut:
    service = PluginService(session, principal, request_id)
    row = service.deprecate(name, version, body.reason)
    return _reviewed(session, service, row)


@plugins.post(
    "/{name}/versions/{version}/suspend", response_model=PluginVersionOut, responses=WRITE_ERRORS
)
def suspend_plugin(
    name: str,
    version: str,
    body: Reason,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
) -> PluginVersionOut:
    """The reversible kill switch (the vendor or one operator, at once): every gateway
    answers 503 for this version once it has applied the change (the hot-plug bound),
    until an operator resumes it."""
    service = PluginService(session, principal, request_id)
    row = service.suspend(name, version, body.reason)
    return _reviewed(session, service, row)


@plugins.post(
    "/{name}/versions/{version}/resume", response_model=PluginVersionOut, responses=WRITE_ERRORS
)
def resume_plugin(
    name: str,
    version: str,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
    body: Reason | None = None,
) -> PluginVersionOut:
    """Undo a suspension (operators only): the version is served again as before."""
    reason = body.reason if body else "resumed"
    service = PluginService(session, principal, request_id)
    row = service.resume(name, version, reason)
    return _reviewed(session, service, row)


@plugins.post(
    "/{name}/versions/{version}/revoke",
    status_code=202,
    response_model=ApprovalOut,
    responses=WRITE_ERRORS,
    summary="Ask for a version to be revoked for good (a second operator approves)",
)
def revoke_plugin(
    name: str,
    version: str,
    body: Reason,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Revocation is final, so this records a pending request: it runs when a different
    operator approves it (POST /v1/approvals/{id}/approve). Then every gateway answers 503
    for the version, and subscriptions on the stable channel move to the newest published
    version. To stop calls at once meanwhile, suspend the version."""
    service = PluginService(session, principal, request_id)
    approval = service.request_revoke(name, version, body.reason, idempotency_key)
    session.commit()
    return JSONResponse(approval.model_dump(mode="json"), status_code=202)
