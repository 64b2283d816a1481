"""``create_app``: a FastAPI app that only answers calls that came through the TaaS gateway.

Every route except the health probes requires the gateway's signed identity headers
(``taas_sdk.signing``); anything else is refused with 401 before the route runs. The
verified caller is on ``request.state.caller`` (``CurrentCaller`` in a route). Errors are
``application/problem+json``. The app's own OpenAPI document becomes its manifest
(``taas_sdk.manifest``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.exceptions import HTTPException as StarletteHTTPException

from taas_sdk import signing, telemetry
from taas_sdk.caller import Caller, MissingScopes
from taas_sdk.settings import ModuleSettings
from taas_sdk.storage import CredentialBroker

PROBLEM_JSON = "application/problem+json"
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
UNPARSABLE_BODY = "There was an error parsing the body"
"""What FastAPI says (with a 400) when a JSON body cannot be decoded."""
_propagator = TraceContextTextMapPropagator()


@dataclass(frozen=True)
class ModuleInfo:
    """What the module says about itself in its manifest."""

    name: str
    version: str
    capability: str
    summary: str
    scopes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    pricing: dict[str, Any] = field(default_factory=dict)
    timeout_s: float = 30.0
    operation_scopes: list[str] = field(default_factory=list)
    """Scopes only some operations need (checked with ``require_scopes``)."""


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


def _declare_problem_422s(schema: dict[str, Any]) -> None:
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


def create_app(
    *,
    name: str,
    version: str,
    capability: str,
    summary: str,
    scopes: list[str] | None = None,
    data: dict[str, Any] | None = None,
    resources: dict[str, Any] | None = None,
    pricing: dict[str, Any] | None = None,
    timeout_s: float = 30.0,
    settings: ModuleSettings | None = None,
    operation_scopes: list[str] | None = None,
) -> FastAPI:
    """A module app: gateway-only routes, health probes, problem+json, tracing.

    ``scopes`` are required by the gateway for every call; ``operation_scopes`` are scopes
    that only some operations need (an admin scope, say): the bank's systems may ask for
    them, and the routes that need them say so with ``dependencies=[require_scopes(...)]``.
    """
    settings = settings or ModuleSettings.from_env()
    info = ModuleInfo(
        name, version, capability, summary, scopes or [], data or {}, resources or {},
        pricing or {}, timeout_s, operation_scopes or [],
    )  # fmt: skip
    app = FastAPI(title=summary, version=version)
    app.state.module = info
    app.state.settings = settings
    app.state.credential_broker = CredentialBroker(settings)
    app.state.storage_factory = None
    tracing = telemetry.setup(f"module-{name}", settings)
    tracer = trace.get_tracer("taas_sdk")

    @app.middleware("http")
    async def gateway_only(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
        path = path.split("?", 1)[0]
        if request.url.path in OPEN_PATHS:
            return await call_next(request)
        current: ModuleSettings = request.app.state.settings
        if not current.signing_secret or not signing.verify_signature(
            request.headers,
            current.signing_secret,
            current.max_skew_s,
            method=request.method,
            path=path,
        ):
            return problem(
                401,
                "not called through the TaaS gateway",
                hint="call this module at <gateway>/t/<tenant>/<module>/...",
            )
        caller = Caller.from_headers(dict(request.headers))
        request.state.caller = caller
        if not tracing:
            return await call_next(request)
        context = _propagator.extract(dict(request.headers))
        with tracer.start_as_current_span(
            f"{info.name} {request.method} {request.url.path}",
            context=context,
            kind=SpanKind.SERVER,
            attributes={
                "tenant.id": caller.tenant_id,
                "tenant.slug": caller.tenant,
                "module": info.name,
                "plugin.version": info.version,
                "request.id": caller.request_id,
            },
        ) as span:
            response = await call_next(request)
            span.set_attribute("http.response.status_code", response.status_code)
            return response

    @app.exception_handler(StarletteHTTPException)
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

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": ".".join(str(p) for p in e.get("loc", ())), "msg": str(e.get("msg"))}
            for e in exc.errors()
        ]
        return problem(
            422, "the request does not match the module's API", errors=errors,
            hint="see the module's OpenAPI document",
        )  # fmt: skip

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _declare_problem_422s(FastAPI.openapi(app))
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/healthz", include_in_schema=True, tags=["health"])
    def healthz() -> dict[str, str]:
        """Alive."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> dict[str, str]:
        return {"status": "ready"}

    return app
