"""The OCR module's HTTP API (on the TaaS module SDK).

    python -m taas_ocr.app --port 58303                  # serve (TAAS_SIGNING_SECRET set)
    python -m taas_ocr.app --manifest --url http://127.0.0.1:58303

Each endpoint takes an image in one of two ways:

- the image itself as the request body (``Content-Type: image/jpeg``, ``image/png``, …),
  read as a stream and refused with 413 as soon as it passes the size limit; the query
  parameters ``store_result`` and ``result_key`` ask for the result to be stored;
- a JSON body naming an object of the tenant's storage (or, for small images, carrying
  it base64-encoded), with ``store_result`` and ``result_key`` in the body.

OCR runs in worker threads, at most one per CPU core at a time (Tesseract is CPU-bound).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from taas_sdk import Caller, CurrentCaller, ModuleSettings, create_app, problem
from taas_sdk.serve import serve
from taas_sdk.storage import tenant_storage

from taas_ocr import examples, recognize, tesseract
from taas_ocr.schemas import (
    BankCardResult,
    Box,
    DocumentResult,
    FieldValue,
    IdCardChecks,
    IdCardResult,
    ImageInfo,
    ImageReference,
    Line,
    Problem,
)
from taas_ocr.validation import MAX_IMAGE_BYTES, DecodedImage, ImageError, decode, too_large

NAME, VERSION, SCOPE = "ocr", "1.0.0", "ocr.read"
SUMMARY = (
    "OCR: Chinese resident ID card fronts (checksum-validated ID number), bank card numbers "
    "(Luhn) and document text with line boxes; Tesseract with image clean-up."
)
RAW_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/bmp", "image/tiff", "application/octet-stream"}
)
JSON_LIMIT_BYTES = MAX_IMAGE_BYTES * 4 // 3 + 4096
"""A JSON body may carry the largest image base64-encoded."""
StoreResult = Annotated[
    bool, Query(description="Store the result as JSON (raw image bodies; JSON has its own).")
]
ResultKey = Annotated[
    str | None,
    Query(max_length=1024, description="Where to store it (default results/<endpoint>/<id>.json)."),
]
ResultT = TypeVar("ResultT", IdCardResult, BankCardResult, DocumentResult)


# --------------------------------------------------------------------------- reading input


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(int(declared))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large(len(body))
    return bytes(body)


def _reference(data: bytes) -> ImageReference:
    try:
        return ImageReference.model_validate_json(data)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ImageError(
            422,
            f"the JSON body is not an image reference: {reasons}",
            hint='send {"object": "<key>"} or {"image_base64": "<data>"}, or the image bytes',
        ) from None


@dataclass(frozen=True)
class _Job:
    """One request's image and what to do with the result."""

    data: bytes
    store_result: bool
    result_key: str | None


async def _job(
    request: Request, caller: Caller, store_result: bool, result_key: str | None
) -> _Job:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type in RAW_TYPES:
        data = await _read_limited(request, MAX_IMAGE_BYTES)
        return _Job(data=data, store_result=store_result, result_key=result_key)
    if media_type != "application/json":
        raise ImageError(
            415,
            f"cannot take a {media_type or 'body without a content type'}",
            hint=f"send the image as {', '.join(sorted(RAW_TYPES))}, or JSON",
        )
    reference = _reference(await _read_limited(request, JSON_LIMIT_BYTES))
    if reference.image_base64 is not None:
        try:
            data = base64.b64decode(reference.image_base64, validate=True)
        except binascii.Error:
            raise ImageError(422, "image_base64 is not valid base64") from None
    else:
        assert reference.object is not None  # noqa: S101 - the model requires one of the two
        storage = tenant_storage(request, caller)
        size = await anyio.to_thread.run_sync(storage.size, reference.object)
        if size > MAX_IMAGE_BYTES:  # refused before it is read into memory
            raise too_large(size)
        data = await anyio.to_thread.run_sync(storage.get, reference.object)
    return _Job(data=data, store_result=reference.store_result, result_key=reference.result_key)


# --------------------------------------------------------------------------- results


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


# --------------------------------------------------------------------------- OpenAPI


def _request_body(file: str) -> dict[str, Any]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "requestBody": {
            "required": True,
            "description": (
                "The image as the body (up to 20 MB), or JSON naming an object of the "
                "tenant's storage or carrying a small image."
            ),
            "content": {
                "application/json": {
                    "schema": ImageReference.model_json_schema(),
                    "examples": examples.request_examples(file),
                },
                **dict.fromkeys(sorted(RAW_TYPES), binary),
            },
        }
    }


