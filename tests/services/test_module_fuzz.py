"""Fuzzed requests generated from each reference module's own OpenAPI document, signed as
the gateway signs them, never get a 500, and every answer matches what the document
declares (status codes, content types, bodies).

No servers: each module runs in process with the SDK's in-memory storage per tenant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.schemas import OpenApiSchema
from starlette.types import ASGIApp, Receive, Scope, Send
from taas_marketing.app import create_marketing_app
from taas_ocr.app import create_ocr_app
from taas_risk.app import create_risk_app
from taas_sdk import ModuleSettings
from taas_sdk.testing import ModuleClient

from fuzz_support import CHECKS

SETTINGS = ModuleSettings(signing_secret="fuzz-secret")
# Raw image bodies of the OCR module: sent as the bytes the fuzzer generates.
schemathesis.serializer.alias(["image/bmp", "image/tiff", "image/webp"], "application/octet-stream")


def behind_the_gateway(app: FastAPI) -> ASGIApp:
    """``app`` with every request signed as the gateway would sign it for one bank."""
    bank = ModuleClient(app, tenant="fuzz-bank")  # also gives the bank in-memory storage

    async def signed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
            added = bank.gateway_headers(scope["method"], path)
            headers = [
                *scope["headers"],
                *((k.lower().encode(), v.encode()) for k, v in added.items()),
            ]
            scope = {**scope, "headers": headers}
        await app(scope, receive, send)

    return signed


def _schema(factory: Callable[[ModuleSettings], FastAPI]) -> OpenApiSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", behind_the_gateway(factory(SETTINGS)))


FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
risk = _schema(lambda s: create_risk_app(settings=s))
marketing = _schema(create_marketing_app)
ocr = _schema(lambda s: create_ocr_app(settings=s))


@risk.parametrize()
@FUZZ
def test_fuzzed_risk_requests(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)


@marketing.parametrize()
@FUZZ
def test_fuzzed_marketing_requests(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)


@ocr.parametrize()
@FUZZ
def test_fuzzed_ocr_requests(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)
