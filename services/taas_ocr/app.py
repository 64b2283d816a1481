"""The OCR module's HTTP API (on the TaaS module SDK).

    python -m taas_ocr.app --port 58303                  # serve (TAAS_SIGNING_SECRET set)
    python -m taas_ocr.app --manifest --url http://127.0.0.1:58303

Each endpoint takes an image in one of two ways (``taas_ocr.intake``):

- the image itself as the request body (``Content-Type: image/jpeg``, ``image/png``, …),
  read as a stream and refused with 413 as soon as it passes the size limit; the query
  parameters ``store_result`` and ``result_key`` ask for the result to be stored;
- a JSON body naming an object of the tenant's storage (or, for small images, carrying
  it base64-encoded), with ``store_result`` and ``result_key`` in the body.

OCR runs in worker threads, at most one per CPU core at a time (Tesseract is CPU-bound).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from taas_sdk import ModuleSettings, create_app, problem
from taas_sdk.serve import serve

from taas_ocr import tesseract
from taas_ocr.routes import cards, documents
from taas_ocr.routes.reader import Reader
from taas_ocr.validation import ImageError

NAME, VERSION, SCOPE = "ocr", "1.0.0", "ocr.read"
SUMMARY = (
    "OCR: Chinese resident ID card fronts (checksum-validated ID number), bank card numbers "
    "(Luhn) and document text with line boxes; Tesseract with image clean-up."
)


async def image_error(request: Request, exc: ImageError) -> JSONResponse:
    return problem(exc.status, exc.detail, hint=exc.hint)


def create_ocr_app(settings: ModuleSettings | None = None) -> FastAPI:
    """The module app. Fails at start when Tesseract or its language data is missing."""
    tesseract.check_installed()
    app = create_app(
        name=NAME,
        version=VERSION,
        capability="ocr",
        summary=SUMMARY,
        scopes=[SCOPE],
        data={"storage": ["read", "write"], "personal_data": ["identity", "document_images"]},
        resources={"cpu": "250m", "memory": "512Mi", "replicas": 1},
        pricing={"model": "per_call", "currency": "CNY", "per_call": 0.05},
        timeout_s=30,
        settings=settings,
    )
    app.add_exception_handler(ImageError, image_error)  # type: ignore[arg-type]
    reader = Reader()
    app.include_router(cards.router(reader))
    app.include_router(documents.router(reader))
    return app


def main() -> None:
    serve(create_ocr_app, default_port=58303, description=__doc__)


if __name__ == "__main__":
    main()
