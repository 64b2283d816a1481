"""The FastAPI application of the control plane: ``uvicorn taas.api.app:app``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from opentelemetry import trace
from sqlalchemy import text
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from taas import __version__
from taas.approvals import endpoints as approval_endpoints
from taas.audit import endpoints as audit_endpoints
from taas.audit.repository import AuditRepository
from taas.catalog import endpoints as catalog_endpoints
from taas.kit.celery import celery_app
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
from taas.kit.problems import PROBLEM_JSON, problem_body, problems
from taas.kit.settings import app_settings
from taas.kit.states import IllegalTransition
from taas.kit.telemetry import request_tenant_holder, setup_tracing
from taas.kit.web import authentication_failure
from taas.operators import endpoints as operator_endpoints
from taas.plugins import endpoints as plugin_endpoints
from taas.subscriptions import endpoints as subscription_endpoints
from taas.tenants import endpoints as tenant_endpoints
from taas.usage import endpoints as usage_endpoints
from taas.wiring import wire

log = logging.getLogger(__name__)
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
_STATUS: list[tuple[type[TaasError], int]] = [
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Unprocessable, 422),
    (TemporaryError, 503),
    (PermanentError, 502),
]


def _problem(request: Request, status: int, detail: str, **extra: object) -> JSONResponse:
    body = problem_body(
        status, detail, request_id=getattr(request.state, "request_id", None), **extra
    )
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _audit_rejection(request: Request, status: int, detail: str) -> None:
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


def operation_ids() -> Callable[[APIRoute], str]:
    """Operation ids a generated client can name its methods by: the endpoint function's
    name in camelCase (``create_tenant`` -> ``createTenant``), stable as long as the
    function keeps its name. Two operations with one name stop the app at start."""
    taken: dict[str, str] = {}

    def operation_id(route: APIRoute) -> str:
        head, *rest = route.name.split("_")
        name = head + "".join(part.capitalize() for part in rest)
        where = f"{sorted(route.methods or ())} {route.path_format}"
        if taken.setdefault(name, where) != where:
            raise RuntimeError(f"operation id {name!r} of {where} is taken by {taken[name]}")
        return name

    return operation_id


def create_app() -> FastAPI:
    app_settings().require_audit_anchor()
    setup_tracing("taas-api")
    wire()
    celery_app()
    app = FastAPI(
        title="TaaS control plane",
        version=__version__,
        description="Provision and operate isolated bank tenants. Errors are "
        "`application/problem+json` with a `hint` saying what to do next; their `type` is "
        "`urn:taas:problem:<kind>` (docs/problems.md).",
        generate_unique_id_function=operation_ids(),
    )

    @app.middleware("http")
    async def request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        incoming = request.headers.get("x-request-id", "")
        request.state.request_id = incoming[:100] if incoming else uuid.uuid4().hex
        # FastAPI opens the request's server span around this middleware; the tenant the
        # endpoint resolved is added to it once the endpoint has run.
        server_span = trace.get_current_span()
        server_span.set_attribute("request.id", request.state.request_id)
        tenants = request_tenant_holder()
        response = await call_next(request)
        if tenants:
            server_span.set_attribute("tenant.id", tenants[-1])
        response.headers["X-Request-Id"] = request.state.request_id
        return response

    @app.exception_handler(TaasError)
    async def taas_error(request: Request, exc: TaasError) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
        extra: dict[str, object] = {**exc.extra, "hint": exc.hint}
        if isinstance(exc, IllegalTransition):
            extra["current_status"] = exc.current.value
        _audit_rejection(request, status, exc.message)
        return _problem(request, status, exc.message, **extra)

    async def unauthenticated(request: Request) -> JSONResponse | None:
        # Verifying a token may fetch signing keys: not on the event loop.
        failure = await run_in_threadpool(authentication_failure, request)
        if failure is None:
            return None
        _audit_rejection(request, 401, failure.message)
        return _problem(request, 401, failure.message, hint=failure.hint)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        if refused := await unauthenticated(request):
            return refused
        errors = [
            {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg"))}
            for error in exc.errors()
        ]
        _audit_rejection(request, 422, "invalid request")
        return _problem(
            request,
            422,
            "the request does not match the API schema",
            errors=errors,
            hint="see the OpenAPI document at /openapi.json",
        )

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL refused a value the schema let through (a NUL character, say).
        reason = str(exc.orig).splitlines()[0] if exc.orig else "invalid value"
        _audit_rejection(request, 422, "a value cannot be stored")
        return _problem(
            request,
            422,
            f"a value in the request cannot be stored or searched: {reason}",
            hint="remove control characters such as NUL from the request",
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and (refused := await unauthenticated(request)):
            return refused  # a body that could not be decoded, from an anonymous caller
        return _problem(request, exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _problem(request, 500, "unexpected error; it was logged with the request id")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", responses=problems(503), tags=["health"])
    def readyz() -> dict[str, str]:
        """Ready when the control-plane database answers."""
        try:
            with new_session() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:
            raise TemporaryError("the control-plane database does not answer") from exc
        return {"status": "ready"}

    app.include_router(tenant_endpoints.router)
    app.include_router(audit_endpoints.router)
    app.include_router(operator_endpoints.router)
    app.include_router(approval_endpoints.router)
    for router in (
        plugin_endpoints.vendors,
        usage_endpoints.vendor_usage_router,
        plugin_endpoints.plugins,
        catalog_endpoints.catalog,
        subscription_endpoints.subscriptions,
        usage_endpoints.tenant_usage_router,
        subscription_endpoints.storage,
    ):
        app.include_router(router)
    return app


app = create_app()
