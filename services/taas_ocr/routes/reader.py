"""One reading, whatever the kind of image: take it in, read it in a worker thread (at
most one per CPU core at a time: Tesseract is CPU-bound), store the result if asked."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import TypeVar

import anyio
from fastapi import Request
from taas_sdk import Caller
from taas_sdk.storage import tenant_storage

from taas_ocr.intake import image_job
from taas_ocr.schemas import BankCardResult, DocumentResult, IdCardResult
from taas_ocr.validation import DecodedImage, decode

ResultT = TypeVar("ResultT", IdCardResult, BankCardResult, DocumentResult)


class Reader:
    """Runs the readings of one app, sharing its CPU limit."""

    def __init__(self) -> None:
        self.limiter = anyio.CapacityLimiter(os.cpu_count() or 1)

    async def run(
        self,
        request: Request,
        caller: Caller,
        *,
        store_result: bool,
        result_key: str | None,
        kind: str,
        read: Callable[[DecodedImage], ResultT],
    ) -> ResultT:
        job = await image_job(request, caller, store_result, result_key)
        result = await anyio.to_thread.run_sync(
            lambda: read(decode(job.data)), limiter=self.limiter
        )
        if job.store_result:
            key = job.result_key or f"results/{kind}/{caller.request_id}.json"
            storage = tenant_storage(request, caller)
            body = json.dumps(result.model_dump(mode="json"), ensure_ascii=False).encode()
            await anyio.to_thread.run_sync(storage.put, key, body, "application/json")
            result = result.model_copy(update={"stored_as": key})
        return result
