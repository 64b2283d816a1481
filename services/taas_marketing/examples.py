"""OpenAPI examples of the marketing API: the platform's contract check sends them.

A request example is sent as is; the answer must have the status of the response that
holds an example of the same name (else the lowest 2xx). The contract check calls as a
pretend tenant without a storage grant, so examples that reach storage expect 403.
"""

from __future__ import annotations

from typing import Any

from taas_sdk import PROBLEM_SCHEMA

from taas_marketing.schemas import JobList, JobOut, JobProblem, Upload
from taas_marketing.validation import EXPECTED

UNKNOWN_JOB_ID = "0" * 32
NO_GRANT = "this call carries no storage grant: the plugin declares no storage access"


def _problem(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


def problem_response(description: str, examples: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An error response (application/problem+json) with named examples."""
    return {
        "description": description,
        "content": {
            "application/problem+json": {
                "schema": dict(PROBLEM_SCHEMA),
                "examples": {name: {"value": value} for name, value in examples.items()},
            }
        },
    }


def ok_response(examples: dict[str, Any]) -> dict[str, Any]:
    """A success response with named examples (names that no request example uses)."""
    return {
        "content": {
            "application/json": {
                "examples": {name: {"value": value} for name, value in examples.items()}
            }
        }
    }


FORBIDDEN = _problem(403, "Forbidden", NO_GRANT)

UPLOAD = Upload(
    key="uploads/3f2a9c1e0b7d4e21a5c86f0d9e4b7a12.csv",
    url="https://storage.example/bank-a/marketing/uploads/3f2a9c1e0b7d4e21a5c86f0d9e4b7a12.csv?X-Amz-Signature=...",
    expires_in_s=900,
).model_dump(mode="json")

JOB_REQUESTS: dict[str, dict[str, Any]] = {
    "not-uploaded": {
        "summary": "Six segments and 5,000 targets, for a file that was never uploaded",
        "value": {
            "upload_key": "uploads/3f2a9c1e0b7d4e21a5c86f0d9e4b7a12.csv",
            "segments": 6,
            "campaign": {"segments": ["dormant", "at risk"], "limit": 5000},
        },
    },
    "invalid": {
        "summary": "One segment is not a segmentation",
        "value": {"upload_key": "uploads/x.csv", "segments": 1},
    },
}

_SUCCEEDED: dict[str, Any] = {
    "id": "5b0e7c2d9a8f4f13b6c1e2d3a4b5c6d7",
    "state": "succeeded",
    "stage": "done",
    "progress": 100,
    "created_at": "2026-01-05T09:30:00Z",
    "started_at": "2026-01-05T09:30:00Z",
    "finished_at": "2026-01-05T09:30:21Z",
    "request": {"upload_key": "uploads/3f2a9c1e0b7d4e21a5c86f0d9e4b7a12.csv", "segments": 6},
    "result": {
        "customers": 100000,
        "transactions": 1000000,
        "as_of": "2026-01-01",
        "segments": [
            {
                "id": 0,
                "name": "high value",
                "customers": 8231,
                "share": 0.0823,
                "median": {
                    "recency_days": 10,
                    "frequency": 39,
                    "monetary": 37575.97,
                    "tenure_days": 817,
                    "trend": 0.0,
                },
            },
            {
                "id": 5,
                "name": "dormant",
                "customers": 28799,
                "share": 0.288,
                "median": {
                    "recency_days": 606,
                    "frequency": 2,
                    "monetary": 161.31,
                    "tenure_days": 778,
                    "trend": -1.0,
                },
            },
        ],
        "quality": {
            "measure": "silhouette",
            "silhouette": 0.4739,
            "silhouette_sample": 10000,
            "davies_bouldin": 0.8239,
            "k": 6,
            "k_selection": "given",
            "silhouette_by_k": {},
        },
        "targets": 5000,
        "outputs": {
            "assignments_csv": "results/5b0e7c2d9a8f4f13b6c1e2d3a4b5c6d7/segments.csv",
            "targets_csv": "results/5b0e7c2d9a8f4f13b6c1e2d3a4b5c6d7/targets.csv",
        },
    },
}
_RUNNING = {
    **_SUCCEEDED,
    "state": "running",
    "stage": "clustering",
    "progress": 35,
    "finished_at": None,
    "result": None,
}
_FAILED = {
    **_SUCCEEDED,
    "state": "failed",
    "stage": "failed",
    "progress": 25,
    "result": None,
    "error": JobProblem(
        status=422,
        detail="2 transaction(s) are unusable: amount is not a number",
        hint="fix these lines and upload the file again; line numbers count the header as 1",
        errors=["line 7: amount is not a number ('12,50')", "line 9: amount is not a number ('')"],
    ).model_dump(),
}
for _example in (_SUCCEEDED, _RUNNING, _FAILED):
    JobOut.model_validate(_example)  # the examples must stay true to the schema
JobList.model_validate({"jobs": [_RUNNING]})

JOB_ACCEPTED = {**_SUCCEEDED, "state": "queued", "stage": "queued", "progress": 0, "result": None}
JOB_STATES = {"succeeded": _SUCCEEDED, "running": _RUNNING, "failed": _FAILED}
JOB_LIST = {"jobs": [_RUNNING, _SUCCEEDED]}

UNPROCESSABLE_JOB = {
    "invalid": _problem(
        422,
        "Unprocessable request",
        "the request does not match the module's API",
        errors=[{"loc": "body.segments.int", "msg": "Input should be greater than or equal to 2"}],
    ),
    "missing-columns": _problem(
        422,
        "Unprocessable request",
        "missing column(s): amount; found: customer_id, date, value",
        hint=f"expected columns: {EXPECTED}",
    ),
    "empty-file": _problem(422, "Unprocessable request", "the file is empty"),
}
TOO_LARGE = {
    "too-large": _problem(
        413,
        "Content too large",
        "the file has 412,000,000 bytes; this module reads at most 134,217,728",
        hint="split the file by period or by customer range and run one job per part",
    )
}
NO_UPLOAD = {
    "not-uploaded": _problem(404, "Not found", "no object 'uploads/x.csv' in the tenant's storage")
}
NO_JOB = {
    "default": _problem(404, "Not found", f"no job '{UNKNOWN_JOB_ID}'", hint="list your jobs")
}
KEY_REUSED = {
    "key-reused": _problem(
        409,
        "Conflict",
        "this Idempotency-Key was used for a different request",
        hint="use a new key for a new job",
    )
}
BUSY = {
    "busy": _problem(
        429,
        "Too many requests",
        "2 jobs of yours are still queued or running",
        hint="wait for one to finish (GET /jobs) before submitting another",
    )
}
