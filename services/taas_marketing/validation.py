"""Checks on an uploaded transactions CSV, each failure a clear 4xx.

The file is UTF-8 CSV with a header row and, in any order and letter case:

| column | content |
| --- | --- |
| ``customer_id`` | any non-empty text (kept as text: leading zeros survive) |
| ``date`` or ``timestamp`` | ISO 8601 date or date-time; times with an offset are taken in UTC |
| ``amount`` | a number ≥ 0 (net refunds out before uploading) |

Other columns (``channel``, …) are allowed and ignored. ``check_sample`` reads the header
and the first rows, so most broken files are refused when a job is submitted;
``parse_transactions`` reads everything and runs inside the job.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from taas_marketing.errors import FileTooLarge, InvalidFile

REQUIRED = ("customer_id", "amount")
DATE_COLUMNS = ("date", "timestamp")
EXPECTED = "customer_id, date (or timestamp), amount; other columns are ignored"
HEADER_SCAN_BYTES = 64 * 1024
SHOWN_ERRORS = 5
SAMPLE_ROWS = 1000


@dataclass(frozen=True)
class Limits:
    """How much one job may read (the module's memory is sized from these)."""

    max_bytes: int = 128 * 2**20
    """Largest uploaded file (128 MiB holds about 4 million transactions)."""
    max_rows: int = 4_000_000
    """Most transactions in one file."""


def check_size(size: int, limits: Limits) -> None:
    """413 when the file is over ``limits.max_bytes``, 422 when it is empty."""
    if size > limits.max_bytes:
        raise FileTooLarge(
            f"the file has {size:,} bytes; this module reads at most {limits.max_bytes:,}",
            hint="split the file by period or by customer range and run one job per part",
        )
    if size == 0:
        raise InvalidFile("the file is empty", hint=f"upload a CSV with the columns {EXPECTED}")


def check_header(data: bytes, limits: Limits) -> dict[str, str]:
    """Size, encoding and columns of the file; returns {file column: canonical name}."""
    check_size(len(data), limits)
    head = data[:HEADER_SCAN_BYTES].removeprefix(b"\xef\xbb\xbf")
    if not head.strip():
        raise InvalidFile("the file is empty", hint=f"upload a CSV with the columns {EXPECTED}")
    end = head.find(b"\n")
    if end < 0 and len(data) > HEADER_SCAN_BYTES:
        raise InvalidFile(
            f"no line break in the first {HEADER_SCAN_BYTES:,} bytes: this is not a CSV file"
        )
    try:
        line = (head if end < 0 else head[:end]).decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        raise InvalidFile(
            "the header row is not UTF-8 text", hint="save the file as UTF-8 CSV"
        ) from None
    if end < 0 or not head[end + 1 :].strip():
        raise InvalidFile(
            "the file has a header but no transactions",
            hint="one line per transaction after the header row",
        )
    columns = next(csv.reader([line]), [])
    return _map_columns(columns)


def _map_columns(columns: list[str]) -> dict[str, str]:
    canonical = [column.strip().lower() for column in columns]
    duplicates = sorted({name for name in canonical if name and canonical.count(name) > 1})
    if duplicates:
        raise InvalidFile(f"columns appear twice: {', '.join(duplicates)}")
    date_column = next((name for name in DATE_COLUMNS if name in canonical), None)
    missing = [name for name in REQUIRED if name not in canonical]
    if date_column is None:
        missing.append("date")
    if missing:
        hint = f"expected columns: {EXPECTED}"
        if len(columns) == 1 and any(sep in columns[0] for sep in (";", "\t", "|")):
            hint += "; the file seems to use another separator than a comma"
        raise InvalidFile(
            f"missing column(s): {', '.join(missing)}; found: {', '.join(columns) or 'none'}",
            hint=hint,
        )
    wanted = {*REQUIRED, date_column}
    return {
        original: ("date" if name == date_column else name)
        for original, name in zip(columns, canonical, strict=True)
        if name in wanted
    }


def check_sample(data: bytes, limits: Limits, rows: int = SAMPLE_ROWS) -> None:
    """Header and the first ``rows`` transactions: the quick check made at submission."""
    parse_transactions(data, limits, rows=rows)


def parse_transactions(data: bytes, limits: Limits, rows: int | None = None) -> pd.DataFrame:
    """The transactions: ``customer_id`` (str), ``date`` (datetime64), ``amount`` (float64).

    Reads the first ``rows`` only when given. Raises ``InvalidFile`` (422) naming the first
    bad lines, ``FileTooLarge`` (413).
    """
    mapping = check_header(data, limits)
    id_column = next(original for original, name in mapping.items() if name == "customer_id")
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            usecols=list(mapping),
            dtype={id_column: str},
            encoding="utf-8-sig",
            nrows=rows,
            keep_default_na=False,  # "NA" may be a customer id; only empty cells are missing
            na_values=[""],
        )
    except UnicodeDecodeError:
        raise InvalidFile("the file is not UTF-8 text", hint="save the file as UTF-8 CSV") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise InvalidFile(f"the file is not a well-formed CSV: {exc}") from None
    frame = frame.rename(columns=mapping)
    if frame.empty:
        raise InvalidFile(
            "the file has a header but no transactions",
            hint="one line per transaction after the header row",
        )
    if len(frame) > limits.max_rows:
        raise FileTooLarge(
            f"the file has {len(frame):,} transactions; this module reads at most "
            f"{limits.max_rows:,}",
            hint="split the file by period or by customer range and run one job per part",
        )
    return pd.DataFrame(
        {
            "customer_id": _customer_ids(frame["customer_id"]),
            "date": _dates(frame["date"]),
            "amount": _amounts(frame["amount"]),
        }
    )


def _customer_ids(raw: pd.Series) -> pd.Series:
    ids = raw.str.strip()
    _reject(ids.isna() | (ids == ""), raw, "customer_id is empty")
    return ids


def _dates(raw: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(raw, format="ISO8601", errors="coerce", utc=True)
    _reject(parsed.isna(), raw, "date is not an ISO 8601 date (YYYY-MM-DD)")
    return parsed.dt.tz_localize(None)


def _amounts(raw: pd.Series) -> pd.Series:
    values = pd.to_numeric(raw, errors="coerce").astype(np.float64)
    _reject(~np.isfinite(values), raw, "amount is not a number")
    _reject(values < 0, raw, "amount is negative (net refunds out before uploading)")
    return values


def _reject(bad: pd.Series | np.ndarray, raw: pd.Series, problem: str) -> None:
    """422 naming up to ``SHOWN_ERRORS`` offending lines (line 1 is the header)."""
    rows = np.flatnonzero(np.asarray(bad))
    if rows.size == 0:
        return
    shown = [f"line {row + 2}: {problem} ({_shown(raw.iloc[row])})" for row in rows[:SHOWN_ERRORS]]
    raise InvalidFile(
        f"{len(rows):,} transaction(s) are unusable: {problem}",
        errors=shown,
        hint="fix these lines and upload the file again; line numbers count the header as 1",
    )


def _shown(value: Any) -> str:
    return "empty" if pd.isna(value) else repr(str(value))
