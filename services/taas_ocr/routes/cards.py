"""``POST /id-cards`` and ``POST /bank-cards``: the fields of a card."""

from __future__ import annotations

from fastapi import APIRouter, Request
from taas_sdk import CurrentCaller

from taas_ocr import examples
from taas_ocr.results import bank_card_result, id_card_result
from taas_ocr.routes.openapi import ResultKey, StoreResult, request_body, responses
from taas_ocr.routes.reader import Reader
from taas_ocr.schemas import BankCardResult, IdCardResult


def router(reader: Reader) -> APIRouter:
    routes = APIRouter()

    @routes.post(
        "/id-cards",
        responses=responses(IdCardResult, examples.id_card_response()),
        openapi_extra=request_body(examples.ID_CARD_FILE),
    )
    async def read_id_card(
        request: Request,
        caller: CurrentCaller,
        store_result: StoreResult = False,
        result_key: ResultKey = None,
    ) -> IdCardResult:
        """The fields of a resident ID card front: name, sex, ethnicity, birth date,
        address and ID number (GB 11643 checksum), with cross-checks."""
        return await reader.run(
            request,
            caller,
            store_result=store_result,
            result_key=result_key,
            kind="id-cards",
            read=id_card_result,
        )

    @routes.post(
        "/bank-cards",
        responses=responses(BankCardResult, examples.bank_card_response()),
        openapi_extra=request_body(examples.BANK_CARD_FILE),
    )
    async def read_bank_card(
        request: Request,
        caller: CurrentCaller,
        store_result: StoreResult = False,
        result_key: ResultKey = None,
    ) -> BankCardResult:
        """The number of a bank card (16-19 digits, Luhn-checked)."""
        return await reader.run(
            request,
            caller,
            store_result=store_result,
            result_key=result_key,
            kind="bank-cards",
            read=bank_card_result,
        )

    return routes
