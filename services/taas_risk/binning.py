"""Weight-of-evidence (WOE) binning: fine classes merged into a few coarse bins.

WOE of a bin is ``ln(share of all bads in the bin / share of all goods in the bin)``, so
a positive WOE means riskier than the average applicant. Counts get +0.5 so a bin with
no bads (or no goods) keeps a finite WOE.

1. Fine classes. Numeric: cut at quantiles (every distinct value when there are few),
   classes are ``[lower, upper)``. Categorical: one class per category, ordered by bad
   rate, so any run of neighbours groups categories of similar risk.
2. Coarse bins. Starting from one bin, split where the information value (IV) grows
   most, while every bin keeps at least ``min_bin_share`` of the rows, the two sides
   differ significantly (2x2 chi-square), and (numeric, ``monotonic``) WOE keeps one
   direction. Stop at ``max_bins`` or when no split qualifies.
3. Missing values get their own bin when they are at least ``min_bin_share`` of the
   rows; otherwise, like categories never seen in training, they score WOE 0 (average).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from taas_risk.features import Kind

SMOOTHING = 0.5
MISSING_LABEL = "not given"
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class BinningSettings:
    """How fine classes are formed and merged."""

    max_fine_classes: int = 20
    """Numeric variables are first cut at this many quantiles (fewer if values repeat)."""
    min_bin_share: float = 0.05
    """Every coarse bin holds at least this share of the training rows."""
    max_bins: int = 6
    """At most this many coarse bins per variable (not counting a missing-value bin)."""
    max_split_p_value: float = 0.05
    """A split is kept only if its two sides' bad rates differ at this significance."""
    monotonic: bool = True
    """Numeric variables: WOE must rise (or fall) steadily across the bins."""


@dataclass(frozen=True)
class Bin:
    """One coarse bin: numeric ``[lower, upper)`` (None = unbounded) or a set of categories."""

    label: str
    woe: float
    count: int
    bads: int
    lower: float | None = None
    upper: float | None = None
    categories: tuple[str, ...] = ()
    missing: bool = False


