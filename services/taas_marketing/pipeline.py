"""One segmentation job from file to results: parse, features, clustering, names, targets.

``segmentation_job`` is exactly what the API runs in the background; the benchmark runs it
too, with a store in memory, so its figures are the job's.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from taas_marketing import reactivation
from taas_marketing.errors import InvalidFile
from taas_marketing.features import FEATURES, rfm_features
from taas_marketing.jobs import Progress
from taas_marketing.schemas import (
    JobRequest,
    Outputs,
    QualityOut,
    RfmProfile,
    SegmentationResult,
    SegmentOut,
)
from taas_marketing.segment import Segmentation, segment_customers
from taas_marketing.validation import Limits, parse_transactions

CSV = "text/csv; charset=utf-8"


class ObjectStore(Protocol):
    """The part of the SDK's tenant storage a job needs."""

    def put(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None: ...


@dataclass(frozen=True)
class Analysis:
    """Everything a job computes before writing it out."""

    transactions: int
    as_of: pd.Timestamp
    features: pd.DataFrame
    segmentation: Segmentation
    targets: pd.DataFrame


def analyse(data: bytes, request: JobRequest, report: Progress, limits: Limits) -> Analysis:
    """Parse ``data`` and segment its customers as ``request`` asks."""
    report("parsing", 5)
    transactions = parse_transactions(data, limits)
    report("features", 25)
    as_of = pd.Timestamp(request.as_of) if request.as_of else transactions["date"].max().normalize()
    features = rfm_features(transactions, as_of)
    if features.empty:
        raise InvalidFile(f"no transactions on or before as_of {as_of.date()}")
    report("clustering", 35)
    k = None if request.segments == "auto" else request.segments
    try:
        segmentation = segment_customers(features, k, seed=request.seed)
    except ValueError as exc:
        raise InvalidFile(
            str(exc), hint="ask for fewer segments or upload more customers"
        ) from None
    report("reactivation", 80)
    campaign = request.campaign
    targets = reactivation.target_list(
        features,
        segmentation.names(),
        segments=tuple(campaign.segments),
        limit=campaign.limit,
        half_life_days=campaign.half_life_days,
    )
    return Analysis(len(transactions), as_of, features, segmentation, targets)


def assignments_csv(analysis: Analysis) -> bytes:
    """customer_id, segment_id, segment and the features of every customer."""
    table = analysis.features.round({"monetary": 2, "trend": 4})
    table.insert(0, "segment", analysis.segmentation.names())
    table.insert(0, "segment_id", analysis.segmentation.assignments)
    buffer = io.StringIO()
    table.loc[:, ["segment_id", "segment", *FEATURES]].to_csv(buffer)
    return buffer.getvalue().encode()


def summary(analysis: Analysis, outputs: Outputs) -> SegmentationResult:
    """The job's result as the API shows it."""
    segmentation = analysis.segmentation
    quality = segmentation.quality
    return SegmentationResult(
        customers=len(analysis.features),
        transactions=analysis.transactions,
        as_of=analysis.as_of.date(),
        segments=[
            SegmentOut(
                id=segment.id,
                name=segment.name,
                customers=segment.customers,
                share=segment.share,
                median=RfmProfile.model_validate(segment.median),
            )
            for segment in segmentation.segments
        ],
        quality=QualityOut(
            silhouette=quality.silhouette,
            silhouette_sample=quality.silhouette_sample,
            davies_bouldin=round(quality.davies_bouldin, 4),
            k=len(segmentation.segments),
            k_selection=quality.k_selection,
            silhouette_by_k={str(k): value for k, value in quality.silhouette_by_k.items()},
        ),
        targets=len(analysis.targets),
        outputs=outputs,
    )


def segmentation_job(
    store: ObjectStore, data: bytes, request: JobRequest, job_id: str, limits: Limits
) -> Callable[[Progress], SegmentationResult]:
    """The work of one job: analyse ``data``, write both CSV files, return the summary."""

    def work(report: Progress) -> SegmentationResult:
        analysis = analyse(data, request, report, limits)
        report("writing", 90)
        outputs = Outputs(
            assignments_csv=f"results/{job_id}/segments.csv",
            targets_csv=f"results/{job_id}/targets.csv",
        )
        store.put(outputs.assignments_csv, assignments_csv(analysis), CSV)
        store.put(outputs.targets_csv, reactivation.to_csv(analysis.targets), CSV)
        return summary(analysis, outputs)

    return work
