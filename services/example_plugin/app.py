"""Loan pre-check: a small third-party plugin, the worked example of the vendor guide.

It depends on FastAPI and uvicorn only (not on TaaS): it checks the gateway's signature
over the forwarded identity headers itself, then answers with a decision and reasons.

    python app.py --port 58201                       # serve (TAAS_SIGNING_SECRET set)
    python app.py --manifest --url http://127.0.0.1:58201   # its manifest, while developing
    python app.py --manifest --image REGISTRY/taas/example-plugin@sha256:...  # run by TaaS
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import socket
import time
from typing import Annotated, Any, Literal

import uvicorn
from fastapi import Body, FastAPI, Header, HTTPException, Request, Response
from pydantic import BaseModel, Field

NAME, VERSION = "loan-precheck", "1.0.0"
SCOPE = "loan-precheck.use"
SIGNED_FIELDS = (
    "x-taas-timestamp", None, None, "x-taas-tenant", "x-taas-tenant-id", "x-taas-caller",
    "x-taas-scopes", "x-taas-module", "x-taas-plugin-version", "x-taas-request-id",
)  # fmt: skip
MAX_SKEW_S = 300


def gateway_signature_ok(request: Request, path: str, secret: str) -> bool:
    """The X-TaaS-Signature check (plugin API 1.0): HMAC-SHA256 over ten fields."""
    headers = request.headers
    values = []
    for name in SIGNED_FIELDS:
        if name is None:
            continue
        if name not in headers:
            return False
        values.append(headers[name])
    timestamp = values[0]
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW_S:
        return False
    canonical = "\n".join([timestamp, request.method, path, *values[1:]])
    expected = "v1=" + hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("x-taas-signature", ""))


class Application(BaseModel):
    amount: Annotated[int, Field(gt=0, le=10_000_000, description="Loan amount in CNY.")]
    term_months: Annotated[int, Field(ge=1, le=360)]
    monthly_income: Annotated[int, Field(ge=0, description="Net monthly income in CNY.")]
    existing_monthly_debt: Annotated[int, Field(ge=0)] = 0


class Decision(BaseModel):
    decision: Literal["approve", "review", "reject"]
    debt_to_income: float
    reasons: list[str]
    tenant: str


EXAMPLES = {
    "approve": {"value": {"amount": 50000, "term_months": 24, "monthly_income": 12000}},
    "reject": {
        "value": {
            "amount": 900000,
            "term_months": 12,
            "monthly_income": 8000,
            "existing_monthly_debt": 3000,
        }
    },
    "invalid": {"value": {"amount": -1, "term_months": 0, "monthly_income": 100}},
}


def create_app() -> FastAPI:
    app = FastAPI(title="Loan pre-check", version=VERSION)
    secret = os.environ.get("TAAS_SIGNING_SECRET", "")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(
        "/precheck",
        response_model=Decision,
        responses={
            200: {
                "content": {
                    "application/json": {
                        "examples": {
                            "approve": {"value": {"decision": "approve"}},
                            "reject": {"value": {"decision": "reject"}},
                        }
                    }
                }
            },
            422: {"content": {"application/json": {"examples": {"invalid": {"value": {}}}}}},
        },
    )
    def precheck(
        request: Request,
        response: Response,
        application: Annotated[Application, Body(openapi_examples=EXAMPLES)],
        tenant: Annotated[str, Header(alias="X-TaaS-Tenant")] = "",
    ) -> Decision:
        if not secret or not gateway_signature_ok(request, "/precheck", secret):
            raise HTTPException(401, "not called through the TaaS gateway")
        response.headers["X-Served-By"] = socket.gethostname()  # the pod, when TaaS runs it
        monthly = application.amount / application.term_months
        dti = (monthly + application.existing_monthly_debt) / max(application.monthly_income, 1)
        reasons = []
        if dti > 0.6:
            reasons.append(f"repayments would take {dti:.0%} of income (limit 60%)")
        elif dti > 0.4:
            reasons.append(f"repayments would take {dti:.0%} of income (above 40%)")
        decision: Literal["approve", "review", "reject"] = (
            "reject" if dti > 0.6 else "review" if dti > 0.4 else "approve"
        )
        return Decision(
            decision=decision, debt_to_income=round(dti, 3), reasons=reasons, tenant=tenant
        )

    return app


def manifest(url: str | None, image: str | None = None) -> dict[str, Any]:
    """The manifest: run by the platform from ``image`` (by digest), or, while developing,
    reached where it runs (``url``)."""
    upstream: dict[str, Any] = {"image": image, "port": 8080} if image else {"url": url}
    return {
        "name": NAME,
        "version": VERSION,
        "plugin_api": ">=1.0,<2",
        "capability": "risk",
        "summary": "Debt-to-income pre-check of a loan application, with reasons.",
        "upstream": upstream,
        "openapi": create_app().openapi(),
        "health_path": "/healthz",
        "scopes": [SCOPE],
        "data": {"storage": [], "personal_data": ["financial"]},
        "resources": {"cpu": "100m", "memory": "128Mi", "replicas": 1},
        "pricing": {"model": "per_call", "currency": "CNY", "per_call": 0.02},
        "timeout_s": 5,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=58201)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--manifest", action="store_true", help="print the manifest and exit")
    parser.add_argument("--url", default=None, help="upstream URL written into the manifest")
    parser.add_argument("--image", default=None, help="image (by digest) the platform runs")
    args = parser.parse_args()
    if args.manifest:
        url = args.url or f"http://127.0.0.1:{args.port}"
        print(json.dumps(manifest(url, args.image), indent=2))
        return
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
