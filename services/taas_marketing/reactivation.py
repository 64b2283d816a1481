"""Which lapsed customers a reactivation campaign should contact first.

    score = monetary * log(1 + frequency) * 0.5 ^ (recency_days / half_life_days)

Past value (total spend) times engagement (how many purchases, with diminishing returns)
is what winning the customer back is worth; the half-life decay says how likely that
still is: a customer gone for one half-life counts half as much as one who just left.
Ties are broken by customer id, so the same data always gives the same list.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

TARGET_SEGMENTS = ("dormant", "at risk")
HALF_LIFE_DAYS = 180.0
TARGET_COLUMNS = (
    "rank",
    "customer_id",
    "segment",
    "score",
    "recency_days",
    "frequency",
    "monetary",
    "trend",
)


def reactivation_score(features: pd.DataFrame, half_life_days: float = HALF_LIFE_DAYS) -> pd.Series:
    """The score of every customer in ``features`` (higher: contact first)."""
    value = features["monetary"].clip(lower=0.0)
    engagement = np.log1p(features["frequency"].astype(np.float64))
    decay = 0.5 ** (features["recency_days"].astype(np.float64) / half_life_days)
    return (value * engagement * decay).rename("score")


def target_list(
    features: pd.DataFrame,
    segment_names: pd.Series,
    *,
    segments: tuple[str, ...] = TARGET_SEGMENTS,
    limit: int | None = None,
    half_life_days: float = HALF_LIFE_DAYS,
) -> pd.DataFrame:
    """Customers of ``segments`` ranked by score, best first (columns ``TARGET_COLUMNS``).

    A segment matches by its base name, so ``dormant`` also takes ``dormant (2)``.
    """
    family = segment_names.str.replace(r" \(\d+\)$", "", regex=True)
    chosen = family.isin(segments)
    table = features.loc[chosen.to_numpy()].copy()
    table["segment"] = segment_names[chosen]
    table["score"] = reactivation_score(table, half_life_days).round(4)
    table = table.rename_axis("customer_id").reset_index()
    table = table.sort_values(["score", "customer_id"], ascending=[False, True], kind="stable")
    if limit is not None:
        table = table.head(limit)
    table["rank"] = np.arange(1, len(table) + 1)
    table["monetary"] = table["monetary"].round(2)
    table["trend"] = table["trend"].round(4)
    return table.loc[:, list(TARGET_COLUMNS)].reset_index(drop=True)


def to_csv(table: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a header row, as written to the tenant's bucket."""
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    return buffer.getvalue().encode()
