"""``GET /rules``, ``PUT /rules``: the tenant's rules (changing them takes the admin scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from taas_sdk import CurrentCaller, TenantStorageDep, require_scopes

from taas_risk import examples
from taas_risk.decision import RiskService
from taas_risk.routes.responses import INVALID, admin_only, ok, problems, unavailable
from taas_risk.rules import RiskRules


def router(service: RiskService, admin_scope: str) -> APIRouter:
    routes = APIRouter()

    @routes.get("/rules", responses={503: unavailable()})
    def get_rules(caller: CurrentCaller, storage: TenantStorageDep) -> RiskRules:
        """The tenant's rules (the defaults until it sets its own)."""
        return service.store.tenant(caller.tenant_id, storage).rules()

    @routes.put(
        "/rules",
        responses={
            200: ok(RiskRules, {"strict": {"value": examples.RULES_REQUESTS["strict"]["value"]}}),
            403: admin_only(admin_scope),
            422: problems(422, "The rules are not valid", INVALID),
            503: unavailable(),
        },
        dependencies=[require_scopes(admin_scope)],
    )
    def put_rules(
        body: Annotated[RiskRules, Body(openapi_examples=examples.RULES_REQUESTS)],
        caller: CurrentCaller,
        storage: TenantStorageDep,
    ) -> RiskRules:
        """Replace the tenant's rules (omitted fields take their defaults); stored before
        the answer."""
        service.store.tenant(caller.tenant_id, storage).replace_rules(body)
        return body

    return routes
