"""HTTP API of vendors and their plugin versions."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from fastapi.responses import JSONResponse

from taas.approvals.schemas import ApprovalOut
from taas.kit.problems import problems
from taas.kit.web import IdempotencyKey, committed, service_of
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
# The route of a change to a version that answers with the version.
VERSION_CHANGE: dict[str, Any] = {"response_model": PluginVersionOut, "responses": WRITE_ERRORS}
# The route of a vendor's disabling or enabling, which answers with the vendor.
VENDOR_CHANGE: dict[str, Any] = {
    "response_model": VendorOut,
    "responses": problems(401, 403, 404, 409, 422, 502, 503),
}
Vendors = Annotated[VendorService, Depends(service_of(VendorService))]
Plugins = Annotated[PluginService, Depends(service_of(PluginService))]
# ---------------------------------------------------------------------- vendors


@vendors.post(
    "",
    status_code=201,
    response_model=VendorCreated,
    responses=problems(401, 403, 409, 422, 502, 503),
    summary="Register a vendor and create its client credentials",
)
def create_vendor(
    body: VendorCreate, service: Vendors, idempotency_key: IdempotencyKey = None
) -> Any:
    created = committed(service.session, service.create(body, idempotency_key))
    return JSONResponse(created, status_code=201)


@vendors.get("", response_model=list[VendorOut], responses=problems(401, 403))
def list_vendors(service: Vendors) -> list[VendorOut]:
    return service.listing()


@vendors.get("/{vendor}", response_model=VendorOut, responses=READ_ERRORS)
def get_vendor(vendor: str, service: Vendors) -> Any:
    return service.visible(vendor)


def _vendor_status(
    vendor: str, target: VendorStatus, body: Reason | None, service: VendorService
) -> VendorOut:
    row = service.set_status(vendor, target, body.reason if body else "by operator")
    service.session.flush()
    return committed(service.session, VendorOut.model_validate(row))


@vendors.post(
    "/{vendor}/disable",
    **VENDOR_CHANGE,
    summary="Disable a vendor: no more tokens or submissions; its versions keep serving",
)
def disable_vendor(vendor: str, service: Vendors, body: Reason | None = None) -> VendorOut:
    """Its client in the vendor realm is disabled, so it can get no new token, and the API
    refuses its calls (403) while a token it already holds is still valid."""
    return _vendor_status(vendor, VendorStatus.DISABLED, body, service)


@vendors.post(
    "/{vendor}/enable",
    **VENDOR_CHANGE,
    summary="Enable a disabled vendor again",
)
def enable_vendor(vendor: str, service: Vendors, body: Reason | None = None) -> VendorOut:
    return _vendor_status(vendor, VendorStatus.ACTIVE, body, service)


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
    service: Vendors,
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
    approval = committed(service.session, service.request_delete(vendor, reason, idempotency_key))
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
    service: Plugins,
    manifest: Annotated[
        ManifestBody, Body(description="The manifest (GET /v1/plugins/manifest-schema).")
    ],
    idempotency_key: IdempotencyKey = None,
) -> Any:
    # Once committed, the outbox hands the validation to the workers.
    submitted = committed(service.session, service.submit(vendor, manifest, idempotency_key))
    return JSONResponse(submitted.version.model_dump(mode="json"), status_code=202)


# ---------------------------------------------------------------------- plugins


@plugins.get("/manifest-schema", summary="JSON Schema of the plugin manifest")
def manifest_schema() -> dict[str, Any]:
    return manifest_json_schema()


@plugins.get("", response_model=list[PluginVersionOut], responses=problems(401, 403, 422))
def list_plugins(
    service: Plugins,
    name: Annotated[str | None, Query(max_length=40)] = None,
    status: PluginStatus | None = None,
) -> list[PluginVersionOut]:
    return service.list_versions(name, status)


@plugins.get("/{name}/versions/{version}", response_model=PluginVersionOut, responses=READ_ERRORS)
def get_plugin_version(name: str, version: str, service: Plugins) -> PluginVersionOut:
    return service.out(service.get_version(name, version))


def _reviewed(service: PluginService, row: PluginVersion) -> PluginVersionOut:
    """The version's body; once committed, the outbox hands the operations the change
    started to the workers."""
    return committed(service.session, service.out(row))


@plugins.post("/{name}/versions/{version}/approve", **VERSION_CHANGE)
def approve_plugin(
    name: str, version: str, service: Plugins, body: Review | None = None
) -> PluginVersionOut:
    """Approve a validated version (and by default publish it). Never by its submitter."""
    return _reviewed(service, service.approve(name, version, body or Review()))


@plugins.post("/{name}/versions/{version}/reject", **VERSION_CHANGE)
def reject_plugin(name: str, version: str, body: Reason, service: Plugins) -> PluginVersionOut:
    return _reviewed(service, service.reject(name, version, body.reason))


@plugins.post("/{name}/versions/{version}/publish", **VERSION_CHANGE)
def publish_plugin(name: str, version: str, service: Plugins) -> PluginVersionOut:
    return _reviewed(service, service.publish(name, version))


@plugins.post("/{name}/versions/{version}/deprecate", **VERSION_CHANGE)
def deprecate_plugin(name: str, version: str, body: Reason, service: Plugins) -> PluginVersionOut:
    return _reviewed(service, service.deprecate(name, version, body.reason))


@plugins.post("/{name}/versions/{version}/suspend", **VERSION_CHANGE)
def suspend_plugin(name: str, version: str, body: Reason, service: Plugins) -> PluginVersionOut:
    """The reversible kill switch (the vendor or one operator, at once): every gateway
    answers 503 for this version once it has applied the change (the hot-plug bound),
    until an operator resumes it."""
    return _reviewed(service, service.suspend(name, version, body.reason))


@plugins.post("/{name}/versions/{version}/resume", **VERSION_CHANGE)
def resume_plugin(
    name: str, version: str, service: Plugins, body: Reason | None = None
) -> PluginVersionOut:
    """Undo a suspension (operators only): the version is served again as before."""
    return _reviewed(service, service.resume(name, version, body.reason if body else "resumed"))


@plugins.post(
    "/{name}/versions/{version}/revoke",
    status_code=202,
    response_model=ApprovalOut,
    responses=WRITE_ERRORS,
    summary="Ask for a version to be revoked for good (a second operator approves)",
)
def revoke_plugin(
    name: str, version: str, body: Reason, service: Plugins, idempotency_key: IdempotencyKey = None
) -> Any:
    """Revocation is final, so this records a pending request: it runs when a different
    operator approves it (POST /v1/approvals/{id}/approve). Then every gateway answers 503
    for the version, and subscriptions on the stable channel move to the newest published
    version. To stop calls at once meanwhile, suspend the version."""
    approval = service.request_revoke(name, version, body.reason, idempotency_key)
    service.session.commit()
    return JSONResponse(approval.model_dump(mode="json"), status_code=202)
