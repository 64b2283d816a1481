"""Errors as ``application/problem+json`` (RFC 9457 problem details, plus ``hint``): the
answer builder, the handlers a module app installs, and the OpenAPI document saying so."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from taas_sdk.caller import MissingScopes

PROBLEM_JSON = "application/problem+json"
UNPARSABLE_BODY = "There was an error parsing the body"
"""What FastAPI says (with a 400) when a JSON body cannot be decoded."""


def problem(status: int, detail: str, hint: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": _title(status), "status": status}
    body["detail"] = detail
    if hint:
        body["hint"] = hint
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "hint": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
"""The body of every error answer (RFC 9457 problem details, plus ``hint``)."""


def declare_problem_422s(schema: dict[str, Any]) -> None:
    """FastAPI documents its validation errors as ``application/json``; the SDK answers
    them as problem+json, so the document says so (contract checks and clients rely on it)."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            content = operation.get("responses", {}).get("422", {}).get("content", {})
            default = content.get("application/json", {}).get("schema", {})
            if default.get("$ref", "").endswith("/HTTPValidationError"):
                del content["application/json"]
                content.setdefault(
                    PROBLEM_JSON, {"schema": {"$ref": "#/components/schemas/Problem"}}
                )


def _title(status: int) -> str:
    return {
        400: "Bad request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        409: "Conflict",
        413: "Content too large",
        415: "Unsupported media type",
        422: "Unprocessable request",
        429: "Too many requests",
        502: "Bad gateway",
    }.get(status, "Error")


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400 and exc.detail == UNPARSABLE_BODY:
        # FastAPI's answer to a body that is not UTF-8 JSON: a 422 like every other
        # body that does not match the operation's schema.
        return problem(
            422,
            "the request body is not valid JSON",
            hint="send UTF-8 JSON that matches the operation's schema",
        )
    if isinstance(exc, MissingScopes):
        return problem(403, str(exc.detail), hint=exc.hint, missing_scopes=exc.missing_scopes)
    return problem(exc.status_code, str(exc.detail))


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": ".".join(str(p) for p in e.get("loc", ())), "msg": str(e.get("msg"))}
        for e in exc.errors()
    ]
    return problem(
        422, "the request does not match the module's API", errors=errors,
        hint="see the module's OpenAPI document",
    )  # fmt: skip


def answer_with_problems(app: FastAPI) -> None:
    """Every error of ``app`` as problem+json, and its OpenAPI document saying so."""
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, invalid_request)  # type: ignore[arg-type]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            declare_problem_422s(FastAPI.openapi(app))
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