@dataclass(frozen=True)
class VariableBins:
    """The coarse bins of one variable and how to find a value's bin."""

    name: str
    kind: Kind
    bins: tuple[Bin, ...]
    iv: float
    _edges: FloatArray = field(init=False, repr=False, compare=False)
    _edge_list: list[float] = field(init=False, repr=False, compare=False)
    _category_index: dict[str, int] = field(init=False, repr=False, compare=False)
    _missing_index: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ranges = [b for b in self.bins if not b.missing]
        edges = np.array([b.upper for b in ranges[:-1]], dtype=np.float64)
        categories = {c: i for i, b in enumerate(self.bins) for c in b.categories}
        missing = next((i for i, b in enumerate(self.bins) if b.missing), -1)
        object.__setattr__(self, "_edges", edges)
        object.__setattr__(self, "_edge_list", edges.tolist())
        object.__setattr__(self, "_category_index", categories)
        object.__setattr__(self, "_missing_index", missing)

    def index_of(self, value: float | str | None) -> int:
        """The bin of one value; -1 when it is missing (without a missing bin) or unseen."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self._missing_index
        if self.kind == "categorical":
            return self._category_index.get(str(value), -1)
        return bisect.bisect_right(self._edge_list, float(value))

    def indices(self, values: npt.NDArray[Any]) -> IntArray:
        """The bins of many values (vectorised ``index_of``)."""
        if self.kind == "numeric":
            numbers = values.astype(np.float64)
            found = np.searchsorted(self._edges, numbers, side="right").astype(np.intp)
            return np.where(np.isnan(numbers), self._missing_index, found)
        uniques, inverse = np.unique(values.astype(str), return_inverse=True)
        lookup = np.array([self._category_index.get(str(u), -1) for u in uniques], dtype=np.intp)
        return lookup[inverse.reshape(-1)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "iv": self.iv,
            "bins": [
                {
                    "label": b.label,
                    "woe": b.woe,
                    "count": b.count,
                    "bads": b.bads,
                    "lower": b.lower,
                    "upper": b.upper,
                    "categories": list(b.categories),
                    "missing": b.missing,
                }
                for b in self.bins
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VariableBins:
        bins = tuple(
            Bin(
                label=str(b["label"]),
                woe=float(b["woe"]),
                count=int(b["count"]),
                bads=int(b["bads"]),
                lower=None if b["lower"] is None else float(b["lower"]),
                upper=None if b["upper"] is None else float(b["upper"]),
                categories=tuple(str(c) for c in b["categories"]),
                missing=bool(b["missing"]),
            )
            for b in data["bins"]
        )
        return cls(str(data["name"]), data["kind"], bins, float(data["iv"]))


def woe(bads: float, goods: float, total_bads: float, total_goods: float) -> float:
    """ln(share of bads / share of goods), smoothed."""
    return math.log((bads + SMOOTHING) / total_bads) - math.log((goods + SMOOTHING) / total_goods)


def _iv(bads: float, goods: float, total_bads: float, total_goods: float) -> float:
    return (bads / total_bads - goods / total_goods) * woe(bads, goods, total_bads, total_goods)


def _chi_square_p(b1: float, g1: float, b2: float, g2: float) -> float:
    """p-value of the 2x2 chi-square test (1 degree of freedom) that two bad rates differ."""
    n = b1 + g1 + b2 + g2
    denominator = (b1 + g1) * (b2 + g2) * (b1 + b2) * (g1 + g2)
    if denominator == 0:
        return 1.0
    statistic = n * (b1 * g2 - b2 * g1) ** 2 / denominator
    return math.erfc(math.sqrt(statistic / 2))


def _monotonic(values: Sequence[float], direction: float) -> bool:
    return all((b - a) * direction >= 0 for a, b in itertools.pairwise(values))


def merge_fine_classes(
    bads: IntArray, goods: IntArray, settings: BinningSettings, monotonic: bool
) -> list[tuple[int, int]]:
    """Group ordered fine classes into coarse bins: a list of ``[start, end)`` runs."""
    cum_b = np.concatenate([[0], np.cumsum(bads)]).astype(np.float64)
    cum_g = np.concatenate([[0], np.cumsum(goods)]).astype(np.float64)
    total_b, total_g = float(cum_b[-1]), float(cum_g[-1])
    min_rows = settings.min_bin_share * (total_b + total_g)

    def stats(start: int, end: int) -> tuple[float, float]:
        return float(cum_b[end] - cum_b[start]), float(cum_g[end] - cum_g[start])

    def seg_woe(run: tuple[int, int]) -> float:
        return woe(*stats(*run), total_b, total_g)

    rates = (bads + SMOOTHING) / (bads + goods + 2 * SMOOTHING)
    weights = (bads + goods).astype(np.float64)
    position = np.arange(len(bads), dtype=np.float64)
    mean_position = float(np.average(position, weights=weights))
    direction = float(np.sum(weights * (position - mean_position) * rates))

    runs = [(0, len(bads))]
    while len(runs) < settings.max_bins:
        best: tuple[float, int, int] | None = None
        for at, (start, end) in enumerate(runs):
            whole = _iv(*stats(start, end), total_b, total_g)
            for cut in range(start + 1, end):
                left, right = stats(start, cut), stats(cut, end)
                if sum(left) < min_rows or sum(right) < min_rows:
                    continue
                if _chi_square_p(*left, *right) > settings.max_split_p_value:
                    continue
                gain = _iv(*left, total_b, total_g) + _iv(*right, total_b, total_g) - whole
                if best is not None and gain <= best[0]:
                    continue
                candidate = [*runs[:at], (start, cut), (cut, end), *runs[at + 1 :]]
                if monotonic and not _monotonic([seg_woe(r) for r in candidate], direction):
                    continue
                best = (gain, at, cut)
        if best is None:
            break
        _, at, cut = best
        start, end = runs[at]
        runs[at : at + 1] = [(start, cut), (cut, end)]
    return runs


def _number(value: float, integral: bool) -> str:
    return str(int(value)) if integral else f"{value:g}"


def numeric_label(lower: float | None, upper: float | None, integral: bool, unit: str) -> str:
    """Plain words for ``[lower, upper)``: "up to 7", "8 to 15", "48 or more" (integers)."""
    suffix = f" {unit}" if unit else ""
    if upper is None:
        return "any value" if lower is None else f"{_number(lower, integral)} or more{suffix}"
    if integral:
        last = math.ceil(upper) - 1
        if lower is None:
            text = f"up to {last}"
        elif last == lower:
            text = _number(lower, True)
        else:
            text = f"{_number(lower, True)} to {last}"
    elif lower is None:
        text = f"below {upper:g}"
    else:
        text = f"{lower:g} to under {upper:g}"
    return text + suffix


def _missing_bin(
    y: IntArray, missing: npt.NDArray[np.bool_], settings: BinningSettings
) -> Bin | None:
    count = int(missing.sum())
    if count == 0 or count < settings.min_bin_share * len(y):
        return None
    bads = int(y[missing].sum())
    total_b, total_g = float(y.sum()), float(len(y) - y.sum())
    return Bin(MISSING_LABEL, woe(bads, count - bads, total_b, total_g), count, bads, missing=True)


def _finish(name: str, kind: Kind, bins: list[Bin], y: IntArray) -> VariableBins:
    total_b, total_g = float(y.sum()), float(len(y) - y.sum())
    iv = sum(_iv(b.bads, b.count - b.bads, total_b, total_g) for b in bins)
    return VariableBins(name, kind, tuple(bins), iv)


def fit_numeric(
    name: str, x: FloatArray, y: IntArray, settings: BinningSettings, unit: str = ""
) -> VariableBins:
    """Coarse bins of a numeric variable; ``y`` is 1 for bad, 0 for good."""
    x = x.astype(np.float64)
    missing = np.isnan(x)
    present, outcome = x[~missing], y[~missing]
    distinct = np.unique(present)
    if len(distinct) <= settings.max_fine_classes:
        cuts = distinct[1:]
    else:
        levels = np.linspace(0, 1, settings.max_fine_classes + 1)[1:-1]
        cuts = np.unique(np.quantile(present, levels, method="nearest"))
        cuts = cuts[cuts > distinct[0]]
    fine = np.searchsorted(cuts, present, side="right")
    bads = np.bincount(fine, weights=outcome, minlength=len(cuts) + 1).astype(np.intp)
    counts = np.bincount(fine, minlength=len(cuts) + 1).astype(np.intp)
    runs = merge_fine_classes(bads, counts - bads, settings, settings.monotonic)
    integral = bool(np.all(present == np.round(present)))
    total_b, total_g = float(y.sum()), float(len(y) - y.sum())
    bins: list[Bin] = []
    for start, end in runs:
        lower = None if start == 0 else float(cuts[start - 1])
        upper = None if end == len(cuts) + 1 else float(cuts[end - 1])
        run_bads, run_count = int(bads[start:end].sum()), int(counts[start:end].sum())
        bins.append(
            Bin(
                numeric_label(lower, upper, integral, unit),
                woe(run_bads, run_count - run_bads, total_b, total_g),
                run_count,
                run_bads,
                lower=lower,
                upper=upper,
            )
        )
    extra = _missing_bin(y, missing, settings)
    return _finish(name, "numeric", [*bins, *([extra] if extra else [])], y)


def fit_categorical(
    name: str, x: npt.NDArray[Any], y: IntArray, settings: BinningSettings
) -> VariableBins:
    """Coarse bins of a categorical variable; ``y`` is 1 for bad, 0 for good."""
    missing = np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in x])
    present = x[~missing].astype(str)
    outcome = y[~missing]
    categories, inverse = np.unique(present, return_inverse=True)
    bads = np.bincount(inverse, weights=outcome, minlength=len(categories)).astype(np.intp)
    counts = np.bincount(inverse, minlength=len(categories)).astype(np.intp)
    order = np.argsort((bads + SMOOTHING) / (counts + 2 * SMOOTHING), kind="stable")
    bads, counts, categories = bads[order], counts[order], categories[order]
    runs = merge_fine_classes(bads, counts - bads, settings, monotonic=False)
    total_b, total_g = float(y.sum()), float(len(y) - y.sum())
    bins: list[Bin] = []
    for start, end in runs:
        members = tuple(str(c) for c in categories[start:end])
        run_bads, run_count = int(bads[start:end].sum()), int(counts[start:end].sum())
        bins.append(
            Bin(
                " or ".join(members),
                woe(run_bads, run_count - run_bads, total_b, total_g),
                run_count,
                run_bads,
                categories=members,
            )
        )
    extra = _missing_bin(y, missing, settings)
    return _finish(name, "categorical", [*bins, *([extra] if extra else [])], y)
