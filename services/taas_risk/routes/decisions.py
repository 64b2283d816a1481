"""``POST /decisions``: one application decided."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from taas_sdk import CurrentCaller, TenantStorageDep

from taas_risk import examples
from taas_risk.decision import RiskService
from taas_risk.routes.responses import INVALID, ok, problems, unavailable
from taas_risk.schemas import Application, Decision
from taas_risk.store import InMemoryRiskStore


def _decision_examples(service: RiskService) -> dict[str, Any]:
    scratch = RiskService(service.scorecard, InMemoryRiskStore())
    return {
        name: {"value": scratch.decide("example", examples.request_for(name)).model_dump()}
        for name in ("approve", "review", "reject")
    }


def router(service: RiskService) -> APIRouter:
    """The decision route, documented with decisions made by ``service``'s scorecard."""
    routes = APIRouter()

    @routes.post(
        "/decisions",
        responses={
            200: ok(Decision, _decision_examples(service)),
            422: problems(422, "The application does not match the API", INVALID),
            503: unavailable(),
        },
    )
    def decide(
        body: Annotated[Application, Body(openapi_examples=examples.DECISION_REQUESTS)],
        caller: CurrentCaller,
        storage: TenantStorageDep,
    ) -> Decision:
        """Decide one application: anti-fraud rules, scorecard and the tenant's cutoffs."""
        return service.decide(caller.tenant_id, body, storage)

    return routes
