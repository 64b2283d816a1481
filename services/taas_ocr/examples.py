"""The OpenAPI examples: small synthetic images shipped in ``taas_ocr/data`` and what they say.

The platform's contract check sends every request example to the running module and
expects the response named alike, so the images must really read as declared (a test
checks it). They are written by ``python -m taas_ocr.examples`` from the generator
(synthetic people; no real person's card).
"""

from __future__ import annotations

import base64
import functools
import io
import random
from importlib import resources
from pathlib import Path
from typing import Any

from PIL import Image

from taas_ocr import generator

ID_CARD_SEED, BANK_CARD_SEED = 4, 1
"""Cards that read correctly at the example's small size (not every card does, and the
contract check needs the declared answer; the benchmark measures how many do)."""
ID_CARD_FILE, BANK_CARD_FILE, DOCUMENT_FILE = "id-card.jpg", "bank-card.jpg", "document.png"
EXAMPLE_SCALE = 0.6
"""Examples are scaled down (and grey) to keep the OpenAPI document small."""


def _image_bytes(sample: generator.Sample[Any], fmt: str) -> bytes:
    width, height = sample.image.size
    small = sample.image.convert("L").resize(
        (round(width * EXAMPLE_SCALE), round(height * EXAMPLE_SCALE)),
        Image.Resampling.LANCZOS,
    )
    out = io.BytesIO()
    small.save(out, format=fmt, **({"quality": 75, "optimize": True} if fmt == "JPEG" else {}))
    return out.getvalue()


DOCUMENT_LINES = ("账户变更确认函", "Reference TA20240315: received.")


def document_sample() -> generator.Sample[generator.DocumentTruth]:
    """A two-line notice: small enough for an inline example."""
    truth = generator.DocumentTruth(lines=DOCUMENT_LINES)
    image = generator.render_document(truth, random.Random(0))  # noqa: S311 - not secret
    return generator.Sample(image, truth)


def write(folder: Path) -> None:
    """Render the example images into ``folder`` (the package's data directory)."""
    folder.mkdir(exist_ok=True)
    (folder / ID_CARD_FILE).write_bytes(_image_bytes(generator.id_card(ID_CARD_SEED), "JPEG"))
    (folder / BANK_CARD_FILE).write_bytes(_image_bytes(generator.bank_card(BANK_CARD_SEED), "JPEG"))
    (folder / DOCUMENT_FILE).write_bytes(_image_bytes(document_sample(), "PNG"))


@functools.cache
def inline(file: str) -> str:
    """A shipped example image, base64-encoded for a JSON request."""
    data = (resources.files("taas_ocr") / "data" / file).read_bytes()
    return base64.b64encode(data).decode()


def request_examples(file: str) -> dict[str, Any]:
    """Named JSON request examples of an image endpoint (names match response examples)."""
    return {
        "inline": {
            "summary": "A small image sent inline (large ones: send the bytes as the body)",
            "value": {"image_base64": inline(file)},
        },
        "invalid": {
            "summary": "Neither an object key nor an image",
            "value": {"store_result": True},
        },
        "corrupt": {
            "summary": "Bytes that are not an image",
            "value": {"image_base64": base64.b64encode(b"not an image").decode()},
        },
    }


def id_card_response() -> dict[str, Any]:
    """What the ID card example reads as."""
    truth = generator.id_card_truth(ID_CARD_SEED)

    def read(value: str) -> dict[str, Any]:
        return {"value": value, "confidence": 0.9, "source": "ocr"}

    return {
        "name": read(truth.name),
        "sex": read(truth.sex),
        "ethnicity": read(truth.ethnicity),
        "birth_date": read(truth.birth_date),
        "address": read(truth.address),
        "id_number": read(truth.id_number),
        "checks": {
            "id_number_checksum": True,
            "birth_date_matches_id_number": True,
            "sex_matches_id_number": True,
        },
        "card_outline_found": False,
        "image": {"format": "JPEG", "width": 514, "height": 324},
        "stored_as": None,
    }


def bank_card_response() -> dict[str, Any]:
    """What the bank card example reads as."""
    truth = generator.bank_card_truth(BANK_CARD_SEED)
    return {
        "number": {"value": truth.number, "confidence": 0.95, "source": "ocr"},
        "luhn_valid": True,
        "card_outline_found": False,
        "image": {"format": "JPEG", "width": 514, "height": 324},
        "stored_as": None,
    }


def document_response() -> dict[str, Any]:
    """What the document example reads as (boxes approximate)."""
    title, body = DOCUMENT_LINES
    return {
        "text": f"{title}\n{body}",
        "lines": [
            {
                "text": title,
                "confidence": 0.71,
                "box": {"x": 225, "y": 36, "width": 149, "height": 21},
                "polygon": [[225, 36], [374, 36], [374, 57], [225, 57]],
            },
            {
                "text": body,
                "confidence": 0.93,
                "box": {"x": 43, "y": 84, "width": 234, "height": 13},
                "polygon": [[43, 84], [277, 84], [277, 97], [43, 97]],
            },
        ],
        "skew_deg": 0.0,
        "image": {"format": "PNG", "width": 600, "height": 154},
        "stored_as": None,
    }


if __name__ == "__main__":
    target = Path(__file__).parent / "data"
    write(target)
    print(f"wrote the example images to {target}")
