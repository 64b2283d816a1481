"""``POST /documents``: the text of a document, line by line."""

from __future__ import annotations

from fastapi import APIRouter, Request
from taas_sdk import CurrentCaller

from taas_ocr import examples
from taas_ocr.results import document_result
from taas_ocr.routes.openapi import ResultKey, StoreResult, request_body, responses
from taas_ocr.routes.reader import Reader
from taas_ocr.schemas import DocumentResult


def router(reader: Reader) -> APIRouter:
    routes = APIRouter()

    @routes.post(
        "/documents",
        responses=responses(DocumentResult, examples.document_response()),
        openapi_extra=request_body(examples.DOCUMENT_FILE),
    )
    async def read_document(
        request: Request,
        caller: CurrentCaller,
        store_result: StoreResult = False,
        result_key: ResultKey = None,
    ) -> DocumentResult:
        """The text of a document (Simplified Chinese and English), line by line, each
        with its box in the input image."""
        return await reader.run(
            request,
            caller,
            store_result=store_result,
            result_key=result_key,
            kind="documents",
            read=document_result,
        )

    return routes
