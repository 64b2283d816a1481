"""Job records kept in the bank's own storage, so jobs outlive the module process.

The runner holds jobs in memory while they run; each job's record (the same JSON the API
answers) is also written to ``jobs/<id>.json`` under the module's prefix of the tenant's
bucket when the job is queued and again when it finishes. After a restart, or on
another replica, ``GET /jobs`` and ``GET /jobs/{id}`` read those records. A record
still saying queued or running that no live runner knows about belongs to a process
that stopped mid-job: it is reported as failed, with a hint to submit again.

A submission with an ``Idempotency-Key`` header also stores
``idempotency/<sha256 of the key>.json`` naming its job, so a retry with the same key
answers with that job instead of starting another.

Job ids start with the creation time in milliseconds (hex), so listing the record keys
in order lists the jobs in order of creation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from typing import Any

from fastapi import HTTPException
from taas_sdk import TenantStorage

from taas_marketing.jobs import IN_FLIGHT, JobState
from taas_marketing.schemas import JobOut, JobProblem

log = logging.getLogger(__name__)

PREFIX = "jobs/"
KEYS_PREFIX = "idempotency/"
INTERRUPTED = JobProblem(
    status=503,
    detail="the module stopped while this job was queued or running",
    hint="submit the job again with the same upload_key",
)


def key_of(job_id: str) -> str:
    return f"{PREFIX}{job_id}.json"


def save(storage: TenantStorage, job: JobOut) -> None:
    """Write (or overwrite) the record of ``job``."""
    storage.put(key_of(job.id), job.model_dump_json().encode(), "application/json")


def load(storage: TenantStorage, job_id: str) -> JobOut | None:
    """The stored record of ``job_id``, or None; a stale in-flight record reads as failed."""
    try:
        data = storage.get(key_of(job_id))
    except HTTPException as exc:
        if exc.status_code == 404:
            return None
        raise
    try:
        return _settled(JobOut.model_validate_json(data))
    except ValueError:
        log.warning("job record %s is not readable; left out", key_of(job_id))
        return None


def newest(storage: TenantStorage, limit: int, skip: set[str]) -> list[JobOut]:
    """Up to ``limit`` stored records, newest first, leaving out the ids in ``skip``."""
    ids = [key.removeprefix(PREFIX).removesuffix(".json") for key in storage.list(PREFIX)]
    chosen = [job_id for job_id in sorted(ids, reverse=True) if job_id not in skip][:limit]
    found = (load(storage, job_id) for job_id in chosen)
    return [job for job in found if job is not None]


def _key_record(idempotency_key: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return f"{KEYS_PREFIX}{digest}.json"


def remember_key(storage: TenantStorage, idempotency_key: str, job: JobOut) -> None:
    """Tie ``idempotency_key`` to ``job`` (and to the request it was made with)."""
    record = {"job_id": job.id, "request": job.request.model_dump(mode="json")}
    storage.put(_key_record(idempotency_key), json.dumps(record).encode(), "application/json")


def job_for_key(storage: TenantStorage, idempotency_key: str) -> tuple[str, dict[str, Any]] | None:
    """(job id, request as JSON) an earlier submission with this key made, if any."""
    try:
        record = json.loads(storage.get(_key_record(idempotency_key)))
    except HTTPException as exc:
        if exc.status_code == 404:
            return None
        raise
    return str(record["job_id"]), dict(record["request"])


def _settled(job: JobOut) -> JobOut:
    if job.state not in IN_FLIGHT:
        return job
    return job.model_copy(
        update={
            "state": JobState.FAILED,
            "stage": "failed",
            "finished_at": job.finished_at or dt.datetime.now(dt.UTC),
            "error": INTERRUPTED,
        }
    )
