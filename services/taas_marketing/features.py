"""Per-customer RFM features (plus tenure and trend) from a transactions table.

| feature | meaning |
| --- | --- |
| ``recency_days`` | days from the last purchase to the as-of date |
| ``frequency`` | number of purchases |
| ``monetary`` | total amount spent |
| ``tenure_days`` | days from the first purchase to the as-of date |
| ``trend`` | (recent - before) / (recent + before) in [-1, 1], of spend *rates*: recent is
  spend per day over the last ``trend_window_days``, before is spend per day over the
  customer's history before that window. +1: all spending is recent (new or fast growing);
  0: steady; -1: nothing in the window (lapsed) |

The trend compares a customer with their own past, not two fixed calendar windows: a
customer who buys every few months would otherwise swing between -1 and +1 on noise.

Everything is one pass of vectorised numpy over integer customer codes, no Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FEATURES = ("recency_days", "frequency", "monetary", "tenure_days", "trend")
LOG_FEATURES = ("recency_days", "frequency", "monetary", "tenure_days")
"""Heavy-tailed counts and amounts: clustered on a log scale so a few big spenders do not
decide the whole geometry."""
TREND_WINDOW_DAYS = 180


def rfm_features(
    transactions: pd.DataFrame,
    as_of: pd.Timestamp | None = None,
    trend_window_days: int = TREND_WINDOW_DAYS,
) -> pd.DataFrame:
    """One row per customer (index ``customer_id``) with the columns of ``FEATURES``.

    ``transactions`` has ``customer_id``, ``date`` (datetime64) and ``amount``. ``as_of``
    defaults to the last date in the file; purchases after ``as_of`` are left out.
    """
    dates = transactions["date"]
    reference = dates.max().normalize() if as_of is None else as_of.normalize()
    days_ago = ((reference - dates.dt.normalize()) // pd.Timedelta(days=1)).to_numpy()
    keep = days_ago >= 0
    days_ago = days_ago[keep].astype(np.int64)
    amounts = transactions["amount"].to_numpy(dtype=np.float64)[keep]
    codes, customers = pd.factorize(transactions["customer_id"].to_numpy()[keep], sort=True)
    count = len(customers)

    frequency = np.bincount(codes, minlength=count)
    recency = np.full(count, np.iinfo(np.int64).max)
    np.minimum.at(recency, codes, days_ago)
    tenure = np.zeros(count, dtype=np.int64)
    np.maximum.at(tenure, codes, days_ago)
    monetary = np.bincount(codes, weights=amounts, minlength=count)
    window = trend_window_days
    recent = np.bincount(codes, weights=amounts * (days_ago < window), minlength=count)
    recent_rate = recent / window
    # At least one window long, so a history just older than the window is not a spike.
    before_rate = (monetary - recent) / np.maximum(tenure + 1 - window, window)
    rates = recent_rate + before_rate
    with np.errstate(invalid="ignore", divide="ignore"):
        trend = np.where(rates > 0, (recent_rate - before_rate) / rates, 0.0)
    trend = np.clip(trend, -1.0, 1.0)  # rounding in ``monetary - recent`` can overshoot
    return pd.DataFrame(
        {
            "recency_days": recency,
            "frequency": frequency,
            "monetary": monetary,
            "tenure_days": tenure,
            "trend": trend,
        },
        index=pd.Index(customers, name="customer_id"),
    )


@dataclass(frozen=True)
class ScaledFeatures:
    """The matrix k-means sees: log1p of counts and amounts, then standardised columns."""

    matrix: np.ndarray
    mean: np.ndarray
    std: np.ndarray


def scale(features: pd.DataFrame) -> ScaledFeatures:
    """Log-transform the heavy-tailed columns and standardise every column."""
    columns = []
    for name in FEATURES:
        values = features[name].to_numpy(dtype=np.float64)
        if name in LOG_FEATURES:
            values = np.log1p(np.maximum(values, 0.0))
        columns.append(values)
    raw = np.column_stack(columns)
    mean = raw.mean(axis=0)
    std = raw.std(axis=0)
    # A constant column carries no information: keep it at 0 (its std is 0 up to rounding).
    std[std <= 1e-9 * np.maximum(np.abs(mean), 1.0)] = 1.0
    return ScaledFeatures((raw - mean) / std, mean, std)
