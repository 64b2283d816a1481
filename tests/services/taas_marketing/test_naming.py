"""Business names from median profiles: the decision list, and numbering of repeats."""

from __future__ import annotations

import pandas as pd
import pytest
from taas_marketing.naming import NamingRules, base_name, name_clusters

RULES = NamingRules()
STEADY = {
    "recency_days": 15.0,
    "frequency": 12.0,
    "monetary": 2_000.0,
    "tenure_days": 700.0,
    "trend": 0.0,
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"recency_days": 400.0}, "dormant"),
        ({"recency_days": 400.0, "tenure_days": 30.0, "trend": 0.9}, "dormant"),
        ({"recency_days": 120.0}, "at risk"),
        ({"trend": -0.7}, "at risk"),
        ({"tenure_days": 60.0, "trend": 1.0}, "new"),
        ({"trend": 0.6}, "growing"),
        ({"monetary": 50_000.0}, "high value"),
        ({}, "loyal"),
        ({"frequency": 2.0}, "occasional"),
    ],
)
def test_the_first_matching_rule_names_the_profile(
    changes: dict[str, float], expected: str
) -> None:
    profile = STEADY | changes
    assert base_name(profile, spend_cutoff=10_000.0, frequency_cutoff=6.0, rules=RULES) == expected


def test_thresholds_come_from_the_rules() -> None:
    strict = NamingRules(dormant_after_days=90, at_risk_after_days=30)
    profile = STEADY | {"recency_days": 100.0}
    assert base_name(profile, 10_000.0, 6.0, strict) == "dormant"
    assert base_name(profile, 10_000.0, 6.0, RULES) == "at risk"


def test_spend_and_frequency_cutoffs_are_relative_to_the_customers() -> None:
    customers = pd.DataFrame(
        {"monetary": [float(i) for i in range(1, 101)], "frequency": [1.0] * 50 + [9.0] * 50}
    )
    profiles = pd.DataFrame(
        [
            STEADY | {"monetary": 95.0, "frequency": 9.0},
            STEADY | {"monetary": 50.0, "frequency": 9.0},
            STEADY | {"monetary": 50.0, "frequency": 1.0},
        ],
        index=[0, 1, 2],
    )
    assert name_clusters(profiles, customers) == {0: "high value", 1: "loyal", 2: "occasional"}


def test_repeated_names_are_numbered_by_spend() -> None:
    customers = pd.DataFrame({"monetary": [1.0, 2.0, 3.0], "frequency": [1.0, 1.0, 1.0]})
    profiles = pd.DataFrame(
        [
            STEADY | {"recency_days": 500.0, "monetary": 10.0},
            STEADY | {"recency_days": 600.0, "monetary": 90.0},
            STEADY | {"recency_days": 700.0, "monetary": 50.0},
        ],
        index=[4, 7, 9],
    )
    assert name_clusters(profiles, customers) == {7: "dormant", 9: "dormant (2)", 4: "dormant (3)"}


def test_the_api_accepts_exactly_the_names_the_rules_give() -> None:
    from typing import get_args

    from taas_marketing.naming import ORDER
    from taas_marketing.schemas import SegmentName

    assert set(get_args(SegmentName)) == set(ORDER)
