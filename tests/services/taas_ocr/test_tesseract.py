"""The Tesseract wrapper: installed languages checked with a hint, crashes on a crop contained."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytesseract
import pytest
from taas_ocr import generator, tesseract


@pytest.fixture
def fresh_check() -> Iterator[None]:
    tesseract.check_installed.cache_clear()
    yield
    tesseract.check_installed.cache_clear()


def test_tesseract_and_its_languages_are_installed(fresh_check: None) -> None:
    assert tesseract.check_installed().startswith("5.")


def test_a_missing_language_fails_with_the_install_hint(
    fresh_check: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pytesseract, "get_languages", lambda config="": ["eng", "osd"])
    with pytest.raises(tesseract.TesseractMissingError, match=r"no chi_sim data.*taas stack up"):
        tesseract.check_installed()


def test_a_missing_program_fails_with_the_install_hint(
    fresh_check: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(*args: Any) -> str:
        raise pytesseract.TesseractNotFoundError

    monkeypatch.setattr(pytesseract, "get_tesseract_version", missing)
    with pytest.raises(tesseract.TesseractMissingError, match=r"not installed.*tesseract-ocr"):
        tesseract.check_installed()


def test_tesseract_killed_by_a_signal_reads_nothing_there(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def crash(*args: Any, **kwargs: Any) -> Any:
        raise pytesseract.TesseractError(-8, "")

    caplog.set_level(logging.WARNING, logger=tesseract.log.name)
    monkeypatch.setattr(pytesseract, "image_to_data", crash)
    monkeypatch.setattr(pytesseract, "image_to_string", crash)
    blank = np.full((40, 200), 255, np.uint8)
    assert tesseract.words(blank, "eng", psm=7) == []
    assert tesseract.text(blank, "eng", psm=7) == ""
    assert "signal 8" in caplog.text


def test_other_tesseract_failures_are_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise pytesseract.TesseractError(1, "bad config")

    monkeypatch.setattr(pytesseract, "image_to_data", fail)
    with pytest.raises(pytesseract.TesseractError):
        tesseract.words(np.full((40, 200), 255, np.uint8), "eng", psm=7)


def test_words_come_with_boxes_and_lines() -> None:
    sample = generator.bank_card(0)
    found = tesseract.words(sample.bgr()[300:400], "eng", psm=6, whitelist="0123456789 ")
    assert "".join(w.text for w in found) == sample.truth.number
    assert all(w.width > 0 and w.height > 0 for w in found)
    assert len({w.line for w in found}) == 1
