"""Calling Tesseract (through pytesseract): words with boxes, plain text, and a clear error
when the program or its language data is missing."""

from __future__ import annotations

import functools
import logging
import os
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytesseract

log = logging.getLogger(__name__)
LANGUAGES = ("chi_sim", "eng")
OEM_LSTM = 1


class TesseractMissingError(RuntimeError):
    """Tesseract or one of its language packs is not installed on this machine."""


@functools.cache
def check_installed() -> str:
    """Tesseract's version; raises when it or the chi_sim/eng data is missing."""
    hint = (
        "install the Debian packages tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng "
        "(`taas stack up` does)"
    )
    try:
        version = str(pytesseract.get_tesseract_version())
        languages = set(pytesseract.get_languages(config=""))
    except pytesseract.TesseractNotFoundError as exc:
        raise TesseractMissingError(f"tesseract is not installed; {hint}") from exc
    missing = [lang for lang in LANGUAGES if lang not in languages]
    if missing:
        raise TesseractMissingError(f"tesseract has no {', '.join(missing)} data; {hint}")
    return version


@dataclass(frozen=True)
class Word:
    """One word (for Chinese often one character or a short run) Tesseract found."""

    text: str
    confidence: float
    """0-100, Tesseract's own estimate."""
    left: int
    top: int
    width: int
    height: int
    line: tuple[int, int, int]
    """(block, paragraph, line) numbers: words with the same value share a text line."""

    @property
    def centre(self) -> tuple[float, float]:
        """The centre of the word's box."""
        return self.left + self.width / 2, self.top + self.height / 2


def _config(psm: int, whitelist: str | None) -> str:
    parts = [f"--oem {OEM_LSTM}", f"--psm {psm}"]
    if whitelist:
        parts.append(f'-c tessedit_char_whitelist="{whitelist}"')
    return " ".join(parts)


def _env_single_thread() -> None:
    # One OpenMP thread per Tesseract run: the module serves concurrent requests, and
    # Tesseract's threads only contend for the same cores (it is also faster on one).
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")


def words(
    image: npt.NDArray[np.uint8], lang: str, psm: int, whitelist: str | None = None
) -> list[Word]:
    """The non-empty words Tesseract reads in ``image`` with their boxes."""
    check_installed()
    _env_single_thread()
    try:
        data = pytesseract.image_to_data(
            image, lang=lang, config=_config(psm, whitelist), output_type=pytesseract.Output.DICT
        )
    except pytesseract.TesseractError as exc:
        if exc.status >= 0:
            raise
        # Killed by a signal: Tesseract 5.3 can die (SIGFPE) on some degenerate crops.
        # Nothing read there, like an empty area; the rest of the image still counts.
        log.warning("tesseract died with signal %d on a %s image", -exc.status, image.shape)
        return []
    found = []
    for index, text in enumerate(data["text"]):
        if not str(text).strip():
            continue
        found.append(
            Word(
                text=str(text).strip(),
                confidence=max(float(data["conf"][index]), 0.0),
                left=int(data["left"][index]),
                top=int(data["top"][index]),
                width=int(data["width"][index]),
                height=int(data["height"][index]),
                line=(
                    int(data["block_num"][index]),
                    int(data["par_num"][index]),
                    int(data["line_num"][index]),
                ),
            )
        )
    return found


def text(image: npt.NDArray[np.uint8], lang: str, psm: int, whitelist: str | None = None) -> str:
    """The text Tesseract reads in ``image``, lines separated by newlines."""
    check_installed()
    _env_single_thread()
    try:
        raw = pytesseract.image_to_string(image, lang=lang, config=_config(psm, whitelist))
    except pytesseract.TesseractError as exc:
        if exc.status >= 0:
            raise
        log.warning("tesseract died with signal %d on a %s image", -exc.status, image.shape)
        return ""
    return re.sub(r"\n{2,}", "\n", str(raw)).strip()
