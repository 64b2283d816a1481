"""Segmentation jobs as the API offers them: started from an uploaded file (once per
``Idempotency-Key``), followed while they run, read back from the records in the bank's
storage once the module no longer holds them (after a restart, say)."""

from __future__ import annotations

from collections.abc import Callable

from taas_sdk import TenantStorage

from taas_marketing import records
from taas_marketing.errors import Conflict, NotFound
from taas_marketing.jobs import Job, JobRunner, TenantLocks, new_job_id
from taas_marketing.pipeline import segmentation_job
from taas_marketing.schemas import JobList, JobOut, JobProblem, JobRequest, SegmentationResult
from taas_marketing.validation import Limits, check_sample, check_size

MarketingJobs = JobRunner[SegmentationResult]


class SegmentationService:
    """Every bank's segmentation jobs; each call names the bank (``tenant_id``)."""

    def __init__(self, runner: MarketingJobs, limits: Limits) -> None:
        self.runner = runner
        self.limits = limits
        self._submissions = TenantLocks()

    def submit(
        self,
        tenant_id: str,
        storage: TenantStorage,
        body: JobRequest,
        idempotency_key: str | None = None,
    ) -> JobOut:
        """Check the uploaded file now (4xx if unusable), then segment it in the
        background. With ``idempotency_key``, a retry gets the job the first call started."""
        if idempotency_key is None:
            return self._start(tenant_id, storage, body)
        with self._submissions.lock(tenant_id):
            earlier = records.job_for_key(storage, idempotency_key)
            if earlier is None:
                job = self._start(tenant_id, storage, body)
                records.remember_key(storage, idempotency_key, job)
                return job
        job_id, earlier_request = earlier
        if earlier_request != body.model_dump(mode="json"):
            raise Conflict(
                "this Idempotency-Key was used for a different request",
                hint="use a new key for a new job",
            )
        return self.find(tenant_id, job_id, lambda: storage)

    def _start(self, tenant_id: str, storage: TenantStorage, body: JobRequest) -> JobOut:
        check_size(storage.size(body.upload_key), self.limits)  # before reading it whole
        data = storage.get(body.upload_key)
        check_sample(data, self.limits)
        job_id = new_job_id()
        work = segmentation_job(storage, data, body, job_id, self.limits)
        job = self.runner.submit(
            tenant_id,
            work,
            context=body,
            job_id=job_id,
            journal=lambda job: records.save(storage, job_out(job)),
        )
        return job_out(job)

    def find(self, tenant_id: str, job_id: str, storage: Callable[[], TenantStorage]) -> JobOut:
        """A job of the bank: the running module's, else its record (``storage`` is only
        asked for then); ``NotFound`` if neither has it."""
        try:
            return job_out(self.runner.get(tenant_id, job_id))
        except NotFound:
            stored = records.load(storage(), job_id)
            if stored is None:
                raise
            return stored

    def list(self, tenant_id: str, storage: TenantStorage) -> JobList:
        """The bank's last jobs, newest first, the module's and those of earlier runs."""
        live = [job_out(job) for job in self.runner.list(tenant_id)]
        keep = self.runner.keep_per_tenant
        stored = records.newest(storage, keep, {job.id for job in live})
        jobs = sorted(live + stored, key=lambda job: job.id, reverse=True)
        return JobList(jobs=jobs[:keep])


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
