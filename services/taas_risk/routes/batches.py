"""``POST /batches``: score a CSV file of the tenant's storage into another."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from taas_sdk import CurrentCaller, TenantStorageDep

from taas_risk import batch, examples
from taas_risk.decision import RiskService
from taas_risk.routes.responses import INVALID, missing_object, problems, unavailable
from taas_risk.schemas import BatchRequest, BatchResult


def router(service: RiskService, limits: batch.BatchLimits) -> APIRouter:
    routes = APIRouter()

    @routes.post(
        "/batches",
        responses={
            404: problems(404, "No such object", {"missing": missing_object()}),
            413: problems(413, "The file is too large", {}),
            422: problems(422, "The request or the file cannot be scored", INVALID),
            503: unavailable(),
        },
    )
    def score_batch(
        body: Annotated[BatchRequest, Body(openapi_examples=examples.BATCH_REQUESTS)],
        caller: CurrentCaller,
        storage: TenantStorageDep,
    ) -> BatchResult:
        """Score a CSV object of the tenant's storage; results go to ``output_key``."""
        scoring = service.store.tenant(caller.tenant_id, storage).rules().scoring
        batch.output_key_for(body)
        batch.check_size(storage.size(body.input_key), limits)  # before reading it whole
        data = storage.get(body.input_key)
        output, result = batch.run(data, body, service.scorecard, scoring, limits)
        storage.put(result.output_key, output, "text/csv")
        return result

    return routes
