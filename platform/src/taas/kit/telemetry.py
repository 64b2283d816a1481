"""OpenTelemetry set-up and the ``traced`` decorator used on every outside call.

Spans carry ``tenant.id`` whenever the call is about a tenant. Exporters are chosen by
``TAAS_OTEL_EXPORTER``: ``none`` (default), ``console``, or ``jsonl`` with the file in
``TAAS_OTEL_FILE`` (one JSON object per span; the tests read it to follow one trace
across the API and worker processes).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

P = ParamSpec("P")
R = TypeVar("R")

_PROPAGATOR = TraceContextTextMapPropagator()
_TENANT: ContextVar[str | None] = ContextVar("taas_tenant_id", default=None)


class TenantSpanProcessor(SpanProcessor):
    """Stamps ``tenant.id`` on every span started while a tenant is bound."""

    def on_start(self, span: Span, parent_context: context.Context | None = None) -> None:
        tenant = _TENANT.get()
        if tenant is not None:
            span.set_attribute("tenant.id", tenant)


_REQUEST_TENANT: ContextVar[list[str] | None] = ContextVar("taas_request_tenant", default=None)


def bind_tenant(tenant_id: object) -> None:
    """From now on in this context, spans carry ``tenant.id`` (and so does the current one).

    Inside an API request the tenant is also handed back to the request's own span, which
    the middleware finishes after the endpoint has run.
    """
    _TENANT.set(str(tenant_id))
    trace.get_current_span().set_attribute("tenant.id", str(tenant_id))
    holder = _REQUEST_TENANT.get()
    if holder is not None:
        holder.append(str(tenant_id))


def request_tenant_holder() -> list[str]:
    """A fresh holder that ``bind_tenant`` fills during one request."""
    holder: list[str] = []
    _REQUEST_TENANT.set(holder)
    return holder


from taas_sdk.telemetry import JsonLinesSpanExporter  # noqa: E402 - one implementation

_configured = False
_lock = threading.Lock()


def setup_tracing(service_name: str) -> None:
    """Install the tracer provider once per process, with the exporter the env asks for."""
    global _configured  # noqa: PLW0603 - one provider per process
    with _lock:
        if _configured:
            return
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        provider.add_span_processor(TenantSpanProcessor())
        exporter_name = os.environ.get("TAAS_OTEL_EXPORTER", "none")
        exporter: SpanExporter | None = None
        if exporter_name == "console":
            exporter = ConsoleSpanExporter()
        elif exporter_name == "jsonl":
            exporter = JsonLinesSpanExporter(Path(os.environ["TAAS_OTEL_FILE"]))
        if exporter is not None:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        _configured = True


def tracer() -> trace.Tracer:
    return trace.get_tracer("taas")


def _tenant_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    for value in (*args, *kwargs.values()):
        if hasattr(value, "slug") and hasattr(value, "id"):
            return value
    return None


def traced(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the function in a span named ``name``; tag it with the tenant found in its args."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with tracer().start_as_current_span(name) as span:
                tenant = _tenant_of(args, kwargs)
                if tenant is not None:
                    span.set_attribute("tenant.id", str(tenant.id))
                    span.set_attribute("tenant.slug", str(tenant.slug))
                return func(*args, **kwargs)

        return wrapper

    return decorate


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, to hand to another process."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def continue_trace(traceparent: str | None) -> AbstractContextManager[Any]:
    """Make ``traceparent`` the parent of spans started inside the block."""
    ctx = _PROPAGATOR.extract({"traceparent": traceparent} if traceparent else {})
    return _Attached(ctx)


class _Attached(AbstractContextManager[None]):
    def __init__(self, ctx: context.Context) -> None:
        self.ctx = ctx
        self.token: object | None = None

    def __enter__(self) -> None:
        self.token = context.attach(self.ctx)

    def __exit__(self, *exc: object) -> None:
        if self.token is not None:
            context.detach(self.token)  # type: ignore[arg-type]
