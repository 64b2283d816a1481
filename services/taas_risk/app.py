"""The risk module's HTTP API (on the TaaS module SDK).

    python -m taas_risk.app --port 58301                  # serve (TAAS_SIGNING_SECRET set)
    python -m taas_risk.app --manifest --url http://127.0.0.1:58301

Every route works on the calling tenant's data only (``caller.tenant_id``, as signed by
the gateway); nothing in a request body can name another tenant. The tenant's rules,
blacklist and history are kept in its own bucket, through the request's storage
(``taas_risk.durable.DurableRiskStore``); when they cannot be read the call gets a 503.
"""

from __future__ import annotations

import json
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from taas_sdk import ModuleSettings, create_app, problem
from taas_sdk.serve import serve

from taas_risk import batch
from taas_risk.decision import RiskService
from taas_risk.durable import DurabilitySettings, DurableRiskStore
from taas_risk.routes import batches, blacklist, decisions, rules
from taas_risk.scorecard import Scorecard
from taas_risk.store import RiskStore, StateUnavailable

NAME, VERSION, SCOPE = "risk", "1.0.0", "risk.decide"
ADMIN_SCOPE = "risk.admin"
"""Also needed to change the rules and to read or change the blacklist."""
SUMMARY = (
    "Credit risk: WOE scorecard with reasons, anti-fraud rules (ID, phone, card, blacklist, "
    "velocity, multi-lending), approve/review/reject decisions and batch scoring."
)


def load_scorecard() -> Scorecard:
    """The trained model shipped with the package (``python -m taas_risk.train`` writes it)."""
    text = (resources.files("taas_risk") / "data" / "scorecard.json").read_text()
    return Scorecard.from_dict(json.loads(text))


async def batch_error(request: Request, exc: batch.BatchError) -> JSONResponse:
    return problem(exc.status, exc.detail, hint=exc.hint)


async def state_unavailable(request: Request, exc: StateUnavailable) -> JSONResponse:
    response = problem(503, exc.detail, hint=exc.hint, title="Service unavailable")
    if exc.retryable:
        response.headers["Retry-After"] = "5"
    return response


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
        # About 185 MB resident at rest (NumPy, pandas, scikit-learn loaded), more when scoring.
        resources={"cpu": "200m", "memory": "512Mi", "replicas": 1},
        timeout_s=60,
        settings=settings,
    )
    app.state.risk = service
    app.add_exception_handler(batch.BatchError, batch_error)  # type: ignore[arg-type]
    app.add_exception_handler(StateUnavailable, state_unavailable)  # type: ignore[arg-type]
    app.include_router(decisions.router(service))
    app.include_router(rules.router(service, ADMIN_SCOPE))
    app.include_router(blacklist.router(service, ADMIN_SCOPE))
    app.include_router(batches.router(service, limits))
    return app


def main() -> None:
    serve(create_risk_app, default_port=58301, description=__doc__)


if __name__ == "__main__":
    main()