def _problem_example(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"value": {"type": "about:blank", "title": title, "status": status, "detail": detail}}


def _responses(model: type[BaseModel], example: dict[str, Any]) -> dict[int | str, Any]:
    schema = Problem.model_json_schema()

    def problems(description: str, named: dict[str, Any]) -> dict[str, Any]:
        content: dict[str, Any] = {"schema": schema}
        if named:
            content["examples"] = named
        return {"description": description, "content": {"application/problem+json": content}}

    missing = _problem_example(404, "Not found", "no object 'scans/x.jpg' in the tenant's storage")
    invalid = _problem_example(
        422, "Unprocessable request", "the JSON body is not an image reference"
    )
    corrupt = _problem_example(
        422, "Unprocessable request", "the data is not an image this module can read"
    )
    return {
        200: {
            "model": model,
            "content": {"application/json": {"examples": {"inline": {"value": example}}}},
        },
        404: problems("No such object in the tenant's storage", {"missing": missing}),
        413: problems("The image is larger than the limit (bytes or pixels)", {}),
        415: problems("Not an image type this module reads", {}),
        422: problems(
            "The request, or the image, cannot be read", {"invalid": invalid, "corrupt": corrupt}
        ),
    }


# --------------------------------------------------------------------------- app


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
        resources={"cpu": "1", "memory": "512Mi", "replicas": 1},
        pricing={"model": "per_call", "currency": "CNY", "per_call": 0.05},
        timeout_s=30,
        settings=settings,
    )
    limiter = anyio.CapacityLimiter(os.cpu_count() or 1)

    @app.exception_handler(ImageError)
    async def image_error(request: Request, exc: ImageError) -> JSONResponse:
        return problem(exc.status, exc.detail, hint=exc.hint)

    async def run(
        request: Request,
        caller: Caller,
        *,
        store_result: bool,
        result_key: str | None,
        kind: str,
        read: Callable[[DecodedImage], ResultT],
    ) -> ResultT:
        job = await _job(request, caller, store_result, result_key)
        result = await anyio.to_thread.run_sync(lambda: read(decode(job.data)), limiter=limiter)
        if job.store_result:
            key = job.result_key or f"results/{kind}/{caller.request_id}.json"
            storage = tenant_storage(request, caller)
            body = json.dumps(result.model_dump(mode="json"), ensure_ascii=False).encode()
            await anyio.to_thread.run_sync(storage.put, key, body, "application/json")
            result = result.model_copy(update={"stored_as": key})
        return result

    @app.post(
        "/id-cards",
        responses=_responses(IdCardResult, examples.id_card_response()),
        openapi_extra=_request_body(examples.ID_CARD_FILE),
    )
    async def read_id_card(
        request: Request,
        caller: CurrentCaller,
        store_result: StoreResult = False,
        result_key: ResultKey = None,
    ) -> IdCardResult:
        """The fields of a resident ID card front: name, sex, ethnicity, birth date,
        address and ID number (GB 11643 checksum), with cross-checks."""
        return await run(
            request,
            caller,
            store_result=store_result,
            result_key=result_key,
            kind="id-cards",
            read=id_card_result,
        )

    @app.post(
        "/bank-cards",
        responses=_responses(BankCardResult, examples.bank_card_response()),
        openapi_extra=_request_body(examples.BANK_CARD_FILE),
    )
    async def read_bank_card(
        request: Request,
        caller: CurrentCaller,
        store_result: StoreResult = False,
        result_key: ResultKey = None,
    ) -> BankCardResult:
        """The number of a bank card (16-19 digits, Luhn-checked)."""
        return await run(
            request,
            caller,
            store_result=store_result,
            result_key=result_key,
            kind="bank-cards",
            read=bank_card_result,
        )

    @app.post(
        "/documents",
        responses=_responses(DocumentResult, examples.document_response()),
        openapi_extra=_request_body(examples.DOCUMENT_FILE),
    )
    async def read_document(
        request: Request,
        caller: CurrentCaller,
        store_result: StoreResult = False,
        result_key: ResultKey = None,
    ) -> DocumentResult:
        """The text of a document (Simplified Chinese and English), line by line, each
        with its box in the input image."""
        return await run(
            request,
            caller,
            store_result=store_result,
            result_key=result_key,
            kind="documents",
            read=document_result,
        )

    return app


def main() -> None:
    serve(create_ocr_app, default_port=58303, description=__doc__)


if __name__ == "__main__":
    main()
