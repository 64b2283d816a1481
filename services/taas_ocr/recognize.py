"""Reading ID cards, bank cards and documents: preprocessing, Tesseract, field extraction.

ID card: the card is found and normalised to 856x540, cleaned (contrast stretch, then
denoising as strong as the measured noise), then read with two Tesseract runs:
Simplified Chinese over the text column, whose words are assigned to fields by where
they sit on the card, and English digits over the number strip. Each field is
post-processed against what it may be (vocabulary, date, checksum); a field that comes
out empty or implausible is read again alone. The ID number encodes the birth date and
sex: when its checksum holds it settles a disagreement with them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from taas_ocr import fields, layout, preprocess, tesseract
from taas_ocr.preprocess import Gray

Source = Literal["ocr", "id_number"]
DATE_WHITELIST = "0123456789年月日"
DIGITS = "0123456789"
PAD_PX = 12
MIN_WORD_CONFIDENCE = 10.0
MIN_ADDRESS_CHARS = 8
DOCUMENT_PSM = 6
"""One uniform block: on single-column pages it drops fewer characters than automatic
page segmentation (3), which pays off only for multi-column layouts. chi_sim alone reads
the Latin letters and digits too, and better than chi_sim+eng on mixed lines."""
MIN_SKEW_DEG = 0.3
"""Smaller measured skews are left alone: rotating costs sharpness and Tesseract copes."""
CJK_RE = re.compile(r"[\u3400-\u9fff\u00b7]")  # and the middle dot of minority names
DATE_LOOKALIKES = str.maketrans("工丨|\u3007O", "11100")
DATE_RE = re.compile(r"(\d{4})\D{0,3}?(\d{1,2})\D{0,3}?(\d{1,2})")


@dataclass(frozen=True)
class FieldReading:
    """One field as read: its value (None when unreadable) and how much to trust it."""

    value: str | None
    confidence: float
    """Tesseract's mean word confidence, 0-1 (1.0 for values derived from the ID number)."""
    source: Source = "ocr"
    """``id_number`` when the value was taken from the checksum-valid ID number."""


@dataclass(frozen=True)
class IdCardReading:
    """The fields of an ID card front, and the checks that connect them."""

    name: FieldReading
    sex: FieldReading
    ethnicity: FieldReading
    birth_date: FieldReading
    address: FieldReading
    id_number: FieldReading
    id_number_valid: bool
    """The number has 18 characters, a correct GB 11643 check character and a real date."""
    birth_date_matches_id_number: bool
    sex_matches_id_number: bool
    card_outline_found: bool
    """Whether the card was found on a background (photo) rather than filling the image."""


@dataclass(frozen=True)
class BankCardReading:
    """A bank card number and whether it passes the Luhn check."""

    number: FieldReading
    luhn_valid: bool
    card_outline_found: bool


@dataclass(frozen=True)
class TextLine:
    """One line of a document with its outline in the input image's pixels."""

    text: str
    confidence: float
    polygon: list[tuple[int, int]]
    """Corners clockwise from top-left; a rotated rectangle when the page was deskewed."""


@dataclass(frozen=True)
class DocumentReading:
    """A document's text, line by line, and the rotation that was undone."""

    lines: list[TextLine] = field(default_factory=list)
    skew_deg: float = 0.0

    @property
    def text(self) -> str:
        """All lines joined by newlines."""
        return "\n".join(line.text for line in self.lines)


# --------------------------------------------------------------------------- helpers


def _crop(gray: Gray, region: layout.Region) -> Gray:
    return np.ascontiguousarray(gray[region.y0 : region.y1, region.x0 : region.x1])


def _pad(gray: Gray, pixels: int = PAD_PX) -> Gray:
    """A white border: Tesseract misses characters that touch the image edge."""
    return np.asarray(
        cv2.copyMakeBorder(gray, pixels, pixels, pixels, pixels, cv2.BORDER_CONSTANT, value=255),
        np.uint8,
    )


def _confidence(words: Sequence[tesseract.Word]) -> float:
    return round(sum(w.confidence for w in words) / len(words) / 100, 3) if words else 0.0


def _joined(words: Sequence[tesseract.Word]) -> str:
    ordered = sorted(words, key=lambda w: (w.line, w.left))
    return "".join(w.text for w in ordered).replace(" ", "")


def _cjk(text: str) -> str:
    return "".join(CJK_RE.findall(text))


