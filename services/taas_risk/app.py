"""The risk module's HTTP API (on the TaaS module SDK).

    python -m taas_risk.app --port 58301                  # serve (TAAS_SIGNING_SECRET set)
    python -m taas_risk.app --manifest --url http://127.0.0.1:58301

Every route works on the calling tenant's data only (``caller.tenant_id``, as signed by
the gateway); nothing in a request body can name another tenant. The tenant's rules,
blacklist and history are kept in its own bucket, through the request's storage
(``taas_risk.durable.DurableRiskStore``); when they cannot be read the call gets a 503.
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Annotated, Any

from fastapi import Body, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from taas_sdk import (
    CurrentCaller,
    ModuleSettings,
    TenantStorageDep,
    create_app,
    problem,
    require_scopes,
)
from taas_sdk.serve import serve

from taas_risk import batch, examples, fraud
from taas_risk.decision import RiskService
from taas_risk.durable import DurabilitySettings, DurableRiskStore
from taas_risk.rules import BlacklistKind, RiskRules
from taas_risk.schemas import (
    Application,
    BatchRequest,
    BatchResult,
    BlacklistAdd,
    BlacklistEntryOut,
    BlacklistPage,
    Decision,
    Problem,
)
from taas_risk.scorecard import Scorecard
from taas_risk.store import BlacklistEntry, InMemoryRiskStore, RiskStore, StateUnavailable

NAME, VERSION, SCOPE = "risk", "1.0.0", "risk.decide"
ADMIN_SCOPE = "risk.admin"
"""Also needed to change the rules and to read or change the blacklist."""
SUMMARY = (
    "Credit risk: WOE scorecard with reasons, anti-fraud rules (ID, phone, card, blacklist, "
    "velocity, multi-lending), approve/review/reject decisions and batch scoring."
)
PROBLEM_SCHEMA = Problem.model_json_schema()
NORMALIZE = {
    "id_number": fraud.normalize_id_number,
    "phone": fraud.normalize_phone,
    "device_id": fraud.normalize_device,
}


def load_scorecard() -> Scorecard:
    """The trained model shipped with the package (``python -m taas_risk.train`` writes it)."""
    text = (resources.files("taas_risk") / "data" / "scorecard.json").read_text()
    return Scorecard.from_dict(json.loads(text))


def _problems(status: int, description: str, named: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {
                "schema": PROBLEM_SCHEMA,
                "examples": {name: {"value": value} for name, value in named.items()},
            }
        },
    }


def _ok(model: type[Any], named: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, "content": {"application/json": {"examples": named}}}


def _entry(entry: BlacklistEntry) -> BlacklistEntryOut:
    added = dt.datetime.fromtimestamp(entry.added_at, dt.UTC)
    return BlacklistEntryOut(
        kind=entry.kind, value=entry.value, reason=entry.reason, added_at=added
    )


def _unavailable() -> dict[str, Any]:
    example = Problem(
        type="about:blank",
        title="Service unavailable",
        status=503,
        detail="the tenant's stored risk state 'state/blacklist.json' cannot be read: ...",
        hint="repair or remove risk/state/blacklist.json in the tenant's bucket (the module "
        "will not overwrite it); removing it resets that part to the defaults",
    ).model_dump(exclude_none=True)
    return _problems(
        503, "The tenant's stored state cannot be read or written", {"corrupt": example}
    )


def _decision_examples(service: RiskService) -> dict[str, Any]:
    scratch = RiskService(service.scorecard, InMemoryRiskStore())
    return {
        name: {"value": scratch.decide("example", examples.request_for(name)).model_dump()}
        for name in ("approve", "review", "reject")
    }


def create_risk_app(
    *,
    store: RiskStore | None = None,
    scorecard: Scorecard | None = None,
    limits: batch.BatchLimits | None = None,
    settings: ModuleSettings | None = None,
) -> FastAPI:
    """The module app; the defaults are the shipped model, tenant state kept in each
    tenant's bucket (``TAAS_RISK_SNAPSHOT_S``, ``TAAS_RISK_REFRESH_S``), env limits."""
    store = store or DurableRiskStore(settings=DurabilitySettings.from_env())
    service = RiskService(scorecard or load_scorecard(), store)
    limits = limits or batch.BatchLimits.from_env()
    app = create_app(
        name=NAME,
        version=VERSION,
        capability="risk",
        summary=SUMMARY,
        scopes=[SCOPE],
        operation_scopes=[ADMIN_SCOPE],
        data={
            "storage": ["read", "write"],
            "personal_data": ["identity", "contact", "financial", "device"],
        },
        timeout_s=60,
        settings=settings,
    )
    app.state.risk = service
    invalid = {"invalid": examples.INVALID_BODY}
    unavailable = _unavailable()
    admin = require_scopes(ADMIN_SCOPE)
    admin_only = _problems(403, f"The token lacks the scope {ADMIN_SCOPE}", {})

    @app.exception_handler(batch.BatchError)
    async def batch_error(request: Request, exc: batch.BatchError) -> JSONResponse:
        return problem(exc.status, exc.detail, hint=exc.hint)

    @app.exception_handler(StateUnavailable)
    async def state_unavailable(request: Request, exc: StateUnavailable) -> JSONResponse:
        response = problem(503, exc.detail, hint=exc.hint, title="Service unavailable")
        if exc.retryable:
            response.headers["Retry-After"] = "5"
        return response

    @app.post(
        "/decisions",
        responses={
            200: _ok(Decision, _decision_examples(service)),
            422: _problems(422, "The application does not match the API", invalid),
            503: unavailable,
        },
    )
    def decide(
        body: Annotated[Application, Body(openapi_examples=examples.DECISION_REQUESTS)],
        caller: CurrentCaller,
        storage: TenantStorageDep,
    ) -> Decision:
        """Decide one application: anti-fraud rules, scorecard and the tenant's cutoffs."""
        return service.decide(caller.tenant_id, body, storage)

    @app.get("/rules", responses={503: unavailable})
    def get_rules(caller: CurrentCaller, storage: TenantStorageDep) -> RiskRules:
        """The tenant's rules (the defaults until it sets its own)."""
        return service.store.tenant(caller.tenant_id, storage).rules()

    @app.put(
        "/rules",
        responses={
            200: _ok(RiskRules, {"strict": {"value": examples.RULES_REQUESTS["strict"]["value"]}}),
            403: admin_only,
            422: _problems(422, "The rules are not valid", invalid),
            503: unavailable,
        },
        dependencies=[admin],
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

    @app.get(
        "/blacklist",
        responses={403: admin_only, 422: _problems(422, "Unknown kind", {}), 503: unavailable},
        dependencies=[admin],
    )
    def list_blacklist(
        caller: CurrentCaller,
        storage: TenantStorageDep,
        kind: Annotated[BlacklistKind | None, Query()] = None,
    ) -> BlacklistPage:
        """The tenant's blacklist, optionally of one kind."""
        entries = service.store.tenant(caller.tenant_id, storage).blacklist(kind)
        return BlacklistPage(entries=[_entry(e) for e in entries], count=len(entries))

    @app.post(
        "/blacklist",
        status_code=201,
        responses={
            403: admin_only,
            422: _problems(422, "Not a blacklist entry", invalid),
            503: unavailable,
        },
        dependencies=[admin],
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

    @app.delete(
        "/blacklist/{kind}/{value}",
        status_code=204,
        responses={
            403: admin_only,
            422: _problems(422, "Unknown kind or value too long", {}),
            503: unavailable,
        },
        dependencies=[admin],
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

    @app.post(
        "/batches",
        responses={
            404: _problems(404, "No such object", {"missing": _missing_example()}),
            413: _problems(413, "The file is too large", {}),
            422: _problems(422, "The request or the file cannot be scored", invalid),
            503: unavailable,
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

    return app


def _missing_example() -> dict[str, Any]:
    return Problem(
        type="about:blank",
        title="Not found",
        status=404,
        detail="no object 'batches/does-not-exist.csv' in the tenant's storage",
    ).model_dump(exclude_none=True)


def main() -> None:
    serve(create_risk_app, default_port=58301, description=__doc__)


if __name__ == "__main__":
    main()
