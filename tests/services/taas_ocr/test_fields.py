"""Check digits, vocabularies and the repairs applied to what Tesseract reads."""

from __future__ import annotations

import datetime as dt

import pytest
from taas_ocr import fields

# A number made with the GB 11643 weights by hand: body 11010519491231002, sum 167, 167 % 11 = 2.
VALID_ID = "11010519491231002X"


def test_the_check_character_follows_gb_11643() -> None:
    assert fields.id_check_char(VALID_ID[:17]) == "X"
    assert fields.id_number_valid(VALID_ID)
    assert not fields.id_number_valid(VALID_ID[:17] + "1")
    assert fields.birth_date_of(VALID_ID) == dt.date(1949, 12, 31)
    assert fields.sex_of(VALID_ID) == "女"  # 17th digit 2: even


def test_a_number_with_a_right_checksum_but_no_real_birth_date_is_invalid() -> None:
    body = "11010519491332002"  # month 13
    assert not fields.id_number_valid(body + fields.id_check_char(body))


def test_the_check_character_needs_17_digits() -> None:
    with pytest.raises(ValueError, match="17 digits"):
        fields.id_check_char("1234")


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002X",
        "1101 0519 4912 3100 2X",  # spaces
        "11O1051949123IOO2x",  # letters that look like digits
        "11010519491231002K",  # a check character misread as a letter
    ],
)
def test_look_alike_characters_are_mapped_to_digits(raw: str) -> None:
    assert fields.repair_id_number(raw) == (VALID_ID, True)


def test_a_confused_digit_is_fixed_only_when_one_candidate_agrees_with_the_card() -> None:
    misread = "11010549491231002X"  # the 1 of the birth year read as 4
    # Alone, several single fixes pass the checksum: no guess.
    assert fields.repair_id_number(misread) == (misread, False)
    # With the birth date and sex printed on the card, one is left.
    assert fields.repair_id_number(misread, "1949-12-31", "女") == (VALID_ID, True)
    # A misread region digit cannot be told apart from the others that pass.
    assert fields.repair_id_number("41010519491231002X", "1949-12-31", "女")[1] is False


def test_an_id_number_of_the_wrong_length_is_not_guessed() -> None:
    assert fields.repair_id_number("1101051949123100") == ("1101051949123100", False)


def test_luhn() -> None:
    assert fields.luhn_valid("4111111111111111")
    assert not fields.luhn_valid("4111111111111112")
    assert not fields.luhn_valid("4111x11111111111")
    assert fields.luhn_check_digit("411111111111111") == "1"


def test_the_card_number_is_the_luhn_valid_run_of_groups() -> None:
    text = "VALID 12/29\n6222 0212 3456 7890 128\n"
    number = "6222021234567890128"
    assert fields.luhn_valid(number)
    assert fields.best_card_number(text) == (number, True)
    assert fields.best_card_number("6222 0212 3456 7890 129") == ("6222021234567890129", False)
    assert fields.best_card_number("") == ("", False)


def test_dates_are_normalised_or_refused() -> None:
    assert fields.normalise_date("1990", "5", "3") == "1990-05-03"
    assert fields.normalise_date("1990", "2", "30") is None


def test_nearest_snaps_to_the_vocabulary_only_when_unambiguous() -> None:
    assert fields.nearest("汉", fields.ETHNICITIES) == "汉"
    assert fields.nearest("维吾", fields.ETHNICITIES) == "维吾尔"  # one character lost
    assert fields.nearest("X", fields.ETHNICITIES) is None  # as near to 汉 as to 回, 藏, …
    assert fields.nearest("柯尔克孜族族族", fields.ETHNICITIES) is None
    assert len(fields.ETHNICITIES) == 56


def test_edit_distance() -> None:
    assert fields.edit_distance("kitten", "sitting") == 3
    assert fields.edit_distance("", "abc") == 3
    assert fields.edit_distance("岳麓区", "岳苯区") == 1
