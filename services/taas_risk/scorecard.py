"""A points scorecard: logistic regression on WOE features, scaled to points, with reasons.

Sign convention: ``odds`` are bad:good odds, ``p_bad / (1 - p_bad)``, and the model gives
``ln(odds) = intercept + sum(coefficient_i * woe_i)``. Points fall as risk rises:

    points = offset - factor * ln(odds),  factor = pdo / ln 2,
    offset = base_score + factor * ln(base_odds)

so an applicant at ``base_odds`` scores ``base_score`` and every doubling of the bad odds
costs ``pdo`` points. The score splits into base points (``offset - factor*intercept``)
plus one share per variable (``-factor * coefficient * woe`` of the applicant's bin).
A variable's shortfall is its best bin's points minus the applicant's; the reasons
(adverse factors) are the variables with the largest shortfalls.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.linear_model import LogisticRegression

from taas_risk.binning import (
    BinningSettings,
    FloatArray,
    IntArray,
    VariableBins,
    fit_categorical,
    fit_numeric,
)
from taas_risk.features import BY_NAME, FEATURES

FORMAT = "taas-risk-scorecard/1"
MIN_REASON_POINTS = 0.5
"""A variable is a reason only if it costs at least this many points."""
FeatureValue = float | str | None
MAX_CACHED_SCALINGS = 256
"""Points tables kept per distinct scaling (tenants may each choose their own)."""


@dataclass(frozen=True)
class Scaling:
    """How log-odds become points (see the module docstring for the sign convention)."""

    base_score: float = 600.0
    base_odds: float = 1 / 50
    pdo: float = 20.0

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2)

    @property
    def offset(self) -> float:
        return self.base_score + self.factor * math.log(self.base_odds)

    def points(self, log_odds: float) -> float:
        """The score of bad:good log-odds."""
        return self.offset - self.factor * log_odds

    def log_odds(self, points: float) -> float:
        """The bad:good log-odds of a score (inverse of ``points``)."""
        return (self.offset - points) / self.factor


@dataclass(frozen=True)
class ScorecardVariable:
    """A variable in the model: its bins and its regression coefficient."""

    bins: VariableBins
    coefficient: float
    description: str
    unit: str = ""

    @property
    def woes(self) -> FloatArray:
        """WOE per bin, then 0.0 for missing/unseen values (so index -1 reads it)."""
        return np.array([*(b.woe for b in self.bins.bins), 0.0], dtype=np.float64)


@dataclass(frozen=True)
class PointsTable:
    """Points per bin for one scaling: ``points[v][-1]`` is the missing/unseen value's."""

    base_points: float
    points: tuple[FloatArray, ...]
    points_lists: tuple[list[float], ...]
    best: FloatArray


@dataclass(frozen=True)
class Factor:
    """What one variable contributed to one score."""

    variable: str
    value: FeatureValue
    points: float
    best_points: float

    @property
    def shortfall(self) -> float:
        return self.best_points - self.points


@dataclass(frozen=True)
class ScoreResult:
    """One applicant's score, probability of default and adverse factors."""

    score: float
    probability_bad: float
    factors: tuple[Factor, ...]
    reasons: tuple[Factor, ...]


@dataclass(frozen=True)
class ManyScores:
    """Scores of many applicants: reasons are variable indices, -1 where there is none."""

    score: FloatArray
    probability_bad: FloatArray
    reasons: IntArray
    reason_shortfalls: FloatArray


