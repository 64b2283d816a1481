"""Customer segmentation: k-means on scaled RFM features, quality measures, business names.

k is either given or chosen by the silhouette coefficient: each candidate k is fitted on a
sample of customers and scored on a smaller sample, and the best k is then fitted on
everyone. Reported quality, always on the clustering actually returned:

- silhouette coefficient (-1 … 1, higher is better) on a seeded sample of customers,
  because it costs O(n²);
- Davies-Bouldin index (≥ 0, lower is better) on all customers.

Segment ids are stable for a given result: segments are ordered by business name
(``naming.ORDER``) and, within a name, by spend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.cluster import KMeans
from sklearn.metrics import davies_bouldin_score, silhouette_score
from threadpoolctl import threadpool_limits

from taas_marketing.features import FEATURES, scale
from taas_marketing.naming import ORDER, NamingRules, name_clusters

MIN_SEGMENTS, MAX_SEGMENTS = 2, 20
AUTO_K_RANGE = range(2, 11)
SELECTION_SAMPLE = 20_000
SILHOUETTE_SAMPLE = 5_000
N_INIT = 4
WORKING_MEMORY_MIB = 64
"""Chunk size of pairwise distances (silhouette): sklearn's default, 1 GiB, would hold the
whole 5,000 x 5,000 matrix (200 MB) at once."""
NUMERIC_THREADS = 1
"""Threads k-means and the silhouette may use. One: parallelism comes from running jobs
side by side; on a busy machine, OpenMP threads that outnumber free cores spin at their
barriers and make k-means many times slower (measured: 0.14 s on one thread against 0.9 s
on two for 100,000 customers, with other work on both cores)."""


@dataclass(frozen=True)
class Quality:
    """How well separated the segments are (see the module docstring)."""

    silhouette: float
    silhouette_sample: int
    davies_bouldin: float
    k_selection: Literal["given", "silhouette"]
    silhouette_by_k: dict[int, float] = field(default_factory=dict)
    """Each candidate's silhouette on the selection sample (when k was chosen)."""


@dataclass(frozen=True)
class Segment:
    """One segment: its name, size and typical (median) customer."""

    id: int
    name: str
    customers: int
    share: float
    median: dict[str, float]


@dataclass(frozen=True)
class Segmentation:
    """Every customer's segment and the segments' descriptions."""

    assignments: pd.Series
    """Segment id per customer, indexed like the features."""
    segments: tuple[Segment, ...]
    quality: Quality

    def names(self) -> pd.Series:
        """Segment name per customer."""
        by_id = {segment.id: segment.name for segment in self.segments}
        return self.assignments.map(by_id).rename("segment")


def segment_customers(
    features: pd.DataFrame,
    k: int | None = None,
    *,
    seed: int = 0,
    rules: NamingRules | None = None,
) -> Segmentation:
    """Cluster ``features`` (from ``rfm_features``) into ``k`` segments, or choose k.

    Raises ``ValueError`` when there are fewer distinct customers than segments.
    """
    with (
        threadpool_limits(limits=NUMERIC_THREADS),
        config_context(working_memory=WORKING_MEMORY_MIB),
    ):
        return _segment(features, k, seed, rules)


def _segment(
    features: pd.DataFrame, k: int | None, seed: int, rules: NamingRules | None
) -> Segmentation:
    matrix = scale(features).matrix
    distinct = len(np.unique(matrix, axis=0))
    if k is not None and not MIN_SEGMENTS <= k <= MAX_SEGMENTS:
        raise ValueError(f"segments must be between {MIN_SEGMENTS} and {MAX_SEGMENTS}, got {k}")
    if distinct < (k or MIN_SEGMENTS) + 1:
        raise ValueError(
            f"{distinct} distinguishable customers are too few for {k or MIN_SEGMENTS} segments"
        )
    rng = np.random.default_rng(seed)
    silhouettes: dict[int, float] = {}
    if k is None:
        candidates = [c for c in AUTO_K_RANGE if c < distinct]
        silhouettes = _silhouette_by_k(matrix, candidates, rng, seed)
        k = max(silhouettes, key=lambda c: (silhouettes[c], -c))
    labels = KMeans(n_clusters=k, n_init=N_INIT, random_state=seed).fit_predict(matrix)

    sample = _sample(len(matrix), SILHOUETTE_SAMPLE, rng)
    quality = Quality(
        silhouette=_silhouette(matrix[sample], labels[sample], seed),
        silhouette_sample=len(sample),
        davies_bouldin=float(davies_bouldin_score(matrix, labels)),
        k_selection="silhouette" if silhouettes else "given",
        silhouette_by_k=silhouettes,
    )
    return _describe(features, labels, quality, rules)


def _describe(
    features: pd.DataFrame, labels: np.ndarray, quality: Quality, rules: NamingRules | None
) -> Segmentation:
    """Name the clusters, order them, and renumber them 0...k-1 in that order."""
    grouped = features[list(FEATURES)].groupby(labels)
    medians = grouped.median()
    names = name_clusters(medians, features, rules)
    median_of = {
        int(label): dict(zip(FEATURES, row, strict=True))
        for label, row in zip(
            medians.index.to_numpy(), medians.to_numpy(dtype=float).tolist(), strict=True
        )
    }
    size_of = dict(enumerate(np.bincount(labels).tolist()))

    def rank(label: int) -> tuple[int, float, int]:
        family = names[label].split(" (")[0]
        return (ORDER.index(family), -median_of[label]["monetary"], label)

    order = sorted(names, key=rank)
    total = sum(size_of.values())
    segments = tuple(
        Segment(
            id=position,
            name=names[label],
            customers=size_of[label],
            share=round(size_of[label] / total, 4),
            median=median_of[label],
        )
        for position, label in enumerate(order)
    )
    new_id = np.zeros(max(order) + 1, dtype=np.int64)
    new_id[order] = np.arange(len(order))
    assignments = pd.Series(new_id[labels], index=features.index, name="segment_id")
    return Segmentation(assignments, segments, quality)


def _silhouette_by_k(
    matrix: np.ndarray, candidates: list[int], rng: np.random.Generator, seed: int
) -> dict[int, float]:
    fit_rows = _sample(len(matrix), SELECTION_SAMPLE, rng)
    fit_matrix = matrix[fit_rows]
    score_rows = _sample(len(fit_matrix), SILHOUETTE_SAMPLE // 2, rng)
    scores = {}
    for k in candidates:
        labels = KMeans(n_clusters=k, n_init=N_INIT, random_state=seed).fit_predict(fit_matrix)
        scores[k] = _silhouette(fit_matrix[score_rows], labels[score_rows], seed)
    return scores


def _silhouette(matrix: np.ndarray, labels: np.ndarray, seed: int) -> float:
    if len(np.unique(labels)) < 2:
        return 0.0  # one cluster in the sample: no separation to measure
    return round(float(silhouette_score(matrix, labels, random_state=seed)), 4)


def _sample(size: int, limit: int, rng: np.random.Generator) -> np.ndarray:
    if size <= limit:
        return np.arange(size)
    return np.sort(rng.choice(size, limit, replace=False))
