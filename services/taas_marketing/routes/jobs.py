"""``/jobs``: segment an uploaded file in the background, follow the bank's jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Request
from taas_sdk import CurrentCaller, TenantStorageDep
from taas_sdk.storage import tenant_storage

from taas_marketing import examples
from taas_marketing.schemas import JobList, JobOut, JobRequest
from taas_marketing.service import SegmentationService

JOB_ID_PATTERN = r"^[0-9a-f]{32}$"
MAX_IDEMPOTENCY_KEY = 200
SUBMIT_ANSWERS: dict[int | str, dict[str, Any]] = {
    202: examples.ok_response({"accepted": examples.JOB_ACCEPTED}),
    403: examples.problem_response("No storage grant", {"no-grant": examples.FORBIDDEN}),
    404: examples.problem_response("No such uploaded file", examples.NO_UPLOAD),
    409: examples.problem_response(
        "Idempotency-Key reused for another request", examples.KEY_REUSED
    ),
    413: examples.problem_response("The file is over the limit", examples.TOO_LARGE),
    422: examples.problem_response("Invalid request or unusable file", examples.UNPROCESSABLE_JOB),
    429: examples.problem_response("Too many jobs in flight", examples.BUSY),
}
JOB_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: examples.ok_response(examples.JOB_STATES),
    404: examples.problem_response("No such job for this bank", examples.NO_JOB),
}
JobId = Annotated[
    str,
    Path(pattern=JOB_ID_PATTERN, openapi_examples={"default": {"value": examples.UNKNOWN_JOB_ID}}),
]


def router(service: SegmentationService) -> APIRouter:
    routes = APIRouter()

    @routes.post(
        "/jobs",
        status_code=202,
        summary="Segment the customers of an uploaded file",
        responses=SUBMIT_ANSWERS,
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
        return service.submit(caller.tenant_id, storage, body, idempotency_key)

    @routes.get(
        "/jobs",
        summary="Your jobs, newest first",
        responses={200: examples.ok_response({"jobs": examples.JOB_LIST})},
    )
    def list_jobs(caller: CurrentCaller, storage: TenantStorageDep) -> JobList:
        """Jobs of the calling bank only (the last 100), including those of earlier runs
        of the module, read from the records in the bank's storage."""
        return service.list(caller.tenant_id, storage)

    @routes.get("/jobs/{job_id}", summary="Progress and results of a job", responses=JOB_ANSWERS)
    def get_job(job_id: JobId, caller: CurrentCaller, request: Request) -> JobOut:
        """``progress`` 0-100 with the ``stage``; once ``succeeded``, the segments, the
        quality measure and the keys of the CSV files in your bucket."""
        return service.find(caller.tenant_id, job_id, lambda: tenant_storage(request, caller))

    return routes
