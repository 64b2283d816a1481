"""Reactivation ranking: value and frequency first, discounted by how long ago."""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest
from taas_marketing.reactivation import TARGET_COLUMNS, reactivation_score, target_list, to_csv


def customers(rows: dict[str, tuple[float, float, float, str]]) -> tuple[pd.DataFrame, pd.Series]:
    """id -> (recency_days, frequency, monetary, segment)."""
    index = pd.Index(list(rows), name="customer_id")
    features = pd.DataFrame(
        {
            "recency_days": [row[0] for row in rows.values()],
            "frequency": [row[1] for row in rows.values()],
            "monetary": [row[2] for row in rows.values()],
            "tenure_days": [900.0] * len(rows),
            "trend": [-1.0] * len(rows),
        },
        index=index,
    )
    return features, pd.Series([row[3] for row in rows.values()], index=index)


def test_score_is_value_times_engagement_halved_per_half_life() -> None:
    features, _ = customers(
        {"a": (180.0, 3.0, 1000.0, "dormant"), "b": (0.0, 3.0, 1000.0, "dormant")}
    )
    score = reactivation_score(features, half_life_days=180.0)
    assert score["b"] == pytest.approx(1000.0 * math.log1p(3.0))
    assert score["a"] == pytest.approx(score["b"] / 2)


def test_ranking_order() -> None:
    features, names = customers(
        {
            "rich": (300.0, 10.0, 9000.0, "dormant"),
            "recent": (100.0, 10.0, 3000.0, "at risk"),
            "poor": (300.0, 10.0, 900.0, "dormant"),
            "rare": (300.0, 1.0, 9000.0, "dormant (2)"),
            "long-gone": (900.0, 10.0, 9000.0, "dormant"),
            "active": (5.0, 40.0, 99000.0, "high value"),
        }
    )
    table = target_list(features, names)
    assert list(table.columns) == list(TARGET_COLUMNS)
    assert list(table["customer_id"]) == ["rich", "recent", "rare", "poor", "long-gone"]
    assert list(table["rank"]) == [1, 2, 3, 4, 5]
    assert "active" not in set(table["customer_id"])  # only the campaign's segments


def test_segments_limit_and_ties() -> None:
    features, names = customers(
        {
            "b": (200.0, 2.0, 100.0, "dormant"),
            "a": (200.0, 2.0, 100.0, "dormant"),
            "c": (100.0, 2.0, 100.0, "at risk"),
        }
    )
    only_dormant = target_list(features, names, segments=("dormant",))
    assert list(only_dormant["customer_id"]) == ["a", "b"]  # equal scores: by id
    top = target_list(features, names, limit=1)
    assert list(top["customer_id"]) == ["c"]


def test_the_csv_has_a_header_and_every_row() -> None:
    features, names = customers(
        {"a": (200.0, 2.0, 100.0, "dormant"), "b": (10.0, 2.0, 100.0, "at risk")}
    )
    parsed = pd.read_csv(io.BytesIO(to_csv(target_list(features, names))))
    assert list(parsed.columns) == list(TARGET_COLUMNS)
    assert list(parsed["customer_id"]) == ["b", "a"]
