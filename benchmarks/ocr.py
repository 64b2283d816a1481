"""OCR module: field accuracy and character error rate on synthetic cards, against plain
Tesseract; seconds per card on one core.

Samples come from ``taas_ocr.generator`` with fixed seeds (``SEED_BASE`` + 0..N-1) in
three variants: ``clean`` (a flat scan), ``degraded`` (a photo on a table, rotated 3-8°,
with two of noise, blur, low contrast, heavy JPEG and low resolution) and ``stress``
(all five at once; no target, it shows where the module stops coping).

Each sample goes in as an encoded file (PNG for clean, JPEG as produced for the photos)
and is read two ways:

- ``module``: what the endpoints run: ``validation.decode`` then ``recognize.read_*``
  (card outline, contrast, denoising, layout regions, field post-processing);
- ``plain_tesseract``: the same decoded image given as it is to Tesseract (chi_sim, one
  uniform block: psm 6, the strongest plain setting we tried against psm 3 and
  chi_sim+eng; ``--plain-lang``/``--plain-psm`` rerun it with others; no preprocessing),
  the whole text split into fields by the printed labels (姓名, 性别, 民族, 出生, 住址,
  公民身份号码), then the *same* post-processing as the module (vocabularies, date
  normalisation, checksum repair, cross-checks). The comparison therefore isolates
  preprocessing and layout regions. Bank cards: plain text (eng, same psm), the same
  Luhn search over digit groups. Documents: the same language and psm as the module.

Figures: exact-match accuracy per field and overall, character error rate (edit
distance over the characters of the true values, a missing value counting as all
deleted), the share of birth dates/sexes taken from the ID number, and seconds per card:
CPU (this process and its Tesseract children) and wall, the whole run pinned to one core
with one OpenMP thread. Documents: CER of the whole text and seconds per page.
Ablations: the module pipeline on degraded and stress ID cards with one preprocessing
step taken out (card outline, contrast stretch, denoising) or CLAHE added.

    python benchmarks/ocr.py [--cards 100] [--bank-cards 50] [--documents 20]
                             [--ablation-cards 50] [--core 0]

Targets (issue): at least 95% exact fields on clean cards and 85% on degraded ones,
under 1.5 s per card.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import resource
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import cv2
import numpy as np
import pytesseract
from taas_ocr import fields, generator, preprocess, recognize, tesseract, validation
from taas_ocr.camera import Variant
from taas_ocr.preprocess import Gray
from taas_ocr.recognize import FieldReading, IdCardReading

from _results import write_results

ResultT = TypeVar("ResultT")
SEED_BASE = 10_000
VARIANTS: tuple[Variant, ...] = ("clean", "degraded", "stress")
ID_FIELDS = ("name", "sex", "ethnicity", "birth_date", "address", "id_number")
PLAIN = {"lang": "chi_sim", "psm": "6"}
"""Plain Tesseract's settings (``--plain-lang``, ``--plain-psm``); bank cards use eng."""
TARGET_CLEAN_PCT, TARGET_DEGRADED_PCT, TARGET_S_PER_CARD = 95.0, 85.0, 1.5


# --------------------------------------------------------------------------- baseline


def _after(label: str, line: str) -> str | None:
    """What follows ``label`` (its characters in order, anything between) on ``line``."""
    match = re.search(".?".join(map(re.escape, label)) + "(.*)", line)
    return match.group(1) if match else None


