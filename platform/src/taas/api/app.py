"""The FastAPI application of the control plane: ``uvicorn taas.api.app:app``."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request, Response
from fastapi.routing import APIRoute
from opentelemetry import trace

from taas import __version__
from taas.api import health
from taas.api.errors import install_error_handlers
from taas.api.query import single_valued_query
from taas.approvals import endpoints as approval_endpoints
from taas.audit import endpoints as audit_endpoints
from taas.catalog import endpoints as catalog_endpoints
from taas.kit.celery import celery_app
from taas.kit.settings import app_settings
from taas.kit.telemetry import request_tenant_holder, setup_tracing
from taas.operators import endpoints as operator_endpoints
from taas.plugins import endpoints as plugin_endpoints
from taas.subscriptions import endpoints as subscription_endpoints
from taas.tenants import endpoints as tenant_endpoints
from taas.usage import endpoints as usage_endpoints
from taas.wiring import wire

ROUTERS = (
    health.router,
    tenant_endpoints.router,
    audit_endpoints.router,
    operator_endpoints.router,
    approval_endpoints.router,
    plugin_endpoints.vendors,
    usage_endpoints.vendor_usage_router,
    plugin_endpoints.plugins,
    catalog_endpoints.catalog,
    subscription_endpoints.subscriptions,
    usage_endpoints.tenant_usage_router,
    subscription_endpoints.storage,
)


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


async def request_context(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Give every request an id (the caller's ``X-Request-Id`` or a new one), and put it
    and the tenant the endpoint resolved on the request's server span."""
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
        dependencies=[Depends(single_valued_query)],
    )
    app.middleware("http")(request_context)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    return app


app = create_app()