def _clean_card(gray: Gray) -> tuple[Gray, bool]:
    card, outline = preprocess.normalise_card(gray, layout.CARD_SIZE)
    # Stretch first: the noise estimate and denoising strength are on the 0-255 scale.
    return preprocess.denoise(preprocess.normalise_contrast(card)), outline


def load_gray(image: npt.NDArray[np.uint8]) -> Gray:
    """A decoded image as grey, scaled down if it is larger than preprocessing needs."""
    gray, _ = preprocess.limit_size(preprocess.to_gray(image))
    return gray


# --------------------------------------------------------------------------- ID card


def field_value(name: str, raw: str) -> str | None:
    """The raw text of an ID card field (``name``, ``sex``, ``ethnicity``, ``birth``,
    ``address``) turned into a value it may take, or None."""
    if name == "name":
        return _cjk(raw) or None
    if name == "sex":
        return fields.nearest(_cjk(raw)[:1], fields.SEXES)
    if name == "ethnicity":
        return fields.nearest(_cjk(raw).removesuffix("族"), fields.ETHNICITIES)
    if name == "birth":
        match = DATE_RE.search(re.sub(r"[^\d年月日]", "", _fix_date_lookalikes(raw)))
        return fields.normalise_date(*match.groups()) if match else None
    if name == "address":
        return re.sub(r"^\W+|\W+$|\s+", "", raw) or None
    raise ValueError(name)


def plausible(name: str, value: str | None) -> bool:
    """Whether a field's value looks whole: names have 2-6 characters (minority names
    with a middle dot more), addresses at least 8."""
    if value is None:
        return False
    if name == "name":
        return 2 <= len(value) <= (15 if "\u00b7" in value else 6)
    if name == "address":
        return len(value) >= MIN_ADDRESS_CHARS
    return True


def _fix_date_lookalikes(text: str) -> str:
    # chi_sim reads a lone printed 1 as 工 or 丨, and 0 as the ideographic zero or O.
    return text.translate(DATE_LOOKALIKES)


def _read_field_alone(card: Gray, name: str) -> tuple[str, float]:
    region = layout.ID_FIELDS[name]
    crop = _pad(_crop(card, region))
    # Alone, a field is one line (the address: a block), and a date only digits and 年月日.
    whitelist = DATE_WHITELIST if name == "birth" else None
    found = tesseract.words(crop, "chi_sim", psm=6 if name == "address" else 7, whitelist=whitelist)
    return _joined(found), _confidence(found)


def _read_id_number(card: Gray, birth: str | None, sex: str | None) -> tuple[str, bool, float]:
    """The number strip read as is, then binarised if that does not pass the checksum."""
    strip = _pad(_crop(card, layout.ID_NUMBER))
    readings = []
    for attempt in (strip, preprocess.binarize(strip, block=41, offset=15)):
        found = tesseract.words(attempt, "eng", psm=7, whitelist=DIGITS + "X")
        number, valid = fields.repair_id_number(_joined(found), birth, sex)
        readings.append((number, valid, _confidence(found)))
        if valid:
            return readings[-1]
    return readings[0]


def read_id_card(image: npt.NDArray[np.uint8]) -> IdCardReading:
    """The fields of the ID card front in a decoded (BGR or grey) image."""
    card, outline = _clean_card(load_gray(image))
    area = layout.ID_TEXT_AREA
    found = tesseract.words(_pad(_crop(card, area)), "chi_sim", psm=6)
    readings: dict[str, FieldReading] = {}
    # Punctuation-only words are print patterns and label edges, not text.
    found = [w for w in found if any(c.isalnum() for c in w.text)]
    # Near-zero confidence everywhere: Tesseract guessing at an image without text.
    has_text = any(w.confidence >= MIN_WORD_CONFIDENCE for w in found)
    for name, region in layout.ID_FIELDS.items():
        inside = [
            w
            for w in found
            if region.contains(w.centre[0] + area.x0 - PAD_PX, w.centre[1] + area.y0 - PAD_PX)
        ]
        reading = FieldReading(field_value(name, _joined(inside)), _confidence(inside))
        if not plausible(name, reading.value) and has_text:
            # Tesseract sometimes skips a line of a block: read the field on its own.
            raw, confidence = _read_field_alone(card, name)
            alone = FieldReading(field_value(name, raw), confidence)
            if plausible(name, alone.value) or reading.value is None:
                reading = alone
        readings[name] = reading if reading.value else FieldReading(None, 0.0)
    number, valid, number_confidence = _read_id_number(
        card, readings["birth"].value, readings["sex"].value
    )
    return cross_check(readings, FieldReading(number or None, number_confidence), valid, outline)


