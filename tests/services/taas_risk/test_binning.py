"""WOE binning on synthetic data whose risk pattern is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from taas_risk.binning import (
    BinningSettings,
    VariableBins,
    fit_categorical,
    fit_numeric,
    numeric_label,
    woe,
)

SETTINGS = BinningSettings()


def rising_risk(rows: int = 4000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """x uniform on 0..99; P(bad) rises from 5% to 55% with x."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 100, rows).astype(np.float64)
    bad = (rng.random(rows) < 0.05 + 0.5 * x / 100).astype(np.intp)
    return x, bad


def test_woe_is_positive_where_bads_are_over_represented() -> None:
    assert woe(30, 10, 100, 100) > 0
    assert woe(10, 30, 100, 100) < 0
    assert math.isfinite(woe(0, 50, 100, 100))  # smoothed: no infinite WOE


def test_numeric_bins_are_monotonic_large_enough_and_cover_the_line() -> None:
    x, bad = rising_risk()
    bins = fit_numeric("x", x, bad, SETTINGS)
    woes = [b.woe for b in bins.bins]
    assert len(bins.bins) >= 3
    assert woes == sorted(woes)  # riskier with larger x
    assert all(b.count >= SETTINGS.min_bin_share * len(x) for b in bins.bins)
    assert sum(b.count for b in bins.bins) == len(x)
    assert bins.bins[0].lower is None
    assert bins.bins[-1].upper is None
    for left, right in zip(bins.bins, bins.bins[1:], strict=False):
        assert left.upper == right.lower
    assert bins.iv > 0.1


def test_noise_is_not_split_when_splits_must_be_significant() -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(0, 100, 3000).astype(np.float64)
    bad = (rng.random(3000) < 0.3).astype(np.intp)
    bins = fit_numeric("noise", x, bad, BinningSettings(max_split_p_value=0.01))
    assert len(bins.bins) == 1


def test_max_bins_is_respected() -> None:
    x, bad = rising_risk()
    assert len(fit_numeric("x", x, bad, BinningSettings(max_bins=2)).bins) == 2


def test_index_of_and_indices_agree_with_the_edges() -> None:
    x, bad = rising_risk()
    bins = fit_numeric("x", x, bad, SETTINGS)
    probe = np.array([-5.0, 0.0, 17.0, 50.0, 99.0, 1e9, math.nan])
    vectorised = bins.indices(probe)
    assert list(vectorised) == [bins.index_of(v) for v in probe]
    for value, index in zip(probe[:-1], vectorised[:-1], strict=True):
        found = bins.bins[index]
        assert found.lower is None or found.lower <= value
        assert found.upper is None or value < found.upper
    assert vectorised[-1] == -1  # missing, and too few missing rows for a bin of its own


def test_many_missing_values_get_their_own_bin() -> None:
    x, bad = rising_risk()
    x[:800] = math.nan
    bad[:800] = 1
    bins = fit_numeric("x", x, bad, SETTINGS)
    missing = [b for b in bins.bins if b.missing]
    assert len(missing) == 1
    assert missing[0].count == 800
    assert missing[0].woe > 1  # all bad
    assert bins.index_of(None) == bins.bins.index(missing[0])
    assert bins.index_of(math.nan) == bins.bins.index(missing[0])


def test_categories_of_similar_risk_are_grouped_and_unseen_ones_are_neutral() -> None:
    rng = np.random.default_rng(3)
    rates = {"a": 0.1, "b": 0.1, "c": 0.5, "d": 0.5, "rare": 0.5}
    sizes = {"a": 1500, "b": 1500, "c": 1500, "d": 1500, "rare": 30}
    x = np.array([c for c, n in sizes.items() for _ in range(n)], dtype=object)
    bad = np.array([int(rng.random() < rates[c]) for c in x], dtype=np.intp)
    bins = fit_categorical("cat", x, bad, SETTINGS)
    groups = [set(b.categories) for b in bins.bins]
    assert {"a", "b"} in groups
    assert any({"c", "d"} <= g for g in groups)
    assert all(b.count >= SETTINGS.min_bin_share * len(x) for b in bins.bins)
    assert bins.index_of("never-seen") == -1
    assert list(bins.indices(np.array(["a", "never-seen"], dtype=object))) == [
        bins.index_of("a"),
        -1,
    ]


def test_serialisation_round_trip_keeps_lookups() -> None:
    x, bad = rising_risk()
    bins = fit_numeric("x", x, bad, SETTINGS, unit="days")
    again = VariableBins.from_dict(bins.to_dict())
    assert again == bins
    assert [again.index_of(v) for v in (0.0, 50.0, 99.0)] == [
        bins.index_of(v) for v in (0.0, 50.0, 99.0)
    ]


@pytest.mark.parametrize(
    ("lower", "upper", "integral", "text"),
    [
        (None, 8.0, True, "up to 7 months"),
        (8.0, 16.0, True, "8 to 15 months"),
        (3.0, 4.0, True, "3 months"),
        (48.0, None, True, "48 or more months"),
        (None, 2.5, False, "below 2.5 months"),
        (2.5, 4.0, False, "2.5 to under 4 months"),
    ],
)
def test_numeric_labels_are_plain_words(
    lower: float | None, upper: float | None, integral: bool, text: str
) -> None:
    assert numeric_label(lower, upper, integral, "months") == text
