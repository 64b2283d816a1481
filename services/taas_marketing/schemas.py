"""What the marketing API accepts and answers (its OpenAPI schemas)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from taas_marketing.jobs import JobState
from taas_marketing.reactivation import HALF_LIFE_DAYS, TARGET_SEGMENTS
from taas_marketing.segment import MAX_SEGMENTS, MIN_SEGMENTS

SegmentName = Literal["high value", "loyal", "growing", "new", "occasional", "at risk", "dormant"]
ObjectKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=512,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
        description="Key of an object in your bucket, under this module's prefix.",
    ),
]


class Upload(BaseModel):
    """Where to PUT a transactions file; then start a job with ``key``."""

    key: str
    url: str = Field(description="Presigned URL: HTTP PUT the CSV file's bytes to it.")
    method: Literal["PUT"] = "PUT"
    expires_in_s: int


class Campaign(BaseModel):
    """The reactivation target list written next to the segments."""

    model_config = ConfigDict(extra="forbid")

    segments: list[SegmentName] = Field(
        default_factory=lambda: list(TARGET_SEGMENTS),  # type: ignore[arg-type]
        min_length=1,
        description="Segments to target; 'dormant' also takes 'dormant (2)' and so on.",
    )
    limit: int | None = Field(10_000, ge=1, le=1_000_000, description="Longest list (None: all).")
    half_life_days: float = Field(
        HALF_LIFE_DAYS, gt=0, le=3650, description="Days after which a lapsed customer counts half."
    )


class JobRequest(BaseModel):
    """Segment the customers of an uploaded transactions file."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"upload_key": "uploads/2026-01.csv", "segments": 6}],
        },
    )

    upload_key: ObjectKey
    segments: Annotated[int, Field(ge=MIN_SEGMENTS, le=MAX_SEGMENTS)] | Literal["auto"] = Field(
        "auto", description="Number of segments, or 'auto' to choose it by silhouette (2-10)."
    )
    as_of: dt.date | None = Field(
        None, description="Date recency is measured from (default: the last date in the file)."
    )
    campaign: Campaign = Field(default_factory=Campaign)
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of k-means and of the samples.")


class RfmProfile(BaseModel):
    """A segment's median customer."""

    recency_days: float
    frequency: float
    monetary: float
    tenure_days: float
    trend: float


class SegmentOut(BaseModel):
    id: int
    name: str
    customers: int
    share: float
    median: RfmProfile


class QualityOut(BaseModel):
    """How well separated the segments are."""

    measure: Literal["silhouette"] = "silhouette"
    silhouette: float = Field(description="Mean silhouette coefficient (-1…1, higher is better).")
    silhouette_sample: int = Field(description="Customers the silhouette was computed on.")
    davies_bouldin: float = Field(
        description="Davies-Bouldin index on all customers (lower is better)."
    )
    k: int
    k_selection: Literal["given", "silhouette"]
    silhouette_by_k: dict[str, float] = Field(
        default_factory=dict, description="Silhouette of each candidate k (when chosen)."
    )


class Outputs(BaseModel):
    """CSV files written to your bucket (keys under this module's prefix)."""

    assignments_csv: str = Field(description="customer_id, segment_id, segment and features.")
    targets_csv: str = Field(description="The ranked reactivation target list.")


class SegmentationResult(BaseModel):
    customers: int
    transactions: int
    as_of: dt.date
    segments: list[SegmentOut]
    quality: QualityOut
    targets: int = Field(description="Rows in the target list.")
    outputs: Outputs


class JobProblem(BaseModel):
    """Why a job failed (the same fields as a problem+json answer)."""

    status: int
    detail: str
    hint: str | None = None
    errors: list[str] = Field(default_factory=list)


class JobOut(BaseModel):
    id: str
    state: JobState
    stage: str = Field(description="queued, reading, parsing, features, clustering, ... done")
    progress: int = Field(ge=0, le=100)
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    request: JobRequest
    result: SegmentationResult | None = None
    error: JobProblem | None = None


class JobList(BaseModel):
    jobs: list[JobOut]
