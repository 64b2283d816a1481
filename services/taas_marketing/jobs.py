"""Asynchronous jobs: submit work, follow its progress, read its result, per tenant.

Jobs live in memory, keyed by tenant id first: every lookup names the tenant, so one
tenant can never see, or even learn of, another's jobs. Work runs in a bounded thread
pool, so the API keeps answering while segmentations run; the heavy parts (CSV parsing,
numpy, k-means) spend their time in C code that releases the GIL. Threads rather than
processes because progress and results are shared objects and the storage client stays
in the process.

States change only along ``TRANSITIONS``::

    queued ──► running ──► succeeded
       │          │
       └──────────┴──────► failed
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Generic, TypeVar

from fastapi import HTTPException

from taas_marketing.errors import MarketingError, NotFound, TooManyJobs

log = logging.getLogger(__name__)

ResultT = TypeVar("ResultT")
Progress = Callable[[str, int], None]
"""``report(stage, percent)``: what the job is doing now and how far it is (0-100)."""
Journal = Callable[["Job[Any]"], None]
"""Called with the queued job, then with the finished one (e.g. to store a record)."""


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.FAILED}),
    JobState.RUNNING: frozenset({JobState.SUCCEEDED, JobState.FAILED}),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset(),
}
IN_FLIGHT = frozenset({JobState.QUEUED, JobState.RUNNING})


@dataclass(frozen=True)
class JobError:
    """Why a job failed, as the problem+json fields a caller needs."""

    status: int
    detail: str
    hint: str | None = None
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Job(Generic[ResultT]):
    """A snapshot of one job (immutable: the runner replaces it on every change)."""

    id: str
    tenant_id: str
    state: JobState
    stage: str
    progress: int
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    result: ResultT | None = None
    error: JobError | None = None
    context: Any = None
    """What the submitter attached (e.g. the request), returned as given."""


class JobRunner(Generic[ResultT]):
    """Runs submitted work on ``workers`` threads and keeps the last jobs of each tenant."""

    def __init__(
        self,
        *,
        workers: int = 2,
        max_in_flight_per_tenant: int = 2,
        max_in_flight: int = 4,
        keep_per_tenant: int = 100,
    ) -> None:
        """``workers`` jobs run at once; a queued job holds its file in memory, so
        ``max_in_flight`` bounds memory too (see docs/modules/marketing.md)."""
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="marketing-job")
        self._lock = threading.Lock()
        self._jobs: dict[str, OrderedDict[str, Job[ResultT]]] = {}
        self.max_in_flight_per_tenant = max_in_flight_per_tenant
        self.max_in_flight = max_in_flight
        self.keep_per_tenant = keep_per_tenant

    def submit(
        self,
        tenant_id: str,
        work: Callable[[Progress], ResultT],
        *,
        context: Any = None,
        job_id: str | None = None,
        journal: Journal | None = None,
    ) -> Job[ResultT]:
        """Queue ``work`` for ``tenant_id``; it is called with a progress reporter.

        ``job_id`` lets the work know its own id (default: a new random one). ``journal``
        sees the queued job before the work is queued (if it raises, nothing is queued)
        and the finished job (its failures are logged). Raises ``TooManyJobs`` (429) when
        the tenant or the module is at its limit.
        """
        job = Job[ResultT](
            id=job_id or new_job_id(),
            tenant_id=tenant_id,
            state=JobState.QUEUED,
            stage="queued",
            progress=0,
            created_at=_now(),
            context=context,
        )
        with self._lock:
            self._check_capacity(tenant_id)
            jobs = self._jobs.setdefault(tenant_id, OrderedDict())
            if job.id in jobs:
                raise ValueError(f"job id {job.id!r} is taken")
            jobs[job.id] = job
            self._forget_old(jobs)
        if journal is not None:
            try:
                journal(job)
            except BaseException:
                with self._lock:
                    del jobs[job.id]
                raise
        self._pool.submit(self._run, tenant_id, job.id, work, journal)
        return job

    def get(self, tenant_id: str, job_id: str) -> Job[ResultT]:
        """The job ``job_id`` of ``tenant_id``; ``NotFound`` (404) for any other tenant."""
        with self._lock:
            jobs = self._jobs.get(tenant_id)
            job = jobs.get(job_id) if jobs else None
        if job is None:
            raise NotFound(f"no job {job_id!r}", hint="list your jobs with GET /jobs")
        return job

    def list(self, tenant_id: str) -> list[Job[ResultT]]:
        """The tenant's jobs, newest first."""
        with self._lock:
            jobs = self._jobs.get(tenant_id)
            return list(reversed(jobs.values())) if jobs else []

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking work; with ``wait``, let running and queued jobs finish."""
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def _check_capacity(self, tenant_id: str) -> None:
        in_flight = [
            job for jobs in self._jobs.values() for job in jobs.values() if job.state in IN_FLIGHT
        ]
        mine = sum(1 for job in in_flight if job.tenant_id == tenant_id)
        if mine >= self.max_in_flight_per_tenant:
            raise TooManyJobs(
                f"{mine} jobs of yours are still queued or running",
                hint="wait for one to finish (GET /jobs) before submitting another",
            )
        if len(in_flight) >= self.max_in_flight:
            raise TooManyJobs("the module is busy", hint="retry in a minute")

    def _forget_old(self, jobs: OrderedDict[str, Job[ResultT]]) -> None:
        finished = [job_id for job_id, job in jobs.items() if job.state not in IN_FLIGHT]
        for job_id in finished[: max(len(jobs) - self.keep_per_tenant, 0)]:
            del jobs[job_id]

    def _update(self, tenant_id: str, job_id: str, **changes: Any) -> Job[ResultT]:
        with self._lock:
            jobs = self._jobs[tenant_id]
            job = jobs[job_id]
            state = changes.get("state", job.state)
            if state != job.state and state not in TRANSITIONS[job.state]:
                raise RuntimeError(f"job {job_id}: {job.state} → {state} is not allowed")
            jobs[job_id] = updated = replace(job, **changes)
            return updated

    def _run(
        self,
        tenant_id: str,
        job_id: str,
        work: Callable[[Progress], ResultT],
        journal: Journal | None,
    ) -> None:
        self._update(tenant_id, job_id, state=JobState.RUNNING, stage="starting", started_at=_now())

        def report(stage: str, percent: int) -> None:
            with self._lock:
                progress = max(self._jobs[tenant_id][job_id].progress, min(percent, 99))
            self._update(tenant_id, job_id, stage=stage, progress=progress)

        try:
            result = work(report)
        except Exception as exc:  # every failure is recorded on the job, never lost
            finished = self._update(
                tenant_id,
                job_id,
                state=JobState.FAILED,
                stage="failed",
                finished_at=_now(),
                error=_job_error(exc, job_id),
            )
        else:
            finished = self._update(
                tenant_id,
                job_id,
                state=JobState.SUCCEEDED,
                stage="done",
                progress=100,
                finished_at=_now(),
                result=result,
            )
        if journal is not None:
            try:
                journal(finished)
            except Exception:  # the job itself is done; only its stored record is stale
                log.exception("could not store the record of job %s", job_id)


class TenantLocks:
    """One lock per tenant, so one bank's submissions never wait on another's."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, tenant_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tenant_id, threading.Lock())


def _job_error(exc: Exception, job_id: str) -> JobError:
    if isinstance(exc, MarketingError):
        return JobError(exc.status, exc.detail, exc.hint, tuple(exc.errors))
    if isinstance(exc, HTTPException):  # raised by the SDK's storage (404, 403, 502)
        return JobError(exc.status_code, str(exc.detail))
    log.exception("marketing job %s failed", job_id)
    return JobError(500, f"internal error ({type(exc).__name__}); the job id is {job_id}")


def new_job_id() -> str:
    """An unguessable job id (80 random bits) that sorts by creation time (ms, hex)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
