"""The check in front of every route: only calls the TaaS gateway signed get through.

A call without a valid signature (``taas_sdk.signing``) is refused with 401 before any
route runs; the health probes need none. The verified caller goes on
``request.state.caller``, and with tracing on each call is a server span in the caller's
trace, with the tenant on it.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from taas_sdk import signing
from taas_sdk.caller import Caller
from taas_sdk.info import ModuleInfo
from taas_sdk.problems import problem
from taas_sdk.settings import ModuleSettings

# Which instance answered a gateway call (the pod's name, when the platform runs the module).
SERVED_BY = "X-Served-By"
HOSTNAME = socket.gethostname()

OPEN_PATHS = frozenset({"/healthz", "/readyz"})
_propagator = TraceContextTextMapPropagator()
Middleware = Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]


def _signed_path(request: Request) -> str:
    """The path as the gateway signed it: as received (percent-encoded), no query."""
    path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    return str(path.split("?", 1)[0])


def gateway_only(info: ModuleInfo, *, tracing: bool) -> Middleware:
    """The HTTP middleware of a module app (``app.middleware("http")(...)``)."""
    tracer = trace.get_tracer("taas_sdk")

    async def check(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = _signed_path(request)
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
            response = await call_next(request)
            response.headers[SERVED_BY] = HOSTNAME
            return response
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
            response.headers[SERVED_BY] = HOSTNAME
            return response

    return check
