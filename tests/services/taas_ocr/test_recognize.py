"""Recognition on generated cards and documents (fixed seeds, thresholds over a small set).

The benchmark (benchmarks/ocr.py) measures quality on hundreds of cards; these tests keep
a handful so the suite stays quick, and set thresholds a little under the benchmark's
rates so a regression fails without one unlucky card doing so.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from taas_ocr import camera, fields, generator, recognize
from taas_ocr.recognize import FieldReading

ID_FIELDS = ("name", "sex", "ethnicity", "birth_date", "address", "id_number")
SEEDS = range(100, 104)


@pytest.mark.parametrize(("variant", "at_least"), [("clean", 22), ("degraded", 20)])
def test_id_card_fields_are_read(variant: camera.Variant, at_least: int) -> None:
    exact = 0
    for seed in SEEDS:
        sample = generator.id_card(seed, variant)
        reading = recognize.read_id_card(sample.bgr())
        exact += sum(
            getattr(reading, name).value == getattr(sample.truth, name) for name in ID_FIELDS
        )
        # The checksum-valid number is what the card says; its checks are reported.
        assert reading.id_number.value == sample.truth.id_number
        assert reading.id_number_valid
        assert reading.card_outline_found == (variant == "degraded")
    assert exact >= at_least, f"{exact} of {len(SEEDS) * len(ID_FIELDS)} fields exact"


@pytest.mark.parametrize("variant", ["clean", "degraded"])
def test_bank_card_numbers_are_read(variant: camera.Variant) -> None:
    for seed in (100, 101):
        sample = generator.bank_card(seed, variant)
        reading = recognize.read_bank_card(sample.bgr())
        assert reading.number.value == sample.truth.number
        assert reading.luhn_valid


def test_a_rotated_document_is_read_with_line_outlines_in_the_input_image() -> None:
    sample = generator.document(100, "degraded")
    reading = recognize.read_document(sample.bgr())
    truth = "\n".join(sample.truth.lines)
    assert fields.edit_distance(reading.text, truth) / len(truth) < 0.05
    assert len(reading.lines) == len(sample.truth.lines)
    assert abs(reading.skew_deg) >= 3
    # Each outline is the text line rotated back into the photo: tilted by the skew.
    for line in reading.lines:
        (x0, y0), (x1, y1) = line.polygon[0], line.polygon[1]
        tilt = math.degrees(math.atan2(y0 - y1, x1 - x0))
        assert tilt == pytest.approx(-reading.skew_deg, abs=0.5)
        assert all(0 <= x <= sample.image.width and 0 <= y <= sample.image.height
                   for x, y in line.polygon)  # fmt: skip


def test_a_blank_image_gives_no_fields() -> None:
    reading = recognize.read_id_card(np.full((540, 856, 3), 255, np.uint8))
    assert reading.id_number.value is None
    assert reading.name.value is None


def readings(birth: str | None, sex: str | None) -> dict[str, FieldReading]:
    return {
        "name": FieldReading("王芳", 0.9),
        "sex": FieldReading(sex, 0.9),
        "ethnicity": FieldReading("汉", 0.9),
        "birth": FieldReading(birth, 0.9),
        "address": FieldReading("北京市朝阳区人民路1号", 0.9),
    }


NUMBER = FieldReading("11010519491231002X", 0.9)


def test_the_checksum_valid_number_settles_birth_date_and_sex() -> None:
    agreeing = recognize.cross_check(readings("1949-12-31", "女"), NUMBER, True, False)
    assert agreeing.birth_date_matches_id_number
    assert agreeing.sex_matches_id_number
    assert agreeing.birth_date.source == agreeing.sex.source == "ocr"

    misread = recognize.cross_check(readings("1949-12-21", None), NUMBER, True, False)
    assert not misread.birth_date_matches_id_number
    assert misread.birth_date == FieldReading("1949-12-31", 1.0, "id_number")
    assert misread.sex == FieldReading("女", 1.0, "id_number")


def test_an_invalid_number_settles_nothing() -> None:
    result = recognize.cross_check(readings("1949-12-21", "男"), NUMBER, False, False)
    assert result.birth_date.value == "1949-12-21"
    assert result.sex.value == "男"
    assert not result.birth_date_matches_id_number
