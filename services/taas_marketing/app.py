"""The marketing module's HTTP API, on the TaaS module SDK.

    POST /uploads          presigned URL to PUT a transactions CSV into the bank's bucket
    POST /jobs             segment an uploaded file (202: a job to follow)
    GET  /jobs             the bank's jobs, newest first
    GET  /jobs/{job_id}    progress, then segments, quality and the CSV files written

Serve it with ``python -m taas_marketing.app --port 58301`` (``TAAS_SIGNING_SECRET`` set);
``--manifest --url <url>`` prints the manifest instead.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from taas_sdk import ModuleSettings, create_app, problem
from taas_sdk.serve import serve

from taas_marketing.errors import MarketingError
from taas_marketing.routes.jobs import router as jobs_router
from taas_marketing.routes.uploads import router as uploads_router
from taas_marketing.service import MarketingJobs, SegmentationService
from taas_marketing.validation import Limits

NAME, VERSION = "marketing", "1.0.0"
SCOPE = "marketing.segment"


async def marketing_error(request: Request, exc: MarketingError) -> JSONResponse:
    return problem(exc.status, **exc.problem())


def create_marketing_app(
    settings: ModuleSettings | None = None,
    *,
    limits: Limits | None = None,
    jobs: MarketingJobs | None = None,
) -> FastAPI:
    """The module app; ``limits`` and ``jobs`` are set by tests (defaults otherwise)."""
    app = create_app(
        name=NAME,
        version=VERSION,
        capability="marketing",
        summary="Customer segmentation (RFM, k-means, named segments) and reactivation lists",
        scopes=[SCOPE],
        data={"storage": ["read", "write"], "personal_data": ["financial"]},
        resources={"cpu": "250m", "memory": "2Gi", "replicas": 1},
        timeout_s=60,
        settings=settings,
    )
    runner = jobs or MarketingJobs()
    app.state.jobs = runner
    app.add_exception_handler(MarketingError, marketing_error)  # type: ignore[arg-type]
    app.include_router(uploads_router())
    app.include_router(jobs_router(SegmentationService(runner, limits or Limits())))
    return app


def main() -> None:
    serve(create_marketing_app, default_port=58302, description=__doc__)


if __name__ == "__main__":
    main()
