"""The data, the fixed holdout split, and the shipped model being the one training makes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from taas_risk import dataset, train
from taas_risk.binning import BinningSettings, IntArray
from taas_risk.features import FEATURES
from taas_risk.metrics import Discrimination
from taas_risk.scorecard import Scorecard, TrainingSettings, fit


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame]:
    return dataset.holdout_split(dataset.load_raw())


def test_the_data_is_the_statlog_german_credit_set() -> None:
    raw = dataset.load_raw()
    assert raw.shape == (1000, 21)
    assert (raw["creditability"] == "bad").sum() == 300
    frame, bad = dataset.features_and_target(raw)
    assert list(frame.columns) == [f.name for f in FEATURES]
    assert int(bad.sum()) == 300
    for feature in FEATURES:
        if feature.kind == "categorical":
            assert set(frame[feature.name]) <= set(feature.categories), feature.name
        else:
            assert frame[feature.name].between(feature.minimum, feature.maximum).all()


def test_the_holdout_is_fixed_stratified_and_30_percent(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    training, holdout = split
    assert (len(training), len(holdout)) == (700, 300)
    assert (holdout["creditability"] == "bad").sum() == 90
    _, again_holdout = dataset.holdout_split(dataset.load_raw())
    assert list(again_holdout.index) == list(holdout.index)
    assert not set(training.index) & set(holdout.index)


def test_the_shipped_model_is_what_training_with_its_settings_gives(
    split: tuple[pd.DataFrame, pd.DataFrame], card: Scorecard
) -> None:
    training, holdout = split
    frame, bad = dataset.features_and_target(training.reset_index(drop=True))
    chosen = card.metadata["settings"]
    settings = TrainingSettings(
        binning=BinningSettings(**chosen["binning"]),
        min_iv=chosen["min_iv"],
        regularization_c=chosen["regularization_c"],
    )
    refitted = fit(frame, bad, settings)
    assert [v.bins.name for v in refitted.variables] == [v.bins.name for v in card.variables]
    for mine, shipped in zip(refitted.variables, card.variables, strict=True):
        assert [b.label for b in mine.bins.bins] == [b.label for b in shipped.bins.bins]
        assert list(mine.woes) == pytest.approx(list(shipped.woes))
        assert mine.coefficient == pytest.approx(shipped.coefficient)
    assert refitted.intercept == pytest.approx(card.intercept)
    holdout_frame, holdout_bad = dataset.features_and_target(holdout.reset_index(drop=True))
    measured = train.evaluate(card, holdout_frame, holdout_bad)
    assert measured.auc == pytest.approx(card.metadata["holdout"]["auc"], abs=1e-4)
    assert measured.ks == pytest.approx(card.metadata["holdout"]["ks"], abs=1e-4)
    assert card.metadata["split"]["seed"] == dataset.SEED


def test_settings_are_chosen_by_the_mean_of_cv_auc_and_ks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A made-up CV: the best AUC alone is C=1.0, p=0.05; the best mean of AUC and KS is
    # C=0.1, p=0.5 (slightly lower AUC, much higher KS).
    figures = {
        (1.0, 0.05): (0.80, 0.40),
        (0.1, 0.5): (0.79, 0.50),
    }

    def fake_cv(frame: pd.DataFrame, bad: IntArray, settings: TrainingSettings) -> Discrimination:
        key = (settings.regularization_c, settings.binning.max_split_p_value)
        auc, ks = figures.get(key, (0.70, 0.30))
        return Discrimination(auc=auc, ks=ks, gini=2 * auc - 1)

    monkeypatch.setattr(train, "cross_validate", fake_cv)
    settings, cv = train.choose_settings(pd.DataFrame(), np.zeros(0, dtype=np.intp))
    assert (settings.regularization_c, settings.binning.max_split_p_value) == (0.1, 0.5)
    assert (cv.auc, cv.ks) == (0.79, 0.50)
    assert train.selection_score(cv) == pytest.approx(0.645)


def test_cross_validation_reports_mean_auc_ks_and_gini(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    training, _ = split
    frame, bad = dataset.features_and_target(training.reset_index(drop=True))
    cv = train.cross_validate(frame, bad, TrainingSettings(regularization_c=0.1))
    assert 0.7 < cv.auc < 0.9
    assert 0.3 < cv.ks < 0.7
    assert cv.gini == pytest.approx(2 * cv.auc - 1)


def test_the_shipped_model_records_its_cross_validated_figures(card: Scorecard) -> None:
    cv = card.metadata["cv"]
    assert set(cv) == {"auc", "ks", "gini"}
    assert 0.5 < cv["ks"] < cv["auc"] < 1