def cross_check(
    readings: dict[str, FieldReading], number: FieldReading, valid: bool, outline: bool
) -> IdCardReading:
    """Settle birth date and sex by the ID number when its checksum holds."""
    birth, sex = readings["birth"], readings["sex"]
    birth_matches = sex_matches = False
    if valid and number.value:
        encoded_birth = fields.birth_date_of(number.value)
        encoded_sex = fields.sex_of(number.value)
        birth_matches = encoded_birth is not None and birth.value == encoded_birth.isoformat()
        sex_matches = sex.value == encoded_sex
        if not birth_matches and encoded_birth is not None:
            birth = FieldReading(encoded_birth.isoformat(), 1.0, "id_number")
        if not sex_matches:
            sex = FieldReading(encoded_sex, 1.0, "id_number")
    return IdCardReading(
        name=readings["name"],
        sex=sex,
        ethnicity=readings["ethnicity"],
        birth_date=birth,
        address=readings["address"],
        id_number=number,
        id_number_valid=valid,
        birth_date_matches_id_number=birth_matches,
        sex_matches_id_number=sex_matches,
        card_outline_found=outline,
    )


# --------------------------------------------------------------------------- bank card


def read_bank_card(image: npt.NDArray[np.uint8]) -> BankCardReading:
    """The card number in a decoded image of a bank card front."""
    card, outline = _clean_card(load_gray(image))
    band = preprocess.dark_text(_crop(card, layout.BANK_NUMBER_BAND))
    # The band as it is, binarised, and inverted (in case the polarity guess was wrong):
    # the first reading that passes the Luhn check wins, else the first reading is kept.
    attempts = (band, preprocess.binarize(band, block=51, offset=10), 255 - band)
    readings = []
    for attempt in attempts:
        found = tesseract.words(_pad(attempt), "eng", psm=6, whitelist=DIGITS + " ")
        number, valid = fields.best_card_number(_lines_text(found))
        readings.append((FieldReading(number or None, _confidence(found)), valid))
        if valid:
            break
    number_reading, valid = readings[-1] if readings[-1][1] else readings[0]
    return BankCardReading(number_reading, valid, outline)


def _lines_text(found: Sequence[tesseract.Word]) -> str:
    return "\n".join(" ".join(w.text for w in line) for line in _by_line(found))


# --------------------------------------------------------------------------- documents


def read_document(image: npt.NDArray[np.uint8]) -> DocumentReading:
    """The text lines of a document page, with outlines in the input image's pixels."""
    gray, scale = preprocess.limit_size(preprocess.to_gray(image))
    gray = preprocess.normalise_contrast(preprocess.denoise(gray))
    angle = preprocess.skew_angle(gray)
    rotation = None
    if abs(angle) >= MIN_SKEW_DEG:
        gray, rotation = preprocess.rotate(gray, angle, fill=255)
    else:
        angle = 0.0
    gray, factor = preprocess.upscale_text(gray)
    found = tesseract.words(gray, "chi_sim", psm=DOCUMENT_PSM)
    result = []
    for words in _by_line(found):
        x0 = min(w.left for w in words)
        y0 = min(w.top for w in words)
        x1 = max(w.left + w.width for w in words)
        y1 = max(w.top + w.height for w in words)
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32) / factor
        if rotation is not None:
            corners = rotation.back(corners)
        corners /= scale
        result.append(
            TextLine(
                text=_line_text(words),
                confidence=_confidence(words),
                polygon=[(round(float(x)), round(float(y))) for x, y in corners],
            )
        )
    return DocumentReading(lines=result, skew_deg=round(angle, 2))


def _by_line(found: Sequence[tesseract.Word]) -> list[list[tesseract.Word]]:
    lines: dict[tuple[int, int, int], list[tesseract.Word]] = {}
    for word in found:
        lines.setdefault(word.line, []).append(word)
    return list(lines.values())


def join_lines(found: Sequence[tesseract.Word]) -> str:
    """Words as text: one line per Tesseract line, joined as ``read_document`` does."""
    return "\n".join(_line_text(words) for words in _by_line(found))


def _line_text(words: Sequence[tesseract.Word]) -> str:
    """Words joined with a space only between two Latin/digit words (Chinese has none)."""
    text = ""
    for word in sorted(words, key=lambda w: w.left):
        if text and text[-1].isascii() and word.text[0].isascii():
            text += " "
        text += word.text
    return text
