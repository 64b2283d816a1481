"""Segmentation of generated customers recovers the generator's segments.

Thresholds: on 3,000-5,000 generated customers, k-means with k = 6 reaches an adjusted Rand
index of 0.85-0.87 against the truth and names 93-95 % of customers as the generator did
(10 generator seeds measured). The bounds below sit about 0.1 under the worst of those, so
they hold across library versions and platforms yet catch a real regression: plain RFM
k-means without tenure and trend scores 0.61 on the benchmark's data, and a trend from
fixed calendar windows scored about 0.72 in development (dropping only one of tenure or
trend, 0.81-0.83, is not caught).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from taas_marketing.features import rfm_features
from taas_marketing.generator import SyntheticData, generate
from taas_marketing.naming import ORDER
from taas_marketing.segment import AUTO_K_RANGE, segment_customers

MIN_ARI = 0.75
MIN_NAMED_AS_TRUTH = 0.85


@pytest.fixture(scope="module")
def data() -> SyntheticData:
    return generate(4_000, 40_000, seed=11)


@pytest.fixture(scope="module")
def features(data: SyntheticData) -> pd.DataFrame:
    return rfm_features(data.transactions)


def test_six_segments_recover_the_generated_ones(
    data: SyntheticData, features: pd.DataFrame
) -> None:
    result = segment_customers(features, 6, seed=0)
    truth = data.truth.loc[features.index]
    assert adjusted_rand_score(truth, result.assignments) >= MIN_ARI
    assert (result.names() == truth).mean() >= MIN_NAMED_AS_TRUTH
    assert sorted(segment.name for segment in result.segments) == sorted(data.truth.unique())


def test_segments_are_ordered_and_described(features: pd.DataFrame) -> None:
    result = segment_customers(features, 6, seed=0)
    assert [segment.id for segment in result.segments] == list(range(6))
    families = [ORDER.index(segment.name.split(" (")[0]) for segment in result.segments]
    assert families == sorted(families)
    assert sum(segment.customers for segment in result.segments) == len(features)
    assert sum(segment.share for segment in result.segments) == pytest.approx(1.0, abs=1e-3)
    sizes = result.assignments.value_counts()
    for segment in result.segments:
        assert sizes[segment.id] == segment.customers
        members = features[result.assignments == segment.id]
        assert segment.median["monetary"] == pytest.approx(members["monetary"].median())


def test_quality_measures_are_reported(features: pd.DataFrame) -> None:
    quality = segment_customers(features, 6, seed=0).quality
    assert quality.k_selection == "given"
    assert 0.2 < quality.silhouette <= 1.0
    assert quality.silhouette_sample == len(features)
    assert 0.0 < quality.davies_bouldin < 2.0


def test_k_can_be_chosen_by_silhouette(features: pd.DataFrame) -> None:
    result = segment_customers(features, None, seed=0)
    quality = result.quality
    assert quality.k_selection == "silhouette"
    assert set(quality.silhouette_by_k) == set(AUTO_K_RANGE)
    best = max(quality.silhouette_by_k.values())
    assert quality.silhouette_by_k[len(result.segments)] == best


def test_the_same_seed_gives_the_same_segments(features: pd.DataFrame) -> None:
    first, again = segment_customers(features, 4, seed=3), segment_customers(features, 4, seed=3)
    assert np.array_equal(first.assignments.to_numpy(), again.assignments.to_numpy())
    assert first.segments == again.segments


def test_too_few_distinct_customers_or_a_bad_k_are_refused() -> None:
    few = pd.DataFrame(
        {
            "recency_days": [1, 1, 1, 9],
            "frequency": [1, 1, 1, 2],
            "monetary": [5.0, 5.0, 5.0, 9.0],
            "tenure_days": [1, 1, 1, 9],
            "trend": [1.0, 1.0, 1.0, 1.0],
        },
        index=pd.Index(["a", "b", "c", "d"], name="customer_id"),
    )
    with pytest.raises(ValueError, match="too few"):
        segment_customers(few, 3)
    with pytest.raises(ValueError, match="between 2 and 20"):
        segment_customers(few, 1)
