"""Format checks of an application's identifiers (pure functions, no tenant state).

- Chinese resident ID number (GB 11643-1999): 17 digits and a check character; the check
  character is ``"10X98765432"[sum(digit_i * weight_i) mod 11]``; digits 7-14 are the
  birth date, which must be a real date, not in the future and not before 1900.
- Mainland mobile number: ``1[3-9]`` and nine more digits, after removing spaces, dashes
  and a ``+86``/``86`` prefix.
- Bank card number: 12-19 digits passing the Luhn check.

Normalising first means the blacklist and the velocity counts see one spelling per value.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARACTERS = "10X98765432"
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_SEPARATORS = re.compile(r"[\s\-]")
EARLIEST_BIRTH = dt.date(1900, 1, 1)


def normalize_id_number(value: str) -> str:
    """Upper-case, without surrounding spaces."""
    return value.strip().upper()


def id_check_character(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARACTERS[total % 11]


def id_number_problem(value: str, today: dt.date | None = None) -> str | None:
    """Why an 18-character resident ID number is not valid, or None if it is."""
    number = normalize_id_number(value)
    if not _ID_SHAPE.fullmatch(number):
        return "the ID number is not 17 digits followed by a digit or X"
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "the birth date inside the ID number is not a real date"
    if not EARLIEST_BIRTH <= born <= (today or dt.date.today()):
        return "the birth date inside the ID number is out of range"
    if id_check_character(number[:17]) != number[17]:
        return "the ID number's check character is wrong"
    return None


def normalize_phone(value: str) -> str:
    """Digits only, without the +86/86 country prefix."""
    digits = _SEPARATORS.sub("", value.strip())
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def phone_problem(value: str) -> str | None:
    """Why a number is not a mainland mobile number, or None if it is."""
    if not _MOBILE.fullmatch(normalize_phone(value)):
        return "the phone number is not a mainland mobile number (1[3-9] and 9 digits)"
    return None


def normalize_card(value: str) -> str:
    """Without spaces and dashes."""
    return _SEPARATORS.sub("", value.strip())


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of a string of digits."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_problem(value: str) -> str | None:
    """Why a bank card number is not valid, or None if it is."""
    number = normalize_card(value)
    if not (number.isascii() and number.isdigit() and 12 <= len(number) <= 19):
        return "the bank card number is not 12 to 19 digits"
    if not luhn_valid(number):
        return "the bank card number fails the Luhn check"
    return None


def normalize_device(value: str) -> str:
    """Device ids compare without surrounding spaces, case-insensitively."""
    return value.strip().lower()


def normalize_ip(value: str) -> str:
    """The canonical text of an IPv4/IPv6 address (unchanged if it is not one)."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return value.strip()
