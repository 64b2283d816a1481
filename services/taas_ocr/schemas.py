"""Request and response bodies of the OCR module's API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImageReference(_Body):
    """A JSON request: the image in the tenant's storage, or inline for small images."""

    object: Annotated[str | None, Field(max_length=1024)] = None
    """Key of the image in the tenant's storage (under this module's prefix)."""
    image_base64: str | None = None
    """The image itself, base64-encoded (for large images send the bytes as the body)."""
    store_result: bool = False
    """Also write the result as JSON to the tenant's storage."""
    result_key: Annotated[str | None, Field(max_length=1024)] = None
    """Where to store the result (default ``results/<endpoint>/<request id>.json``)."""

    @model_validator(mode="after")
    def _one_source(self) -> ImageReference:
        if (self.object is None) == (self.image_base64 is None):
            raise ValueError("give exactly one of `object` and `image_base64`")
        return self


class FieldValue(_Body):
    """One field as read."""

    value: str | None
    """The value, normalised (dates as YYYY-MM-DD); null when it could not be read."""
    confidence: float
    """0-1: Tesseract's mean word confidence; 1.0 for values taken from the ID number."""
    source: Literal["ocr", "id_number"] = "ocr"
    """``id_number`` when the value came from the checksum-valid ID number instead."""


class ImageInfo(_Body):
    """What was decoded."""

    format: str
    width: int
    height: int


class IdCardChecks(_Body):
    """How the fields of the card agree with each other."""

    id_number_checksum: bool
    """The number has a correct GB 11643 check character and a real birth date."""
    birth_date_matches_id_number: bool
    """The printed birth date read the same as the one encoded in the number."""
    sex_matches_id_number: bool
    """The printed sex read the same as the one encoded in the number."""


class _Result(_Body):
    image: ImageInfo
    stored_as: str | None = None
    """The storage key the result was written to, when ``store_result`` was asked."""


class IdCardResult(_Result):
    """The fields of a resident ID card front (人像面)."""

    name: FieldValue
    sex: FieldValue
    ethnicity: FieldValue
    """As printed, without 族 (e.g. 汉, 蒙古)."""
    birth_date: FieldValue
    address: FieldValue
    id_number: FieldValue
    checks: IdCardChecks
    card_outline_found: bool
    """True when the card was found on a background (a photo), false for a scan."""


class BankCardResult(_Result):
    """The number of a bank card."""

    number: FieldValue
    luhn_valid: bool
    card_outline_found: bool


class Box(_Body):
    """An axis-aligned rectangle in the input image's pixels."""

    x: int
    y: int
    width: int
    height: int


class Line(_Body):
    """One line of text."""

    text: str
    confidence: float
    box: Box
    """The smallest upright rectangle around ``polygon``."""
    polygon: list[tuple[int, int]]
    """Corners clockwise from top-left; a rotated rectangle when the page was deskewed."""


class DocumentResult(_Result):
    """A document's text, line by line, with where each line is."""

    text: str
    lines: list[Line]
    skew_deg: float
    """The rotation (degrees, counter-clockwise) that was undone before reading."""


class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    hint: str | None = None
