"""The web layer's mapping of errors to problem+json (RFC 9457) answers.

Domain services raise the kit's typed errors and know nothing of HTTP; this module decides
the status of each kind, audits refused mutating calls and answers every failure, expected
or not, as a problem.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from taas.audit.repository import AuditRepository
from taas.kit.db import new_session
from taas.kit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PermanentError,
    TaasError,
    TemporaryError,
    Unauthorized,
    Unprocessable,
)
from taas.kit.problems import PROBLEM_JSON, problem_body
from taas.kit.states import IllegalTransition
from taas.kit.web import authentication_failure

log = logging.getLogger(__name__)
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
STATUS: list[tuple[type[TaasError], int]] = [
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Unprocessable, 422),
    (TemporaryError, 503),
    (PermanentError, 502),
]


def problem(request: Request, status: int, detail: str, **extra: object) -> JSONResponse:
    body = problem_body(
        status, detail, request_id=getattr(request.state, "request_id", None), **extra
    )
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def audit_rejection(request: Request, status: int, detail: str) -> None:
    """Mutating calls that were refused are audited too, in their own transaction."""
    if request.method not in MUTATING:
        return
    principal = getattr(request.state, "principal", None)
    try:
        with new_session() as session:
            AuditRepository(session).append(
                actor=principal.name if principal else "anonymous",
                action=f"{request.method} {request.url.path}",
                outcome=f"rejected ({status})",
                request_id=getattr(request.state, "request_id", None),
                detail={"reason": detail[:500]},
            )
            session.commit()
    except Exception:
        log.exception("could not audit a rejected request")


async def _unauthenticated(request: Request) -> JSONResponse | None:
    # Verifying a token may fetch signing keys: not on the event loop.
    failure = await run_in_threadpool(authentication_failure, request)
    if failure is None:
        return None
    audit_rejection(request, 401, failure.message)
    return problem(request, 401, failure.message, hint=failure.hint)


async def _taas_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TaasError)  # noqa: S101 - registered for TaasError
    status = next((code for kind, code in STATUS if isinstance(exc, kind)), 400)
    extra: dict[str, object] = {**exc.extra, "hint": exc.hint}
    if isinstance(exc, IllegalTransition):
        extra["current_status"] = exc.current.value
    audit_rejection(request, status, exc.message)
    return problem(request, status, exc.message, **extra)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it
    if refused := await _unauthenticated(request):
        return refused
    errors = [
        {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg"))}
        for error in exc.errors()
    ]
    audit_rejection(request, 422, "invalid request")
    return problem(
        request,
        422,
        "the request does not match the API schema",
        errors=errors,
        hint="see the OpenAPI document at /openapi.json",
    )


async def _unstorable(request: Request, exc: Exception) -> JSONResponse:
    # PostgreSQL refused a value the schema let through (a NUL character, say).
    assert isinstance(exc, DataError)  # noqa: S101 - registered for DataError
    reason = str(exc.orig).splitlines()[0] if exc.orig else "invalid value"
    audit_rejection(request, 422, "a value cannot be stored")
    return problem(
        request,
        422,
        f"a value in the request cannot be stored or searched: {reason}",
        hint="remove control characters such as NUL from the request",
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for it
    if exc.status_code == 400 and (refused := await _unauthenticated(request)):
        return refused  # a body that could not be decoded, from an anonymous caller
    return problem(request, exc.status_code, str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(request, 500, "unexpected error; it was logged with the request id")


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem."""
    app.add_exception_handler(TaasError, _taas_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