@dataclass(frozen=True)
class Scorecard:
    """A trained scorecard (immutable); points depend on the ``Scaling`` passed in."""

    intercept: float
    variables: tuple[ScorecardVariable, ...]
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
    _tables: dict[Scaling, PointsTable] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def points_table(self, scaling: Scaling) -> PointsTable:
        """Points per bin under ``scaling`` (computed once per scaling)."""
        table = self._tables.get(scaling)
        if table is None:
            points = tuple(-scaling.factor * v.coefficient * v.woes for v in self.variables)
            table = PointsTable(
                base_points=scaling.points(self.intercept),
                points=points,
                points_lists=tuple(p.tolist() for p in points),
                best=np.array([p[:-1].max() for p in points], dtype=np.float64),
            )
            if len(self._tables) >= MAX_CACHED_SCALINGS:
                self._tables.clear()
            self._tables[scaling] = table
        return table

    def score(
        self, features: Mapping[str, FeatureValue], scaling: Scaling, top_n: int = 4
    ) -> ScoreResult:
        """Score one applicant; ``reasons`` are the top ``top_n`` adverse factors."""
        table = self.points_table(scaling)
        total = table.base_points
        factors = []
        for position, variable in enumerate(self.variables):
            value = features.get(variable.bins.name)
            index = variable.bins.index_of(value)
            points = table.points_lists[position][index]
            total += points
            factors.append(Factor(variable.bins.name, value, points, float(table.best[position])))
        adverse = sorted(
            (f for f in factors if f.shortfall >= MIN_REASON_POINTS),
            key=lambda f: (-f.shortfall, f.variable),
        )
        log_odds = scaling.log_odds(total)
        return ScoreResult(
            score=total,
            probability_bad=_sigmoid(log_odds),
            factors=tuple(factors),
            reasons=tuple(adverse[:top_n]),
        )

    def score_many(
        self, columns: Mapping[str, npt.NDArray[Any]], scaling: Scaling, top_n: int = 4
    ) -> ManyScores:
        """Score many applicants at once (``columns`` maps variable name to values)."""
        table = self.points_table(scaling)
        rows = len(next(iter(columns.values()))) if columns else 0
        points = np.empty((rows, len(self.variables)), dtype=np.float64)
        for position, variable in enumerate(self.variables):
            indices = variable.bins.indices(columns[variable.bins.name])
            points[:, position] = table.points[position][indices]
        score = table.base_points + points.sum(axis=1)
        shortfall = table.best[np.newaxis, :] - points
        order = np.argsort(-shortfall, axis=1, kind="stable")[:, :top_n]
        worst = np.take_along_axis(shortfall, order, axis=1)
        reasons = np.where(worst >= MIN_REASON_POINTS, order, -1).astype(np.intp)
        log_odds = (scaling.offset - score) / scaling.factor
        return ManyScores(score, 1 / (1 + np.exp(-log_odds)), reasons, worst)

    def describe(self, factor: Factor) -> str:
        """An adverse factor in plain words."""
        variable = next(v for v in self.variables if v.bins.name == factor.variable)
        value = _value_text(factor.value, variable)
        points = f"{factor.shortfall:.0f}"
        return (
            f"{variable.description.capitalize()}: {value} ({points} points below the best group)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "metadata": self.metadata,
            "intercept": self.intercept,
            "variables": [
                {
                    "coefficient": v.coefficient,
                    "description": v.description,
                    "unit": v.unit,
                    **v.bins.to_dict(),
                }
                for v in self.variables
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scorecard:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} model: format is {data.get('format')!r}")
        variables = tuple(
            ScorecardVariable(
                VariableBins.from_dict(v), float(v["coefficient"]), v["description"], v["unit"]
            )
            for v in data["variables"]
        )
        return cls(float(data["intercept"]), variables, dict(data.get("metadata", {})))


def _value_text(value: FeatureValue, variable: ScorecardVariable) -> str:
    if value is None:
        return "not given"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value} {variable.unit}".strip()


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x > -700 else 0.0


@dataclass(frozen=True)
class TrainingSettings:
    """How a scorecard is fitted."""

    binning: BinningSettings = field(default_factory=BinningSettings)
    min_iv: float = 0.02
    """Variables with a lower information value are left out (too weak to help)."""
    regularization_c: float = 1.0
    """Inverse L2 strength of the logistic regression."""


def fit(frame: pd.DataFrame, bad: IntArray, settings: TrainingSettings) -> Scorecard:
    """Fit on ``frame`` (columns named as in ``features.FEATURES``); ``bad`` is 1 for bad.

    Variables below ``min_iv`` are dropped; then, while a coefficient is not positive (a
    riskier bin would earn more points: the WOE and the model disagree), the variable with
    the smallest coefficient is dropped and the model refitted.
    """
    binned: list[VariableBins] = []
    for feature in FEATURES:
        column = frame[feature.name].to_numpy()
        if feature.kind == "numeric":
            fitted = fit_numeric(feature.name, column, bad, settings.binning, feature.unit)
        else:
            fitted = fit_categorical(feature.name, column.astype(object), bad, settings.binning)
        if fitted.iv >= settings.min_iv:
            binned.append(fitted)
    while True:
        design = np.column_stack(
            [np.array([b.woe for b in v.bins] + [0.0])[v.indices(frame[v.name].to_numpy())]
             for v in binned]
        )  # fmt: skip
        model = LogisticRegression(C=settings.regularization_c, max_iter=1000)
        model.fit(design, bad)
        coefficients = model.coef_[0]
        if coefficients.min() > 0 or len(binned) == 1:
            break
        binned.pop(int(np.argmin(coefficients)))
    variables = tuple(
        ScorecardVariable(v, float(c), BY_NAME[v.name].description, BY_NAME[v.name].unit)
        for v, c in zip(binned, coefficients, strict=True)
    )
    return Scorecard(float(model.intercept_[0]), variables)
