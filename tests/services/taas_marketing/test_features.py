"""RFM, tenure and trend features on small hand-made files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from taas_marketing.features import FEATURES, rfm_features, scale

AS_OF = pd.Timestamp("2025-12-31")


def transactions(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    """(customer, days before AS_OF, amount) rows."""
    return pd.DataFrame(
        {
            "customer_id": [row[0] for row in rows],
            "date": [AS_OF - pd.Timedelta(days=row[1]) for row in rows],
            "amount": [row[2] for row in rows],
        }
    )


def test_recency_frequency_monetary_tenure_and_trend() -> None:
    table = transactions(
        [
            ("a", 0, 100.0),
            ("a", 10, 50.0),
            ("b", 400, 100.0),
            ("b", 200, 100.0),
            ("b", 10, 100.0),
            ("c", 500, 80.0),
        ]
    )
    features = rfm_features(table, AS_OF)
    assert list(features.columns) == list(FEATURES)
    assert list(features.index) == ["a", "b", "c"]
    a, b, c = (features.loc[name] for name in "abc")
    assert (a["recency_days"], a["frequency"], a["monetary"], a["tenure_days"]) == (0, 2, 150, 10)
    assert a["trend"] == 1.0  # everything within the last 180 days
    assert (b["recency_days"], b["frequency"], b["monetary"], b["tenure_days"]) == (10, 3, 300, 400)
    recent_rate, before_rate = 100 / 180, 200 / (401 - 180)
    assert b["trend"] == pytest.approx((recent_rate - before_rate) / (recent_rate + before_rate))
    assert (c["recency_days"], c["tenure_days"], c["trend"]) == (500, 500, -1.0)


def test_steady_buyers_have_a_trend_near_zero() -> None:
    rows = [("steady", day, 50.0) for day in range(0, 720, 30)]
    features = rfm_features(transactions(rows), AS_OF)
    assert features.loc["steady", "trend"] == pytest.approx(0.0, abs=0.05)


def test_as_of_defaults_to_the_last_date_and_later_purchases_are_left_out() -> None:
    table = transactions([("a", 5, 10.0), ("b", 20, 10.0), ("b", -3, 99.0)])
    by_default = rfm_features(table)
    assert by_default.loc["b", "recency_days"] == 0  # the future row is the last date
    explicit = rfm_features(table, AS_OF)
    assert explicit.loc["b", "frequency"] == 1
    assert explicit.loc["b", "monetary"] == 10.0


def test_times_of_day_do_not_change_day_counts() -> None:
    table = pd.DataFrame(
        {
            "customer_id": ["a", "a"],
            "date": pd.to_datetime(["2025-12-30 23:59", "2025-12-01 00:01"]),
            "amount": [1.0, 1.0],
        }
    )
    features = rfm_features(table, AS_OF)
    assert features.loc["a", "recency_days"] == 1
    assert features.loc["a", "tenure_days"] == 30


def test_scaling_logs_the_heavy_tails_and_standardises() -> None:
    features = rfm_features(
        transactions([(str(i), i * 7, 10.0 * (i + 1) ** 2) for i in range(50)]), AS_OF
    )
    scaled = scale(features)
    assert scaled.matrix.shape == (50, len(FEATURES))
    assert np.allclose(scaled.matrix.mean(axis=0), 0.0)
    monetary = FEATURES.index("monetary")
    frequency = FEATURES.index("frequency")
    assert scaled.std[monetary] == pytest.approx(np.log1p(features["monetary"]).std(ddof=0))
    assert np.allclose(scaled.matrix[:, frequency], 0.0)  # constant column: no information