def parse_id_card_text(text: str) -> IdCardReading:
    """The fields of a full-page Tesseract text of a card, found by the printed labels."""
    lines = [re.sub(r"\s+", "", line) for line in text.splitlines() if line.strip()]
    raw: dict[str, str] = {}
    address: list[str] = []
    in_address = False
    for line in lines:
        if (rest := _after("公民身份号码", line)) is not None or re.search(r"\d{15}", line):
            raw["number"] = rest if rest is not None else line
            in_address = False
        elif (rest := _after("住址", line)) is not None:
            address, in_address = [rest], True
        elif in_address:
            address.append(line)
        elif (rest := _after("姓名", line)) is not None:
            raw["name"] = rest
        elif (rest := _after("性别", line)) is not None:
            sex, _, ethnicity = rest.partition("民族")
            raw["sex"], raw["ethnicity"] = sex, ethnicity
        elif (rest := _after("民族", line)) is not None:
            raw["ethnicity"] = rest
        elif (rest := _after("出生", line)) is not None:
            raw["birth"] = rest
    raw["address"] = "".join(address)
    readings = {
        name: FieldReading(recognize.field_value(name, raw.get(name, "")), 0.0)
        for name in ("name", "sex", "ethnicity", "birth", "address")
    }
    number, valid = fields.repair_id_number(
        raw.get("number", ""), readings["birth"].value, readings["sex"].value
    )
    return recognize.cross_check(readings, FieldReading(number or None, 0.0), valid, False)


def plain_id_card(image: validation.DecodedImage) -> IdCardReading:
    """Plain Tesseract on the decoded image, fields by labels, same post-processing."""
    return parse_id_card_text(tesseract.text(image.pixels, PLAIN["lang"], int(PLAIN["psm"])))


def module_id_card(image: validation.DecodedImage) -> IdCardReading:
    """What the /id-cards endpoint runs after decoding."""
    return recognize.read_id_card(image.pixels)


def module_bank_card(image: validation.DecodedImage) -> str | None:
    """What the /bank-cards endpoint runs after decoding."""
    return recognize.read_bank_card(image.pixels).number.value


def module_document(image: validation.DecodedImage) -> str:
    """What the /documents endpoint runs after decoding."""
    return recognize.read_document(image.pixels).text


def plain_bank_card(image: validation.DecodedImage) -> str | None:
    """Plain Tesseract (eng) on the decoded image, the same Luhn search."""
    number, _ = fields.best_card_number(tesseract.text(image.pixels, "eng", int(PLAIN["psm"])))
    return number or None


def plain_document(image: validation.DecodedImage) -> str:
    """Plain Tesseract on the decoded image; the module's line joining."""
    words = tesseract.words(image.pixels, PLAIN["lang"], int(PLAIN["psm"]))
    return recognize.join_lines(words)


# --------------------------------------------------------------------------- measuring


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the Tesseract runs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Tally:
    """Exact fields, edit distances and time of one reader on one set of samples."""

    exact: Counter[str] = field(default_factory=Counter)
    edits: int = 0
    truth_chars: int = 0
    from_id_number: int = 0
    cpu_s: list[float] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    samples: int = 0

    def timed(self, read: Callable[[validation.DecodedImage], ResultT], data: bytes) -> ResultT:
        """``read`` of the decoded ``data``, decoding included in the time."""
        cpu, wall = cpu_seconds(), time.perf_counter()
        result = read(validation.decode(data))
        self.cpu_s.append(cpu_seconds() - cpu)
        self.wall_s.append(time.perf_counter() - wall)
        return result

    def score(self, got: str | None, want: str, name: str) -> bool:
        self.exact[name] += got == want
        self.edits += fields.edit_distance(got or "", want)
        self.truth_chars += len(want)
        return got == want

    def figures(self, names: Sequence[str]) -> dict[str, Any]:
        total = self.samples * len(names)
        out: dict[str, Any] = {
            "exact_fields_pct": _pct(sum(self.exact[n] for n in names), total),
            "cer_pct": _pct(self.edits, self.truth_chars, 2),
        }
        if len(names) > 1:
            out["exact_by_field_pct"] = {n: _pct(self.exact[n], self.samples) for n in names}
            out["birth_sex_from_id_number_pct"] = _pct(self.from_id_number, 2 * self.samples)
        out["cpu_s_per_sample"] = round(statistics.mean(self.cpu_s), 3)
        out["wall_s_per_sample"] = round(statistics.mean(self.wall_s), 3)
        rank = max(math.ceil(0.95 * len(self.wall_s)) - 1, 0)  # nearest-rank percentile
        out["wall_s_p95"] = round(sorted(self.wall_s)[rank], 3)
        return out


