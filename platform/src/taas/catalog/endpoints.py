"""HTTP API of the open platform: vendors, plugins, the catalog, subscriptions and usage."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from taas.approvals.schemas import ApprovalOut
from taas.catalog import lifecycle
from taas.catalog.manifest import Capability, manifest_json_schema
from taas.catalog.models import PluginVersion
from taas.catalog.schemas import (
    CatalogModule,
    ManifestBody,
    PluginVersionOut,
    Reason,
    Review,
    StorageCredentialsOut,
    SubscriptionAccepted,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionUpdate,
    UsageReport,
    VendorCreate,
    VendorCreated,
    VendorOut,
)
from taas.catalog.service import CatalogService
from taas.catalog.states import PluginStatus, VendorStatus
from taas.catalog.subscriptions import SubscriptionService, mint_storage_credentials
from taas.catalog.tasks import enqueue_validation
from taas.kit.auth import Principal
from taas.kit.errors import Unauthorized
from taas.kit.problems import problems
from taas.kit.schemas import IsoDate
from taas.kit.web import CurrentPrincipal, DbSession, RequestId

log = logging.getLogger(__name__)
vendors = APIRouter(prefix="/v1/vendors", tags=["vendors"], responses=problems(400))
plugins = APIRouter(prefix="/v1/plugins", tags=["plugins"], responses=problems(400))
catalog = APIRouter(prefix="/v1/catalog", tags=["catalog"], responses=problems(400))
subscriptions = APIRouter(prefix="/v1/tenants", tags=["subscriptions"], responses=problems(400))
storage = APIRouter(prefix="/v1/storage", tags=["modules"], responses=problems(400))
READ_ERRORS = problems(401, 403, 404, 422)
WRITE_ERRORS = problems(401, 403, 404, 409, 422)
# A subscription change answers 202 when it started an operation, 200 when there was none.
ACCEPTED: dict[int | str, dict[str, Any]] = {
    200: {"model": SubscriptionAccepted, "description": "Done; no operation was needed"},
    202: {"model": SubscriptionAccepted, "description": "Accepted; `operation` carries it out"},
}
_grant_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="StorageGrant",
    description="The X-TaaS-Storage-Grant the gateway adds to a call it forwards to a module.",
)


def _grant(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_grant_bearer)],
) -> HTTPAuthorizationCredentials:
    if credentials is None:
        raise Unauthorized(
            "a storage grant is required", hint="send X-TaaS-Storage-Grant as bearer"
        )
    return credentials


StorageGrant = Annotated[HTTPAuthorizationCredentials, Depends(_grant)]
IdempotencyKey = Annotated[
    str | None,
    Header(max_length=200, description="Retrying with the same key does the same thing once."),
]


def _respond(session: Session, accepted: SubscriptionAccepted) -> JSONResponse:
    """Commit (the outbox then hands a started operation to the workers) and answer 202
    when an operation started, 200 when there was nothing to carry out."""
    session.commit()
    status = 202 if accepted.operation is not None else 200
    return JSONResponse(accepted.model_dump(mode="json"), status_code=status)


def _default_period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    end = end or dt.datetime.now(dt.UTC).date()
    return start or end.replace(day=1), end


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
    created = CatalogService(session, principal, request_id).create_vendor(body, idempotency_key)
    session.commit()
    return JSONResponse(created, status_code=201)


@vendors.get("", response_model=list[VendorOut], responses=problems(401, 403))
def list_vendors(session: DbSession, principal: CurrentPrincipal) -> list[VendorOut]:
    return CatalogService(session, principal, None).vendors()


@vendors.get("/{vendor}", response_model=VendorOut, responses=READ_ERRORS)
def get_vendor(vendor: str, session: DbSession, principal: CurrentPrincipal) -> Any:
    return CatalogService(session, principal, None).vendor(vendor)


def _vendor_status(
    vendor: str,
    target: VendorStatus,
    body: Reason | None,
    session: Session,
    principal: Principal,
    request_id: str,
) -> VendorOut:
    service = CatalogService(session, principal, request_id)
    row = service.set_vendor_status(vendor, target, body.reason if body else "by operator")
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
    service = CatalogService(session, principal, request_id)
    approval = service.request_vendor_delete(vendor, reason, idempotency_key)
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
    submitted = CatalogService(session, principal, request_id).submit(
        vendor, manifest, idempotency_key
    )
    session.commit()
    if submitted.new:
        enqueue_validation(submitted.version.id)
    return JSONResponse(submitted.version.model_dump(mode="json"), status_code=202)


@vendors.get("/{vendor}/usage", response_model=UsageReport, responses=READ_ERRORS)
def vendor_usage(
    vendor: str,
    session: DbSession,
    principal: CurrentPrincipal,
    start: Annotated[IsoDate | None, Query(description="First day (default: month start).")] = None,
    end: Annotated[IsoDate | None, Query(description="Last day (default: today, UTC).")] = None,
) -> UsageReport:
    """Calls to the vendor's modules per day: counts only, no bank identities."""
    service = CatalogService(session, principal, None)
    first, last = _default_period(start, end)
    return service.usage(first, last, vendor=service.vendor(vendor))


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
    return CatalogService(session, principal, None).list_versions(name, status)


@plugins.get("/{name}/versions/{version}", response_model=PluginVersionOut, responses=READ_ERRORS)
def get_plugin_version(
    name: str, version: str, session: DbSession, principal: CurrentPrincipal
) -> PluginVersionOut:
    service = CatalogService(session, principal, None)
    return service.out(service.get_version(name, version))


