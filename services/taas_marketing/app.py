"""The marketing module's HTTP API, on the TaaS module SDK.

    POST /uploads          presigned URL to PUT a transactions CSV into the bank's bucket
    POST /jobs             segment an uploaded file (202: a job to follow)
    GET  /jobs             the bank's jobs, newest first
    GET  /jobs/{job_id}    progress, then segments, quality and the CSV files written

Serve it with ``python -m taas_marketing.app --port 58301`` (``TAAS_SIGNING_SECRET`` set);
``--manifest --url <url>`` prints the manifest instead.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Body, FastAPI, Header, Path, Request
from fastapi.responses import JSONResponse
from taas_sdk import (
    CurrentCaller,
    ModuleSettings,
    TenantStorage,
    TenantStorageDep,
    create_app,
    problem,
)
from taas_sdk.serve import serve
from taas_sdk.storage import tenant_storage

from taas_marketing import examples, records
from taas_marketing.errors import Conflict, MarketingError, NotFound
from taas_marketing.jobs import Job, JobRunner, TenantLocks, new_job_id
from taas_marketing.pipeline import segmentation_job
from taas_marketing.schemas import (
    JobList,
    JobOut,
    JobProblem,
    JobRequest,
    SegmentationResult,
    Upload,
)
from taas_marketing.validation import Limits, check_sample, check_size

NAME, VERSION = "marketing", "1.0.0"
SCOPE = "marketing.segment"
UPLOAD_EXPIRES_S = 900
JOB_ID_PATTERN = r"^[0-9a-f]{32}$"
MAX_IDEMPOTENCY_KEY = 200

MarketingJobs = JobRunner[SegmentationResult]


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
        resources={"cpu": "1", "memory": "2Gi", "replicas": 1},
        timeout_s=60,
        settings=settings,
    )
    file_limits = limits or Limits()
    runner = jobs or MarketingJobs()
    submissions = TenantLocks()
    app.state.jobs = runner

    @app.exception_handler(MarketingError)
    async def marketing_error(request: Request, exc: MarketingError) -> JSONResponse:
        return problem(exc.status, **exc.problem())

    @app.post(
        "/uploads",
        status_code=201,
        summary="Get a URL to upload a transactions file",
        responses={
            403: examples.problem_response("No storage grant", {"no-grant": examples.FORBIDDEN})
        },
    )
    def create_upload(storage: TenantStorageDep) -> Upload:
        """A presigned URL: PUT the CSV to it (valid 15 minutes), then POST /jobs with ``key``.

        Columns: customer_id, date (or timestamp, ISO 8601), amount; others are ignored.
        """
        key = f"uploads/{uuid.uuid4().hex}.csv"
        url = storage.presigned_put(key, UPLOAD_EXPIRES_S)
        return Upload(key=key, url=url, expires_in_s=UPLOAD_EXPIRES_S)

    @app.post(
        "/jobs",
        status_code=202,
        summary="Segment the customers of an uploaded file",
        responses={
            202: examples.ok_response({"accepted": examples.JOB_ACCEPTED}),
            403: examples.problem_response("No storage grant", {"no-grant": examples.FORBIDDEN}),
            404: examples.problem_response("No such uploaded file", examples.NO_UPLOAD),
            409: examples.problem_response(
                "Idempotency-Key reused for another request", examples.KEY_REUSED
            ),
            413: examples.problem_response("The file is over the limit", examples.TOO_LARGE),
            422: examples.problem_response(
                "Invalid request or unusable file", examples.UNPROCESSABLE_JOB
            ),
            429: examples.problem_response("Too many jobs in flight", examples.BUSY),
        },
    )
    def submit_job(
        body: Annotated[JobRequest, Body(openapi_examples=examples.JOB_REQUESTS)],
        caller: CurrentCaller,
        request: Request,
        idempotency_key: Annotated[
            str | None, Header(min_length=1, max_length=MAX_IDEMPOTENCY_KEY)
        ] = None,
    ) -> JobOut:
        """Checks the file's size, columns and first rows now (4xx if unusable), then runs
        the segmentation in the background: follow it at GET /jobs/{id}. A retry with the
        same ``Idempotency-Key`` answers with the job the first call started."""
        storage = tenant_storage(request, caller)  # after the body is valid, not before
        if idempotency_key is None:
            return _submit(caller.tenant_id, storage, body)
        with submissions.lock(caller.tenant_id):
            earlier = records.job_for_key(storage, idempotency_key)
            if earlier is None:
                job = _submit(caller.tenant_id, storage, body)
                records.remember_key(storage, idempotency_key, job)
                return job
        job_id, earlier_request = earlier
        if earlier_request != body.model_dump(mode="json"):
            raise Conflict(
                "this Idempotency-Key was used for a different request",
                hint="use a new key for a new job",
            )
        return _job(caller.tenant_id, storage, job_id)

    def _submit(tenant_id: str, storage: TenantStorage, body: JobRequest) -> JobOut:
        check_size(storage.size(body.upload_key), file_limits)  # before reading it whole
        data = storage.get(body.upload_key)
        check_sample(data, file_limits)
        job_id = new_job_id()
        work = segmentation_job(storage, data, body, job_id, file_limits)
        job = runner.submit(
            tenant_id,
            work,
            context=body,
            job_id=job_id,
            journal=lambda job: records.save(storage, job_out(job)),
        )
        return job_out(job)

    def _job(tenant_id: str, storage: TenantStorage, job_id: str) -> JobOut:
        try:
            return job_out(runner.get(tenant_id, job_id))
        except NotFound:
            stored = records.load(storage, job_id)
            if stored is None:
                raise
            return stored

    @app.get(
        "/jobs",
        summary="Your jobs, newest first",
        responses={200: examples.ok_response({"jobs": examples.JOB_LIST})},
    )
    def list_jobs(caller: CurrentCaller, storage: TenantStorageDep) -> JobList:
        """Jobs of the calling bank only (the last 100), including those of earlier runs
        of the module, read from the records in the bank's storage."""
        live = [job_out(job) for job in runner.list(caller.tenant_id)]
        stored = records.newest(storage, runner.keep_per_tenant, {job.id for job in live})
        jobs = sorted(live + stored, key=lambda job: job.id, reverse=True)
        return JobList(jobs=jobs[: runner.keep_per_tenant])

    @app.get(
        "/jobs/{job_id}",
        summary="Progress and results of a job",
        responses={
            200: examples.ok_response(examples.JOB_STATES),
            404: examples.problem_response("No such job for this bank", examples.NO_JOB),
        },
    )
    def get_job(
        job_id: Annotated[
            str,
            Path(
                pattern=JOB_ID_PATTERN,
                openapi_examples={"default": {"value": examples.UNKNOWN_JOB_ID}},
            ),
        ],
        caller: CurrentCaller,
        request: Request,
    ) -> JobOut:
        """``progress`` 0-100 with the ``stage``; once ``succeeded``, the segments, the
        quality measure and the keys of the CSV files in your bucket."""
        try:
            return job_out(runner.get(caller.tenant_id, job_id))
        except NotFound:
            return _job(caller.tenant_id, tenant_storage(request, caller), job_id)

    return app


def job_out(job: Job[SegmentationResult]) -> JobOut:
    """The API view of a job."""
    error = job.error
    return JobOut(
        id=job.id,
        state=job.state,
        stage=job.stage,
        progress=job.progress,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        request=job.context,
        result=job.result,
        error=None
        if error is None
        else JobProblem(
            status=error.status, detail=error.detail, hint=error.hint, errors=list(error.errors)
        ),
    )


def main() -> None:
    serve(create_marketing_app, default_port=58302, description=__doc__)


if __name__ == "__main__":
    main()
