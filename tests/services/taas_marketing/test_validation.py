"""Malformed transaction files are refused with errors that say what to fix."""

from __future__ import annotations

import pytest
from taas_marketing.errors import FileTooLarge, InvalidFile
from taas_marketing.validation import Limits, check_header, check_sample, parse_transactions

LIMITS = Limits()
GOOD = b"customer_id,date,amount,channel\nC1,2025-01-02,10.5,web\nC2,2025-02-03,7,branch\n"


def test_a_good_file_parses_to_typed_columns() -> None:
    frame = parse_transactions(GOOD, LIMITS)
    assert list(frame.columns) == ["customer_id", "date", "amount"]
    assert list(frame["customer_id"]) == ["C1", "C2"]
    assert str(frame["date"].dtype).startswith("datetime64")
    assert list(frame["amount"]) == [10.5, 7.0]


def test_header_case_order_bom_and_timestamps_are_accepted() -> None:
    data = "\ufeffAmount , Timestamp,Customer_ID\n3,2025-01-02T10:00:00+08:00,007\n".encode()
    frame = parse_transactions(data, LIMITS)
    assert frame.loc[0, "customer_id"] == "007"  # ids stay text: leading zeros survive
    assert str(frame.loc[0, "date"]) == "2025-01-02 02:00:00"  # offsets are taken in UTC
    assert frame.loc[0, "amount"] == 3.0


def test_only_empty_cells_are_missing_values() -> None:
    frame = parse_transactions(
        b"customer_id,date,amount\nNA,2025-01-02,1\nnull,2025-01-02,2\n", LIMITS
    )
    assert list(frame["customer_id"]) == ["NA", "null"]
    with pytest.raises(InvalidFile) as raised:
        parse_transactions(GOOD + b"C3,2025-01-05,\n", LIMITS)
    assert raised.value.errors == ["line 4: amount is not a number (empty)"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"customer_id,date,value\nC1,2025-01-01,3\n",
            "missing column(s): amount; found: customer_id, date, value",
        ),
        (b"id,day,amount\nC1,2025-01-01,3\n", "missing column(s): customer_id, date"),
        (b"customer_id,date,amount,amount\nC1,2025-01-01,3,4\n", "columns appear twice: amount"),
        (b"", "the file is empty"),
        (b"\n \n", "the file is empty"),
        (b"customer_id,date,amount\n", "a header but no transactions"),
        (b"customer_id,date,amount", "a header but no transactions"),
    ],
)
def test_wrong_columns_and_empty_files(data: bytes, message: str) -> None:
    with pytest.raises(InvalidFile) as raised:
        check_header(data, LIMITS)
    assert message in raised.value.detail
    assert raised.value.status == 422


def test_another_separator_gets_a_hint() -> None:
    with pytest.raises(InvalidFile) as raised:
        check_header(b"customer_id;date;amount\nC1;2025-01-01;3\n", LIMITS)
    assert "separator" in (raised.value.hint or "")


def test_too_large_files_and_too_many_rows_are_413() -> None:
    with pytest.raises(FileTooLarge) as raised:
        check_header(GOOD, Limits(max_bytes=20))
    assert raised.value.status == 413
    assert f"{len(GOOD):,} bytes" in raised.value.detail
    with pytest.raises(FileTooLarge, match="2 transactions"):
        parse_transactions(GOOD, Limits(max_rows=1))


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (b"C3,2025-01-05,12;50", "amount is not a number"),
        (b"C3,2025-01-05,", "amount is not a number"),
        (b"C3,2025-01-05,inf", "amount is not a number"),
        (b"C3,2025-01-05,-4", "amount is negative"),
        (b"C3,05/01/2025,4", "date is not an ISO 8601 date"),
        (b"C3,,4", "date is not an ISO 8601 date"),
        (b",2025-01-05,4", "customer_id is empty"),
    ],
)
def test_bad_values_name_their_lines(row: bytes, problem: str) -> None:
    with pytest.raises(InvalidFile) as raised:
        parse_transactions(GOOD + row + b"\n", LIMITS)
    error = raised.value
    assert problem in error.detail
    assert error.errors[0].startswith("line 4: ")
    assert "1 transaction(s)" in error.detail


def test_only_the_first_lines_are_shown() -> None:
    rows = b"".join(b"C9,2025-01-05,x\n" for _ in range(20))
    with pytest.raises(InvalidFile) as raised:
        parse_transactions(GOOD + rows, LIMITS)
    assert "20 transaction(s)" in raised.value.detail
    assert len(raised.value.errors) == 5


def test_broken_csv_and_other_encodings_are_refused() -> None:
    with pytest.raises(InvalidFile, match="well-formed CSV"):
        parse_transactions(GOOD + b'C3,2025-01-05,4,web,extra,"\n', LIMITS)
    with pytest.raises(InvalidFile, match="UTF-8"):
        parse_transactions(GOOD + "C\u00e9,2025-01-05,4,web\n".encode("latin-1"), LIMITS)
    with pytest.raises(InvalidFile, match="not a CSV"):
        check_header(b"x" * 70_000, LIMITS)


def test_the_sample_check_reads_only_the_first_rows() -> None:
    late_error = GOOD + b"".join(b"C5,2025-01-05,1\n" for _ in range(10)) + b"C6,2025-01-05,oops\n"
    check_sample(late_error, LIMITS, rows=5)  # the bad line is beyond the sample
    with pytest.raises(InvalidFile):
        check_sample(late_error, LIMITS, rows=100)
