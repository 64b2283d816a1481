"""Business names for clusters, from each cluster's typical (median) customer.

A fixed decision list, first match wins, so the same profile always gets the same name:

1. ``dormant``: last purchase at least ``dormant_after_days`` ago;
2. ``at risk``: last purchase at least ``at_risk_after_days`` ago, or spending falling
   hard (trend ≤ ``falling_trend``);
3. ``new``: first purchase within ``new_within_days``;
4. ``growing``: spending rising (trend ≥ ``rising_trend``);
5. ``high value``: total spend in the top decile of all customers (``high_value_quantile``);
6. ``loyal``: buys at least as often as the median customer;
7. ``occasional``: everything else (active, steady, below-median frequency).

Recency, tenure and trend thresholds are absolute (a bank's own definitions of "dormant"
are in days); spend and frequency are relative to the file's customers, because amounts
mean different things at different banks. When several clusters get the same name, the
one with the highest spend keeps it and the others are numbered: ``loyal (2)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

ORDER = ("high value", "loyal", "growing", "new", "occasional", "at risk", "dormant")
"""Display order of segments: most valuable active first, lapsed last."""


@dataclass(frozen=True)
class NamingRules:
    """Thresholds of the decision list (see the module docstring)."""

    dormant_after_days: int = 270
    at_risk_after_days: int = 90
    new_within_days: int = 120
    falling_trend: float = -0.5
    rising_trend: float = 0.4
    high_value_quantile: float = 0.9


def base_name(
    profile: Mapping[str, float], spend_cutoff: float, frequency_cutoff: float, rules: NamingRules
) -> str:
    """The business name of one cluster's median profile (without numbering)."""
    recency, trend = profile["recency_days"], profile["trend"]
    decisions = (
        ("dormant", recency >= rules.dormant_after_days),
        ("at risk", recency >= rules.at_risk_after_days or trend <= rules.falling_trend),
        ("new", profile["tenure_days"] <= rules.new_within_days),
        ("growing", trend >= rules.rising_trend),
        ("high value", profile["monetary"] >= spend_cutoff),
        ("loyal", profile["frequency"] >= frequency_cutoff),
    )
    return next((name for name, matches in decisions if matches), "occasional")


def name_clusters(
    profiles: pd.DataFrame, customers: pd.DataFrame, rules: NamingRules | None = None
) -> dict[int, str]:
    """Unique names for clusters: ``profiles`` holds one median profile per cluster
    (indexed by cluster label), ``customers`` the features of every customer."""
    rules = rules or NamingRules()
    spend_cutoff = float(customers["monetary"].quantile(rules.high_value_quantile))
    frequency_cutoff = float(customers["frequency"].median())
    labels = [int(label) for label in profiles.index.to_numpy()]
    columns = [str(column) for column in profiles.columns]
    rows = profiles.to_numpy(dtype=float).tolist()
    names = {
        label: base_name(
            dict(zip(columns, row, strict=True)), spend_cutoff, frequency_cutoff, rules
        )
        for label, row in zip(labels, rows, strict=True)
    }
    spend = profiles["monetary"].to_numpy(dtype=float)
    by_spend = sorted(range(len(labels)), key=lambda row: (-spend[row], labels[row]))
    seen: Counter[str] = Counter()
    unique = {}
    for row in by_spend:
        name = names[labels[row]]
        seen[name] += 1
        unique[labels[row]] = name if seen[name] == 1 else f"{name} ({seen[name]})"
    return unique
