"""Discrimination measures of a score: AUC, KS and Gini."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score, roc_curve


@dataclass(frozen=True)
class Discrimination:
    """How well a risk estimate separates bads from goods (higher is better)."""

    auc: float
    """Probability that a random bad is ranked riskier than a random good."""
    ks: float
    """Kolmogorov-Smirnov: largest gap between the bads' and goods' cumulative shares."""
    gini: float
    """2 * AUC - 1."""


def discrimination(bad: npt.NDArray[np.int_], risk: npt.NDArray[np.float64]) -> Discrimination:
    """Measures of ``risk`` (higher = riskier, e.g. a probability of default) against ``bad``."""
    auc = float(roc_auc_score(bad, risk))
    false_positive, true_positive, _ = roc_curve(bad, risk)
    ks = float(np.max(true_positive - false_positive))
    return Discrimination(auc=auc, ks=ks, gini=2 * auc - 1)
