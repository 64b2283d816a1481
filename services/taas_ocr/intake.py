"""How an image reaches the module: as the request body, or named (or carried) in JSON.

- the image itself as the body (``Content-Type: image/jpeg``, ``image/png``, …), read as
  a stream and refused with 413 as soon as it passes the size limit;
- a JSON body naming an object of the tenant's storage (its size checked before it is
  read), or carrying a small image base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import anyio
from fastapi import Request
from pydantic import ValidationError
from taas_sdk import Caller
from taas_sdk.storage import tenant_storage

from taas_ocr.schemas import ImageReference
from taas_ocr.validation import MAX_IMAGE_BYTES, ImageError, too_large

RAW_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/bmp", "image/tiff", "application/octet-stream"}
)
JSON_LIMIT_BYTES = MAX_IMAGE_BYTES * 4 // 3 + 4096
"""A JSON body may carry the largest image base64-encoded."""


@dataclass(frozen=True)
class ImageJob:
    """One request's image and what to do with the result."""

    data: bytes
    store_result: bool
    result_key: str | None


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


async def image_job(
    request: Request, caller: Caller, store_result: bool, result_key: str | None
) -> ImageJob:
    """The request's image, with ``store_result`` and ``result_key`` from the query (raw
    bodies) or from the JSON body."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type in RAW_TYPES:
        data = await _read_limited(request, MAX_IMAGE_BYTES)
        return ImageJob(data=data, store_result=store_result, result_key=result_key)
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
    return ImageJob(data=data, store_result=reference.store_result, result_key=reference.result_key)
