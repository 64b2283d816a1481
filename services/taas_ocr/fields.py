"""What the fields of a card may be: check digits, fixed vocabularies and their repairs.

Pure functions shared by the recogniser (to validate and repair what Tesseract read) and
the synthetic card generator (to write valid ground truth).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator

# GB 11643-1999: weights of the first 17 digits; the weighted sum mod 11 indexes CHECK_CHARS.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
ID_NUMBER_RE = re.compile(r"^\d{17}[\dX]$")

SEXES = ("男", "女")
# The 56 ethnic groups as printed on the card (without the trailing 族).
ETHNICITIES = (
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白",
    "土家", "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡",
    "纳西", "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬",
    "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安",
    "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
)  # fmt: skip

# What OCR confuses with a digit (Latin and CJK look-alikes), tried when a checksum fails.
DIGIT_LOOKALIKES = {
    "O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "i": "1",
    "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8", "G": "6", "b": "6", "g": "9", "q": "9",
    "T": "7", "A": "4", "x": "X", "\u00d7": "X", "K": "X",
}  # fmt: skip
# Digits OCR commonly mistakes for one another, tried one position at a time.
DIGIT_CONFUSIONS = {
    "0": "896", "1": "74", "2": "7", "3": "8", "4": "1", "5": "6", "6": "58", "7": "12",
    "8": "309", "9": "80", "X": "",
}  # fmt: skip


def id_check_char(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("an ID number's body is 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def id_number_valid(number: str) -> bool:
    """True for 18 characters with a correct GB 11643 check character and a real birth date."""
    if not ID_NUMBER_RE.match(number) or id_check_char(number[:17]) != number[17]:
        return False
    return birth_date_of(number) is not None


def birth_date_of(number: str) -> dt.date | None:
    """The birth date encoded in digits 7-14 of an ID number, if it is a real date."""
    try:
        return dt.datetime.strptime(number[6:14], "%Y%m%d").date()
    except ValueError:
        return None


def sex_of(number: str) -> str:
    """The sex encoded in digit 17 of an ID number: odd is 男, even is 女."""
    return SEXES[0] if int(number[16]) % 2 else SEXES[1]


def luhn_valid(number: str) -> bool:
    """The Luhn (mod 10) check that bank card numbers carry."""
    if not number.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def luhn_check_digit(body: str) -> str:
    """The digit that makes ``body + digit`` pass the Luhn check."""
    return next(d for d in "0123456789" if luhn_valid(body + d))


def digits_only(text: str) -> str:
    """``text`` with look-alike letters mapped to digits and everything else dropped."""
    mapped = "".join(DIGIT_LOOKALIKES.get(char, char) for char in text)
    return "".join(char for char in mapped if char.isdigit() or char == "X")


def _single_substitutions(number: str) -> Iterator[str]:
    for position, char in enumerate(number):
        for replacement in DIGIT_CONFUSIONS.get(char, ""):
            yield number[:position] + replacement + number[position + 1 :]


def repair_id_number(
    raw: str, printed_birth_date: str | None = None, printed_sex: str | None = None
) -> tuple[str, bool]:
    """The ID number in ``raw`` and whether it passes the checksum.

    Letters that look like digits are mapped first. When the checksum still fails, every
    single common digit confusion is tried (and a misread check character); about one
    candidate in eleven passes by chance, so candidates must also agree with the birth
    date and sex printed on the card, when those were read. A fix is kept only if exactly
    one candidate is left: two would be a guess.
    """
    cleaned = digits_only(raw.upper().replace(" ", ""))
    cleaned = cleaned[:17].replace("X", "") + cleaned[17:]  # X only as the check character
    if len(cleaned) != 18:
        return cleaned, False
    if id_number_valid(cleaned):
        return cleaned, True
    passing = {c for c in _single_substitutions(cleaned) if id_number_valid(c)}
    body = cleaned[:17]
    if body.isdigit() and birth_date_of(body) is not None:
        passing.add(body + id_check_char(body))
    if printed_birth_date is not None:
        passing = {c for c in passing if str(birth_date_of(c)) == printed_birth_date}
    if printed_sex is not None:
        passing = {c for c in passing if sex_of(c) == printed_sex}
    if len(passing) == 1:
        return passing.pop(), True
    return cleaned, False


def card_number_candidates(text: str) -> Iterator[str]:
    """Runs of 16-19 digits in ``text`` (groups split by spaces joined), longest first."""
    for line in text.splitlines():
        groups = [digits_only(group).replace("X", "") for group in line.split()]
        groups = [group for group in groups if group]
        for start, end in sorted(
            itertools.combinations(range(len(groups) + 1), 2), key=lambda se: se[0] - se[1]
        ):
            joined = "".join(groups[start:end])
            if 16 <= len(joined) <= 19:
                yield joined


def best_card_number(text: str) -> tuple[str, bool]:
    """The Luhn-valid card number in ``text`` if there is one, else the longest digit run."""
    candidates = list(card_number_candidates(text))
    for candidate in candidates:
        if luhn_valid(candidate):
            return candidate, True
    runs = (digits_only(line).replace("X", "") for line in text.splitlines())
    fallback = max(runs, key=len, default="")
    return (candidates[0] if candidates else fallback), False


def normalise_date(year: str, month: str, day: str) -> str | None:
    """``YYYY-MM-DD`` from the three numbers printed after 出生, or None if not a date."""
    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions, each costing 1."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def nearest(text: str, vocabulary: tuple[str, ...], max_distance: int = 1) -> str | None:
    """The vocabulary entry closest to ``text``, if within ``max_distance`` edits (ties: None)."""
    if text in vocabulary:
        return text
    scored = sorted((edit_distance(text, word), word) for word in vocabulary)
    best_distance, best = scored[0]
    if best_distance > max_distance or (len(scored) > 1 and scored[1][0] == best_distance):
        return None
    return best
