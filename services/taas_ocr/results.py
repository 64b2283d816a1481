"""What the recognisers read, as the API answers it (422 when nothing could be read)."""

from __future__ import annotations

from taas_ocr import recognize
from taas_ocr.schemas import (
    BankCardResult,
    Box,
    DocumentResult,
    FieldValue,
    IdCardChecks,
    IdCardResult,
    ImageInfo,
    Line,
)
from taas_ocr.validation import DecodedImage, ImageError


def _field(reading: recognize.FieldReading) -> FieldValue:
    return FieldValue(value=reading.value, confidence=reading.confidence, source=reading.source)


def _info(image: DecodedImage) -> ImageInfo:
    return ImageInfo(format=image.format, width=image.width, height=image.height)


def id_card_result(image: DecodedImage) -> IdCardResult:
    """Read an ID card front; 422 when nothing on it could be read."""
    reading = recognize.read_id_card(image.pixels)
    values = (reading.name, reading.sex, reading.ethnicity, reading.address, reading.id_number)
    if all(field.value is None for field in values):
        raise ImageError(
            422,
            "no text of a resident ID card front was found in the image",
            hint="send the side with the photo, the card filling most of the image",
        )
    return IdCardResult(
        name=_field(reading.name),
        sex=_field(reading.sex),
        ethnicity=_field(reading.ethnicity),
        birth_date=_field(reading.birth_date),
        address=_field(reading.address),
        id_number=_field(reading.id_number),
        checks=IdCardChecks(
            id_number_checksum=reading.id_number_valid,
            birth_date_matches_id_number=reading.birth_date_matches_id_number,
            sex_matches_id_number=reading.sex_matches_id_number,
        ),
        card_outline_found=reading.card_outline_found,
        image=_info(image),
    )


def bank_card_result(image: DecodedImage) -> BankCardResult:
    """Read a bank card number; 422 when no digits were found."""
    reading = recognize.read_bank_card(image.pixels)
    if reading.number.value is None:
        raise ImageError(
            422,
            "no card number was found in the image",
            hint="send the front of the card, the card filling most of the image",
        )
    return BankCardResult(
        number=_field(reading.number),
        luhn_valid=reading.luhn_valid,
        card_outline_found=reading.card_outline_found,
        image=_info(image),
    )


def document_result(image: DecodedImage) -> DocumentResult:
    """Read a document's lines (an image without text gives no lines, not an error)."""
    reading = recognize.read_document(image.pixels)
    lines = []
    for line in reading.lines:
        xs = [x for x, _ in line.polygon]
        ys = [y for _, y in line.polygon]
        box = Box(x=min(xs), y=min(ys), width=max(xs) - min(xs), height=max(ys) - min(ys))
        lines.append(
            Line(text=line.text, confidence=line.confidence, box=box, polygon=line.polygon)
        )
    return DocumentResult(
        text=reading.text, lines=lines, skew_deg=reading.skew_deg, image=_info(image)
    )