def _pct(part: float, whole: float, digits: int = 1) -> float:
    return round(100.0 * part / whole, digits) if whole else 0.0


# --------------------------------------------------------------------------- runs


def run_id_cards(variant: Variant, count: int, baseline: bool) -> dict[str, Any]:
    module, plain = Tally(), Tally()
    by_impairment: dict[str, list[int]] = {}
    for seed in range(SEED_BASE, SEED_BASE + count):
        sample = generator.id_card(seed, variant)
        data = sample.encoded("PNG" if variant == "clean" else "JPEG")
        readers = [(module, module_id_card), (plain, plain_id_card)][: 2 if baseline else 1]
        for tally, read in readers:
            reading = tally.timed(read, data)
            tally.samples += 1
            exact = 0
            for name in ID_FIELDS:
                got: FieldReading = getattr(reading, name)
                exact += tally.score(got.value, getattr(sample.truth, name), name)
                tally.from_id_number += got.source == "id_number"
            if tally is module and sample.degradation is not None:
                for impairment in sample.degradation.impairments:
                    by_impairment.setdefault(impairment, [0, 0])
                    by_impairment[impairment][0] += exact
                    by_impairment[impairment][1] += len(ID_FIELDS)
    result: dict[str, Any] = {"cards": count, "module": module.figures(ID_FIELDS)}
    if baseline:
        result["plain_tesseract"] = plain.figures(ID_FIELDS)
    if variant == "degraded":
        result["module"]["exact_fields_by_impairment_pct"] = {
            name: _pct(ok, total) for name, (ok, total) in sorted(by_impairment.items())
        }
    return result


def run_bank_cards(variant: Variant, count: int, baseline: bool) -> dict[str, Any]:
    module, plain = Tally(), Tally()
    for seed in range(SEED_BASE, SEED_BASE + count):
        sample = generator.bank_card(seed, variant)
        data = sample.encoded("PNG" if variant == "clean" else "JPEG")
        number = module.timed(module_bank_card, data)
        module.samples += 1
        module.score(number, sample.truth.number, "number")
        if baseline:
            number = plain.timed(plain_bank_card, data)
            plain.samples += 1
            plain.score(number, sample.truth.number, "number")
    result: dict[str, Any] = {"cards": count, "module": module.figures(["number"])}
    if baseline:
        result["plain_tesseract"] = plain.figures(["number"])
    return result


def run_documents(variant: Variant, count: int, baseline: bool) -> dict[str, Any]:
    module, plain = Tally(), Tally()
    for seed in range(SEED_BASE, SEED_BASE + count):
        sample = generator.document(seed, variant)
        data = sample.encoded("PNG" if variant == "clean" else "JPEG")
        truth = "\n".join(sample.truth.lines)
        text = module.timed(module_document, data)
        module.samples += 1
        module.score(text, truth, "text")
        if baseline:
            text = plain.timed(plain_document, data)
            plain.samples += 1
            plain.score(text, truth, "text")
    figures = {"documents": count, "module": module.figures(["text"])}
    if baseline:
        figures["plain_tesseract"] = plain.figures(["text"])
    for reader in figures.values():
        if isinstance(reader, dict):
            reader.pop("exact_fields_pct")  # a whole page is never the unit of accuracy
    return figures


def _clahe_after(stretch: Callable[[Gray], Gray]) -> Callable[[Gray], Gray]:
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    return lambda gray: np.asarray(clahe.apply(stretch(gray)), np.uint8)


ABLATIONS: dict[str, dict[str, Callable[..., Any]]] = {
    "module": {},
    "without_card_outline": {"find_card": lambda gray: None},
    "without_contrast_stretch": {"normalise_contrast": lambda gray: gray},
    "without_denoising": {"denoise": lambda gray: gray},
    "with_clahe": {"normalise_contrast": _clahe_after(preprocess.normalise_contrast)},
}
"""Pipelines with one preprocessing step taken out (or CLAHE added), by replacing the
step in ``taas_ocr.preprocess`` for the duration of the run."""


