"""``/blacklist``: the tenant's blacklisted ID numbers, phones and devices (admin scope)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response
from taas_sdk import CurrentCaller, TenantStorageDep, require_scopes

from taas_risk import examples, fraud
from taas_risk.decision import RiskService
from taas_risk.routes.responses import INVALID, admin_only, problems, unavailable
from taas_risk.rules import BlacklistKind
from taas_risk.schemas import BlacklistAdd, BlacklistEntryOut, BlacklistPage
from taas_risk.store import BlacklistEntry

NORMALIZE = {
    "id_number": fraud.normalize_id_number,
    "phone": fraud.normalize_phone,
    "device_id": fraud.normalize_device,
}


def _entry(entry: BlacklistEntry) -> BlacklistEntryOut:
    added = dt.datetime.fromtimestamp(entry.added_at, dt.UTC)
    return BlacklistEntryOut(
        kind=entry.kind, value=entry.value, reason=entry.reason, added_at=added
    )


def router(service: RiskService, admin_scope: str) -> APIRouter:
    routes = APIRouter(dependencies=[require_scopes(admin_scope)])
    refused = admin_only(admin_scope)

    @routes.get(
        "/blacklist",
        responses={403: refused, 422: problems(422, "Unknown kind", {}), 503: unavailable()},
    )
    def list_blacklist(
        caller: CurrentCaller,
        storage: TenantStorageDep,
        kind: Annotated[BlacklistKind | None, Query()] = None,
    ) -> BlacklistPage:
        """The tenant's blacklist, optionally of one kind."""
        entries = service.store.tenant(caller.tenant_id, storage).blacklist(kind)
        return BlacklistPage(entries=[_entry(e) for e in entries], count=len(entries))

    @routes.post(
        "/blacklist",
        status_code=201,
        responses={
            403: refused,
            422: problems(422, "Not a blacklist entry", INVALID),
            503: unavailable(),
        },
    )
    def add_to_blacklist(
        body: Annotated[BlacklistAdd, Body(openapi_examples=examples.BLACKLIST_REQUESTS)],
        caller: CurrentCaller,
        storage: TenantStorageDep,
    ) -> BlacklistEntryOut:
        """Blacklist an ID number, phone or device for this tenant (value normalised);
        stored before the answer."""
        value = NORMALIZE[body.kind](body.value)
        data = service.store.tenant(caller.tenant_id, storage)
        return _entry(data.add_to_blacklist(body.kind, value, body.reason))

    @routes.delete(
        "/blacklist/{kind}/{value}",
        status_code=204,
        responses={
            403: refused,
            422: problems(422, "Unknown kind or value too long", {}),
            503: unavailable(),
        },
    )
    def remove_from_blacklist(
        kind: Annotated[BlacklistKind, Path(openapi_examples={"phone": {"value": "phone"}})],
        value: Annotated[
            str, Path(max_length=64, openapi_examples={"phone": {"value": "13700001111"}})
        ],
        caller: CurrentCaller,
        storage: TenantStorageDep,
    ) -> Response:
        """Take an entry off the blacklist (204 whether or not it was there)."""
        data = service.store.tenant(caller.tenant_id, storage)
        data.remove_from_blacklist(kind, NORMALIZE[kind](value))
        return Response(status_code=204)

    return routes
