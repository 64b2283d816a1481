"""HTTP API of subscriptions, and of the storage credentials modules mint for them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from taas.kit.errors import Unauthorized
from taas.kit.problems import problems
from taas.kit.web import DbSession, IdempotencyKey, service_of
from taas.subscriptions.credentials import mint_storage_credentials
from taas.subscriptions.schemas import (
    StorageCredentialsOut,
    SubscriptionAccepted,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionUpdate,
)
from taas.subscriptions.service import SubscriptionService

subscriptions = APIRouter(prefix="/v1/tenants", tags=["subscriptions"], responses=problems(400))
storage = APIRouter(prefix="/v1/storage", tags=["modules"], responses=problems(400))
READ_ERRORS = problems(401, 403, 404, 422)
WRITE_ERRORS = problems(401, 403, 404, 409, 422)
# A subscription change answers 202 when it started an operation, 200 when there was none.
ACCEPTED: dict[int | str, dict[str, Any]] = {
    200: {"model": SubscriptionAccepted, "description": "Done; no operation was needed"},
    202: {"model": SubscriptionAccepted, "description": "Accepted; `operation` carries it out"},
}
CHANGE: dict[str, Any] = {
    "response_model": SubscriptionAccepted,
    "responses": WRITE_ERRORS | ACCEPTED,
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
Subscriptions = Annotated[SubscriptionService, Depends(service_of(SubscriptionService))]


def _respond(service: SubscriptionService, accepted: SubscriptionAccepted) -> JSONResponse:
    """Commit (the outbox then hands a started operation to the workers) and answer 202
    when an operation started, 200 when there was nothing to carry out."""
    service.session.commit()
    status = 202 if accepted.operation is not None else 200
    return JSONResponse(accepted.model_dump(mode="json"), status_code=status)


# ---------------------------------------------------------------------- subscriptions


@subscriptions.post(
    "/{tenant}/subscriptions",
    status_code=202,
    **CHANGE,
    summary="Subscribe the tenant to a module",
)
def subscribe(
    tenant: str,
    body: SubscriptionCreate,
    service: Subscriptions,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    return _respond(service, service.subscribe(tenant, body, idempotency_key))


@subscriptions.get(
    "/{tenant}/subscriptions", response_model=list[SubscriptionOut], responses=READ_ERRORS
)
def list_subscriptions(tenant: str, service: Subscriptions) -> list[SubscriptionOut]:
    return service.list_for(tenant)


@subscriptions.get(
    "/{tenant}/subscriptions/{module}", response_model=SubscriptionOut, responses=READ_ERRORS
)
def get_subscription(tenant: str, module: str, service: Subscriptions) -> SubscriptionOut:
    return service.get(tenant, module)


@subscriptions.patch(
    "/{tenant}/subscriptions/{module}",
    **CHANGE,
    summary="Change the version, channel or limits of a subscription",
)
def change_subscription(
    tenant: str, module: str, body: SubscriptionUpdate, service: Subscriptions
) -> Any:
    return _respond(service, service.change(tenant, module, body))


@subscriptions.delete(
    "/{tenant}/subscriptions/{module}",
    status_code=202,
    **CHANGE,
    summary="Unsubscribe (the gateways stop routing at once)",
)
def unsubscribe(tenant: str, module: str, service: Subscriptions) -> Any:
    return _respond(service, service.unsubscribe(tenant, module))


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
