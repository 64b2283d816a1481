"""The synthetic cards and documents: valid ground truth, reproducible, really degraded."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from taas_ocr import fields, generator


@pytest.mark.parametrize("seed", range(200))
def test_id_card_truth_is_consistent(seed: int) -> None:
    truth = generator.id_card_truth(seed)
    assert fields.id_number_valid(truth.id_number)
    assert fields.birth_date_of(truth.id_number) == dt.date.fromisoformat(truth.birth_date)
    assert fields.sex_of(truth.id_number) == truth.sex
    assert truth.ethnicity in fields.ETHNICITIES
    assert 2 <= len(truth.name) <= 4
    prefixes = dict(generator.DIVISIONS)
    assert truth.address.startswith(prefixes[truth.id_number[:6]])


@pytest.mark.parametrize("seed", range(200))
def test_bank_card_numbers_pass_luhn(seed: int) -> None:
    number = generator.bank_card_truth(seed).number
    assert len(number) in (16, 19)
    assert fields.luhn_valid(number)


def test_a_seed_always_gives_the_same_image_and_truth() -> None:
    first, again = generator.id_card(5, "degraded"), generator.id_card(5, "degraded")
    assert first.truth == again.truth == generator.id_card_truth(5)
    assert np.array_equal(np.asarray(first.image), np.asarray(again.image))
    assert generator.id_card(6).truth != first.truth


def test_clean_cards_are_the_card_and_degraded_ones_a_photo_of_it() -> None:
    clean = generator.id_card(1)
    assert clean.image.size == generator.CARD_SIZE
    degraded = generator.id_card(1, "degraded")
    assert degraded.truth == clean.truth
    # On a table, rotated: larger than the card unless scaled down a lot, and different.
    assert degraded.image.size != clean.image.size


def test_documents_have_a_title_and_body_lines() -> None:
    sample = generator.document(3)
    assert sample.truth.lines[0] in generator.DOCUMENT_TITLES
    assert 6 <= len(sample.truth.lines) <= 9
    assert sample.image.width == 1000


def test_samples_encode_as_image_files() -> None:
    sample = generator.bank_card(0)
    assert sample.encoded("PNG").startswith(b"\x89PNG")
    assert sample.encoded("JPEG").startswith(b"\xff\xd8")