@contextlib.contextmanager
def replaced(steps: dict[str, Callable[..., Any]]) -> Iterator[None]:
    saved = {name: getattr(preprocess, name) for name in steps}
    for name, step in steps.items():
        setattr(preprocess, name, step)
    try:
        yield
    finally:
        for name, step in saved.items():
            setattr(preprocess, name, step)


def run_ablations(count: int) -> dict[str, Any]:
    """Exact fields on ``count`` degraded and stress ID cards for each of ``ABLATIONS``."""
    result: dict[str, Any] = {"cards": count}
    for variant in ("degraded", "stress"):
        result[variant] = {}
        for name, steps in ABLATIONS.items():
            with replaced(steps):
                figures = run_id_cards(variant, count, baseline=False)["module"]
            result[variant][name] = {
                "exact_fields_pct": figures["exact_fields_pct"],
                "cer_pct": figures["cer_pct"],
                "cpu_s_per_sample": figures["cpu_s_per_sample"],
            }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=100, help="ID cards per variant")
    parser.add_argument("--bank-cards", type=int, default=50, help="bank cards per variant")
    parser.add_argument("--documents", type=int, default=20, help="documents per variant")
    parser.add_argument("--ablation-cards", type=int, default=50, help="ID cards per variant "
                        "and ablated pipeline (0: no ablations)")  # fmt: skip
    parser.add_argument("--core", type=int, default=0, help="the one CPU core to run on")
    parser.add_argument("--no-baseline", action="store_true", help="skip plain Tesseract")
    parser.add_argument("--plain-lang", default=PLAIN["lang"], help="plain Tesseract language")
    parser.add_argument("--plain-psm", default=PLAIN["psm"], help="plain page segmentation")
    args = parser.parse_args()
    PLAIN.update(lang=args.plain_lang, psm=args.plain_psm)
    os.sched_setaffinity(0, {args.core})  # Tesseract children inherit the one core
    os.environ["OMP_THREAD_LIMIT"] = "1"  # and run one thread each
    cv2.setNumThreads(1)
    baseline = not args.no_baseline
    figures: dict[str, Any] = {
        "tesseract_version": tesseract.check_installed(),
        "pytesseract_version": str(pytesseract.__version__),
        "opencv_version": cv2.__version__,
        "seeds": f"{SEED_BASE}..{SEED_BASE + max(args.cards, args.bank_cards, args.documents) - 1}",
        "one_core": args.core,
        "plain_tesseract_settings": dict(PLAIN),
        "id_cards": {},
        "bank_cards": {},
        "documents": {},
    }
    for variant in VARIANTS:
        figures["id_cards"][variant] = run_id_cards(variant, args.cards, baseline)
        figures["bank_cards"][variant] = run_bank_cards(variant, args.bank_cards, baseline)
        figures["documents"][variant] = run_documents(variant, args.documents, baseline)
        print(variant, figures["id_cards"][variant]["module"], flush=True)
    if args.ablation_cards:
        figures["ablations"] = run_ablations(args.ablation_cards)
    ids = figures["id_cards"]
    slowest = max(ids[v]["module"]["cpu_s_per_sample"] for v in ("clean", "degraded"))
    figures["targets"] = {
        "clean_exact_fields_pct": TARGET_CLEAN_PCT,
        "degraded_exact_fields_pct": TARGET_DEGRADED_PCT,
        "s_per_card": TARGET_S_PER_CARD,
        "clean_met": ids["clean"]["module"]["exact_fields_pct"] >= TARGET_CLEAN_PCT,
        "degraded_met": ids["degraded"]["module"]["exact_fields_pct"] >= TARGET_DEGRADED_PCT,
        "speed_met": slowest < TARGET_S_PER_CARD,
    }
    write_results("ocr", figures)


if __name__ == "__main__":
    main()
