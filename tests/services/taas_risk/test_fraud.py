"""Identifier checks: GB 11643 ID numbers, mainland mobiles, Luhn card numbers."""

from __future__ import annotations

import datetime as dt

import pytest
from taas_risk import fraud

TODAY = dt.date(2025, 6, 1)
FULL_WIDTH = {ord(d): ord(d) + 0xFEE0 for d in "0123456789"}
"""Full-width digits are digits to ``str.isdigit`` and ``\\d``, but not ASCII."""


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # the example printed in GB 11643-1999
        "11010519491231002x",  # a lower-case x is the same check character
        " 440306199001011236 ",
        "310115198506154429",
        "11010520000229003X",  # 29 February of a leap year
    ],
)
def test_valid_id_numbers_pass(number: str) -> None:
    assert fraud.id_number_problem(number, TODAY) is None


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("110105194912310021", "check character"),
        ("11010519491231002Y", "17 digits"),
        ("1101051949123100", "17 digits"),
        ("11010519491331002X", "real date"),  # month 13
        ("110105190002290030", "real date"),  # 1900 was not a leap year
        ("110105203001010015", "out of range"),  # born in the future
        ("110105189912310012", "out of range"),  # before 1900
        ("11010519491231002X".translate(FULL_WIDTH), "17 digits"),
    ],
)
def test_invalid_id_numbers_say_why(number: str, problem: str) -> None:
    found = fraud.id_number_problem(number, TODAY)
    assert found is not None
    assert problem in found


def test_check_character_follows_the_weights() -> None:
    # 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4+2*2 = 167
    # 167 mod 11 = 2 -> "10X98765432"[2] = "X"
    assert fraud.id_check_character("11010519491231002") == "X"


@pytest.mark.parametrize(
    "phone", ["13800138000", "+86 138 0013 8000", "86-199-1234-5678", "0086 17712345678"]
)
def test_mainland_mobile_numbers_pass(phone: str) -> None:
    assert fraud.phone_problem(phone) is None


@pytest.mark.parametrize(
    "phone", ["12345678901", "1380013800", "138001380001", "+1 415 555 0100", "1380013800a", ""]
)
def test_other_numbers_fail(phone: str) -> None:
    assert fraud.phone_problem(phone) is not None


def test_phone_normalisation_gives_one_spelling() -> None:
    spellings = ["13800138000", "+86 138 0013 8000", "86-138-0013-8000", "0086 13800138000"]
    assert {fraud.normalize_phone(s) for s in spellings} == {"13800138000"}


@pytest.mark.parametrize(
    "card", ["4111111111111111", "6222 0212 3456 7894", "6217000012345678907", "378282246310005"]
)
def test_luhn_valid_cards_pass(card: str) -> None:
    assert fraud.card_problem(card) is None


@pytest.mark.parametrize(
    ("card", "problem"),
    [
        ("4111111111111112", "Luhn"),
        ("6222021234567895", "Luhn"),
        ("12345678901", "12 to 19 digits"),
        ("12345678901234567890", "12 to 19 digits"),
        ("4111-1111-1111-111a", "12 to 19 digits"),
    ],
)
def test_invalid_cards_say_why(card: str, problem: str) -> None:
    found = fraud.card_problem(card)
    assert found is not None
    assert problem in found


def test_luhn_on_the_textbook_number() -> None:
    assert fraud.luhn_valid("79927398713")
    assert not fraud.luhn_valid("79927398710")


def test_devices_and_ips_are_normalised() -> None:
    assert fraud.normalize_device(" ABC-1 ") == "abc-1"
    assert fraud.normalize_ip("2001:0db8:0000:0000:0000:0000:0000:0001") == "2001:db8::1"
    assert fraud.normalize_ip(" 203.0.113.7 ") == "203.0.113.7"
    assert fraud.normalize_ip("not-an-ip") == "not-an-ip"
