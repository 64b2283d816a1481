"""Batch scoring: whole-file refusals (4xx), row errors, and agreement with single scoring."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from taas_risk import batch, dataset
from taas_risk.app import load_scorecard
from taas_risk.batch import BatchError, BatchLimits
from taas_risk.features import FEATURES
from taas_risk.rules import Scoring
from taas_risk.schemas import BatchRequest, BatchResult
from taas_risk.scorecard import Scaling, Scorecard

LIMITS = BatchLimits()
REQUEST = BatchRequest(input_key="in/apps.csv")


def german_csv(rows: int = 50) -> bytes:
    frame, _ = dataset.features_and_target(dataset.load_raw().head(rows))
    frame.insert(0, "application_id", [f"app-{i}" for i in range(rows)])
    return frame.to_csv(index=False).encode()


CARD = load_scorecard()


def run(data: bytes, limits: BatchLimits = LIMITS) -> tuple[pd.DataFrame, BatchResult]:
    output, result = batch.run(data, REQUEST, CARD, Scoring(), limits)
    return pd.read_csv(io.BytesIO(output), keep_default_na=False), result


def test_a_valid_file_is_scored_row_by_row_in_order() -> None:
    table, result = run(german_csv(50))
    assert result.rows == result.scored == 50
    assert result.rejected_rows == 0
    assert result.output_key == "in/apps.scored.csv"
    assert sum(result.decisions.values()) == 50
    assert list(table["application_id"]) == [f"app-{i}" for i in range(50)]
    assert list(table["row"]) == list(range(1, 51))
    assert set(table["decision"]) <= {"approve", "review", "reject"}
    assert list(table.columns[-1:]) == ["error"]
    assert [c for c in table.columns if c.startswith("reason_")] == [
        f"reason_{i}" for i in range(1, 5)
    ]


def test_batch_scores_and_reasons_equal_single_scores(card: Scorecard) -> None:
    table, _ = run(german_csv(40))
    frame, _ = dataset.features_and_target(dataset.load_raw().head(40))
    for row in range(len(frame)):
        record = {str(name): value for name, value in frame.iloc[row].items()}
        one = card.score(record, Scaling(), top_n=4)
        assert table["score"][row] == pytest.approx(round(one.score, 1))
        expected = [card.describe(f) for f in one.reasons] + [""] * (4 - len(one.reasons))
        assert [table[f"reason_{i}"][row] for i in range(1, 5)] == expected


def test_bad_values_fail_their_rows_only() -> None:
    frame = pd.read_csv(io.BytesIO(german_csv(5)), dtype=str, keep_default_na=False)
    frame.loc[1, "duration_months"] = "forever"
    frame.loc[2, "purpose"] = "time machine"
    frame.loc[3, "age_years"] = ""
    frame.loc[4, "age_years"] = "7"  # below the minimum
    table, result = run(frame.to_csv(index=False).encode())
    assert (result.rows, result.scored, result.rejected_rows) == (5, 1, 4)
    assert table["error"][0] == ""
    assert "duration_months" in table["error"][1]
    assert "purpose is not one of its allowed values" in table["error"][2]
    assert "age_years" in table["error"][3]
    assert "age_years is not a number from 18 to 120" in table["error"][4]
    assert list(table["decision"][1:]) == [""] * 4


def test_extra_columns_are_ignored_and_whitespace_is_trimmed() -> None:
    frame = pd.read_csv(io.BytesIO(german_csv(3)), dtype=str, keep_default_na=False)
    frame["notes"] = "x"
    frame["purpose"] = " " + frame["purpose"] + " "
    _, result = run(frame.to_csv(index=False).encode())
    assert result.scored == 3


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"", 422, "the file is empty"),
        (b"  \n\n", 422, "the file is empty"),
        (",".join(f.name for f in FEATURES).encode() + b"\n", 422, "no rows"),
        (b"name,amount\nalice,3\n", 422, "lacks the columns checking_account"),
        (b"\xff\xfe\x00garbage\x00\x81", 422, "not UTF-8"),
        (b'a,b\n1,2\n3,4,5,6\n"unterminated', 422, "not valid CSV"),
    ],
)
def test_unusable_files_are_refused_with_a_clear_4xx(
    data: bytes, status: int, message: str
) -> None:
    with pytest.raises(BatchError) as caught:
        run(data)
    assert caught.value.status == status
    assert message in caught.value.detail


def test_a_file_with_some_columns_missing_names_them() -> None:
    frame = pd.read_csv(io.BytesIO(german_csv(3)), dtype=str)
    data = frame.drop(columns=["purpose", "age_years"]).to_csv(index=False).encode()
    with pytest.raises(BatchError) as caught:
        run(data)
    assert caught.value.detail == "the file lacks the columns purpose, age_years"
    assert caught.value.hint is not None
    assert "checking_account" in caught.value.hint


def test_files_over_the_limits_are_refused_with_413() -> None:
    data = german_csv(30)
    with pytest.raises(BatchError) as by_bytes:
        run(data, BatchLimits(max_bytes=len(data) - 1))
    assert by_bytes.value.status == 413
    with pytest.raises(BatchError) as by_rows:
        run(data, BatchLimits(max_rows=29))
    assert by_rows.value.status == 413
    assert "more than 29 rows" in by_rows.value.detail
    _, result = run(data, BatchLimits(max_bytes=len(data), max_rows=30))
    assert result.rows == 30


def test_the_input_is_never_overwritten() -> None:
    request = BatchRequest(input_key="in/apps.csv", output_key="/in/apps.csv")
    with pytest.raises(BatchError) as caught:
        batch.output_key_for(request)
    assert caught.value.status == 422
    assert batch.output_key_for(BatchRequest(input_key="x")) == "x.scored.csv"


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAAS_RISK_BATCH_MAX_BYTES", "1000")
    monkeypatch.setenv("TAAS_RISK_BATCH_MAX_ROWS", "7")
    assert BatchLimits.from_env() == BatchLimits(max_bytes=1000, max_rows=7)


def test_cutoffs_and_top_reasons_follow_the_tenants_scoring(card: Scorecard) -> None:
    data = german_csv(60)
    strict = Scoring(approve_from=9000, reject_below=9000, top_reasons=2)
    output, result = batch.run(data, REQUEST, card, strict, LIMITS)
    table = pd.read_csv(io.BytesIO(output))
    assert result.decisions == {"approve": 0, "review": 0, "reject": 60}
    assert [c for c in table.columns if c.startswith("reason_")] == ["reason_1", "reason_2"]
    assert np.all(table["probability_bad"].between(0, 1))
