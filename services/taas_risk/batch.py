"""Batch scoring of a CSV file: check it, score every valid row at once, write a CSV back.

The input has one column per credit feature (the names of ``CreditProfile``), optionally
``application_id``; other columns are ignored. A file that is empty, not UTF-8 CSV,
lacks a feature column, or exceeds the limits is refused as a whole (``BatchError``:
a 4xx). A row with a bad value is kept in the output with an ``error`` and no score.
Only the scorecard and the cutoffs apply; the anti-fraud rules need the per-application
call (``POST /decisions``).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from taas_risk.features import FEATURES
from taas_risk.rules import Scoring
from taas_risk.schemas import BatchRequest, BatchResult
from taas_risk.scorecard import Factor, Scorecard

ID_COLUMN = "application_id"


@dataclass(frozen=True)
class BatchLimits:
    """The largest file a batch accepts."""

    max_bytes: int = 50 * 1024 * 1024
    """Bytes of the CSV object (``TAAS_RISK_BATCH_MAX_BYTES``)."""
    max_rows: int = 200_000
    """Data rows, header excluded (``TAAS_RISK_BATCH_MAX_ROWS``)."""

    @classmethod
    def from_env(cls) -> BatchLimits:
        return cls(
            max_bytes=int(os.environ.get("TAAS_RISK_BATCH_MAX_BYTES", cls.max_bytes)),
            max_rows=int(os.environ.get("TAAS_RISK_BATCH_MAX_ROWS", cls.max_rows)),
        )


class BatchError(Exception):
    """The file cannot be scored at all; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, detail: str, hint: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.hint = hint


def output_key_for(request: BatchRequest) -> str:
    """Where the results go; never the input itself."""
    key = request.output_key or (request.input_key.removesuffix(".csv") + ".scored.csv")
    if key.strip("/") == request.input_key.strip("/"):
        raise BatchError(
            422, "output_key must differ from input_key: the input is never overwritten"
        )
    return key


def check_size(size: int, limits: BatchLimits) -> None:
    """413 for a file over the limit (checked before it is read, and again after)."""
    if size > limits.max_bytes:
        raise BatchError(
            413,
            f"the file has {size:,} bytes; the limit is {limits.max_bytes:,}",
            hint="split it into smaller files",
        )


def read_csv(data: bytes, limits: BatchLimits) -> pd.DataFrame:
    """The file as text columns, or a ``BatchError`` saying what is wrong with it."""
    check_size(len(data), limits)
    if not data.strip():
        raise BatchError(422, "the file is empty", hint="upload a CSV with a header row")
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            nrows=limits.max_rows + 1,
        )
    except UnicodeDecodeError:
        raise BatchError(422, "the file is not UTF-8 text") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise BatchError(422, f"the file is not valid CSV: {str(exc).strip()[:200]}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [f.name for f in FEATURES if f.name not in frame.columns]
    if missing:
        raise BatchError(
            422,
            f"the file lacks the columns {', '.join(missing)}",
            hint="the header must name every credit feature: "
            + ", ".join(f.name for f in FEATURES),
        )
    if frame.empty:
        raise BatchError(422, "the file has a header but no rows")
    if len(frame) > limits.max_rows:
        raise BatchError(413, f"the file has more than {limits.max_rows:,} rows", hint="split it")
    return frame


def validate(frame: pd.DataFrame) -> tuple[dict[str, npt.NDArray[Any]], npt.NDArray[np.object_]]:
    """Typed feature columns and one error text per row ("" where the row is valid)."""
    errors = np.full(len(frame), "", dtype=object)
    columns: dict[str, npt.NDArray[Any]] = {}
    for feature in FEATURES:
        text = frame[feature.name].str.strip()
        if feature.kind == "numeric":
            numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
            inside = (numbers >= feature.minimum) & (numbers <= feature.maximum)
            bad = ~inside  # NaN compares false: not a number is bad too
            problem = (
                f"{feature.name} is not a number from {feature.minimum:g} to {feature.maximum:g}; "
            )
            columns[feature.name] = numbers
        else:
            bad = ~text.isin(feature.categories).to_numpy()
            problem = f"{feature.name} is not one of its allowed values; "
            columns[feature.name] = text.to_numpy(dtype=object)
        errors[bad] = errors[bad] + problem
    return columns, errors


def _reason_texts(
    card: Scorecard,
    columns: Mapping[str, npt.NDArray[Any]],
    variables: npt.NDArray[np.intp],
    shortfalls: npt.NDArray[np.float64],
) -> npt.NDArray[np.object_]:
    """Plain-words reasons for one reason slot (one per row, "" where there is none)."""
    texts = np.full(len(variables), "", dtype=object)
    for position, variable in enumerate(card.variables):
        rows = np.flatnonzero(variables == position)
        if rows.size == 0:
            continue
        values = columns[variable.bins.name][rows]
        points = np.round(shortfalls[rows])
        pairs = pd.DataFrame({"value": values, "points": points})
        unique = pairs.drop_duplicates()
        words = {
            (v, p): card.describe(Factor(variable.bins.name, v, -p, 0.0))
            for v, p in zip(unique["value"], unique["points"], strict=True)
        }
        texts[rows] = [words[(v, p)] for v, p in zip(values, points, strict=True)]
    return texts


def score(frame: pd.DataFrame, card: Scorecard, scoring: Scoring) -> pd.DataFrame:
    """The output table: one row per input row, in order."""
    columns, errors = validate(frame)
    valid = errors == ""
    out = pd.DataFrame({"row": np.arange(1, len(frame) + 1)})
    if ID_COLUMN in frame.columns:
        out[ID_COLUMN] = frame[ID_COLUMN].to_numpy()
    score_col = np.full(len(frame), np.nan)
    probability = np.full(len(frame), np.nan)
    decision = np.full(len(frame), "", dtype=object)
    reasons = [np.full(len(frame), "", dtype=object) for _ in range(scoring.top_reasons)]
    if valid.any():
        good = {name: values[valid] for name, values in columns.items()}
        many = card.score_many(good, scoring.scaling, scoring.top_reasons)
        rounded = np.round(many.score, 1)
        score_col[valid] = rounded
        probability[valid] = np.round(many.probability_bad, 4)
        decision[valid] = np.where(
            rounded < scoring.reject_below,
            "reject",
            np.where(rounded < scoring.approve_from, "review", "approve"),
        )
        for slot in range(min(scoring.top_reasons, many.reasons.shape[1])):
            reasons[slot][valid] = _reason_texts(
                card, good, many.reasons[:, slot], many.reason_shortfalls[:, slot]
            )
    out["score"] = score_col
    out["probability_bad"] = probability
    out["decision"] = decision
    for slot, texts in enumerate(reasons, start=1):
        out[f"reason_{slot}"] = texts
    out["error"] = [e.removesuffix("; ") for e in errors]
    return out


def run(
    data: bytes, request: BatchRequest, card: Scorecard, scoring: Scoring, limits: BatchLimits
) -> tuple[bytes, BatchResult]:
    """Score ``data`` (the input file); returns the output file and the summary."""
    output_key = output_key_for(request)
    table = score(read_csv(data, limits), card, scoring)
    counts = table["decision"].value_counts()
    result = BatchResult(
        input_key=request.input_key,
        output_key=output_key,
        rows=len(table),
        scored=int((table["error"] == "").sum()),
        rejected_rows=int((table["error"] != "").sum()),
        decisions={d: int(counts.get(d, 0)) for d in ("approve", "review", "reject")},
    )
    return table.to_csv(index=False).encode(), result
