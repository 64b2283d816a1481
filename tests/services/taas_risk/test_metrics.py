"""AUC, KS and Gini on cases whose values are known."""

from __future__ import annotations

import numpy as np
import pytest
from taas_risk.metrics import discrimination


def test_perfect_ranking() -> None:
    measured = discrimination(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]))
    assert (measured.auc, measured.ks, measured.gini) == (1.0, 1.0, 1.0)


def test_reversed_ranking() -> None:
    measured = discrimination(np.array([0, 0, 1, 1]), np.array([0.9, 0.8, 0.2, 0.1]))
    assert measured.auc == 0.0
    assert measured.gini == -1.0


def test_a_known_partial_ranking() -> None:
    # pairs (bad, good): (0.6 > 0.2), (0.6 > 0.7 no), (0.9 > both) -> 3 of 4 -> AUC 0.75
    measured = discrimination(np.array([0, 0, 1, 1]), np.array([0.2, 0.7, 0.6, 0.9]))
    assert measured.auc == pytest.approx(0.75)
    assert measured.gini == pytest.approx(0.5)
    assert measured.ks == pytest.approx(0.5)