def _reviewed(session: Session, service: CatalogService, row: PluginVersion) -> PluginVersionOut:
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
    service = CatalogService(session, principal, request_id)
    row = service.approve(name, version, body or Review())
    SubscriptionService(session, principal, request_id).follow_channel(name)
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
    service = CatalogService(session, principal, request_id)
    row = service.reject(name, version, body.reason)
    return _reviewed(session, service, row)


@plugins.post(
    "/{name}/versions/{version}/publish", response_model=PluginVersionOut, responses=WRITE_ERRORS
)
def publish_plugin(
    name: str, version: str, session: DbSession, principal: CurrentPrincipal, request_id: RequestId
) -> PluginVersionOut:
    service = CatalogService(session, principal, request_id)
    row = service.publish(name, version)
    SubscriptionService(session, principal, request_id).follow_channel(name)
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
    service = CatalogService(session, principal, request_id)
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
    changes = lifecycle.VersionLifecycle(session, principal, request_id)
    row = changes.suspend(name, version, body.reason)
    return _reviewed(session, changes.catalog, row)


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
    changes = lifecycle.VersionLifecycle(session, principal, request_id)
    row = changes.resume(name, version, reason)
    return _reviewed(session, changes.catalog, row)


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
    service = CatalogService(session, principal, request_id)
    approval = service.request_revoke(name, version, body.reason, idempotency_key)
    session.commit()
    return JSONResponse(approval.model_dump(mode="json"), status_code=202)


# ---------------------------------------------------------------------- catalog


@catalog.get("", response_model=list[CatalogModule], responses=problems(401, 422))
def list_catalog(
    session: DbSession, principal: CurrentPrincipal, capability: Capability | None = None
) -> list[CatalogModule]:
    """Modules a bank can subscribe to, with their versions and the stable channel."""
    return CatalogService(session, principal, None).catalog(capability)


# ---------------------------------------------------------------------- subscriptions


@subscriptions.post(
    "/{tenant}/subscriptions",
    status_code=202,
    response_model=SubscriptionAccepted,
    responses=WRITE_ERRORS | ACCEPTED,
    summary="Subscribe the tenant to a module",
)
def subscribe(
    tenant: str,
    body: SubscriptionCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    service = SubscriptionService(session, principal, request_id)
    return _respond(session, service.subscribe(tenant, body, idempotency_key))


@subscriptions.get(
    "/{tenant}/subscriptions", response_model=list[SubscriptionOut], responses=READ_ERRORS
)
def list_subscriptions(
    tenant: str, session: DbSession, principal: CurrentPrincipal
) -> list[SubscriptionOut]:
    return SubscriptionService(session, principal, None).list_for(tenant)


@subscriptions.get(
    "/{tenant}/subscriptions/{module}", response_model=SubscriptionOut, responses=READ_ERRORS
)
def get_subscription(
    tenant: str, module: str, session: DbSession, principal: CurrentPrincipal
) -> SubscriptionOut:
    return SubscriptionService(session, principal, None).get(tenant, module)


@subscriptions.patch(
    "/{tenant}/subscriptions/{module}",
    response_model=SubscriptionAccepted,
    responses=WRITE_ERRORS | ACCEPTED,
    summary="Change the version, channel or limits of a subscription",
)
def change_subscription(
    tenant: str,
    module: str,
    body: SubscriptionUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    request_id: RequestId,
) -> Any:
    service = SubscriptionService(session, principal, request_id)
    return _respond(session, service.change(tenant, module, body))


@subscriptions.delete(
    "/{tenant}/subscriptions/{module}",
    status_code=202,
    response_model=SubscriptionAccepted,
    responses=WRITE_ERRORS | ACCEPTED,
    summary="Unsubscribe (the gateways stop routing at once)",
)
def unsubscribe(
    tenant: str, module: str, session: DbSession, principal: CurrentPrincipal, request_id: RequestId
) -> Any:
    service = SubscriptionService(session, principal, request_id)
    return _respond(session, service.unsubscribe(tenant, module))


@subscriptions.get("/{tenant}/usage", response_model=UsageReport, responses=READ_ERRORS)
def tenant_usage(
    tenant: str,
    session: DbSession,
    principal: CurrentPrincipal,
    start: Annotated[IsoDate | None, Query(description="First day (default: month start).")] = None,
    end: Annotated[IsoDate | None, Query(description="Last day (default: today, UTC).")] = None,
) -> UsageReport:
    """Calls the tenant made through the gateway, per day and module."""
    service = SubscriptionService(session, principal, None)
    row = service.tenant(tenant)
    first, last = _default_period(start, end)
    return CatalogService(session, principal, None).usage(first, last, tenant_id=row.id)


# ---------------------------------------------------------------------- module storage


@storage.post(
    "/credentials",
    response_model=StorageCredentialsOut,
    responses=problems(401, 403, 409, 502, 503),
    summary="Exchange a storage grant for short-lived credentials (module SDK)",
)
def storage_credentials(session: DbSession, grant: StorageGrant) -> Any:
    """Modules call this with the ``X-TaaS-Storage-Grant`` the gateway gave them, as a
    bearer token. The credentials reach only ``<tenant bucket>/<module>/``."""
    return mint_storage_credentials(session, grant.credentials)
