"""``/t/{tenant}/{module}/{path}``: each call is authorized, rate-limited, forwarded to the
module, metered and (with an exporter) traced; every refusal is problem+json."""

from __future__ import annotations

import logging
import os
import time

from opentelemetry.trace import SpanKind

from taas.gateway.asgi import Receive, Scope, Send, send_problem
from taas.gateway.authorization import Authorizer
from taas.gateway.calls import Call, ClientGone
from taas.gateway.errors import Rejection, internal_error, no_such_path
from taas.gateway.limits import RateLimiter
from taas.gateway.metering import Meter
from taas.gateway.proxy import parse_target, read_incoming, sane_request_id
from taas.gateway.routes import RouteTable
from taas.gateway.storage_grants import StorageGrants
from taas.gateway.upstream import Upstream, upstream_headers
from taas.kit.telemetry import continue_trace, current_traceparent, tracer

log = logging.getLogger("taas.gateway")


class ModuleCalls:
    """The pipeline of a module call, from the request to its usage row."""

    def __init__(
        self,
        *,
        routes: RouteTable,
        authorizer: Authorizer,
        limiter: RateLimiter,
        upstream: Upstream,
        meter: Meter,
        grants: StorageGrants | None,
        tracing: bool,
    ) -> None:
        self.routes = routes
        self.authorizer = authorizer
        self.limiter = limiter
        self.upstream = upstream
        self.meter = meter
        self.grants = grants
        # With no exporter, spans would be made and thrown away: skip them and pass the
        # caller's traceparent on as it came, so the module still continues its trace.
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send, path: bytes) -> None:
        started = time.perf_counter()
        incoming = read_incoming(scope["headers"])
        request_id = sane_request_id(incoming.request_id) or os.urandom(16).hex()
        target = parse_target(path)
        if target is None:
            await send_problem(send, no_such_path(), request_id)
            return
        call = Call(scope, receive, send, incoming, request_id, *target)
        try:
            if self.tracing:
                await self._traced(call)
            else:
                if incoming.traceparent:
                    call.traceparent = incoming.traceparent.decode("latin-1")
                await self._handle(call)
        finally:
            self._meter(call, (time.perf_counter() - started) * 1000.0)

    def _meter(self, call: Call, elapsed_ms: float) -> None:
        """Billable if the module answered; a refusal if the gateway answered a known bank.

        Refusals are metered only once the token was the bank's own (``call.tenant``) and
        the module exists, so that nobody can grow another bank's usage rows.
        """
        route = call.route
        if call.refusal is None:
            if route is not None:
                self.meter.record(route, call.status, call.bytes_in, call.bytes_out, elapsed_ms)
            return
        if call.tenant is None:
            return
        if route is None and call.module not in self.routes.snapshot.modules:
            return
        self.meter.record_refusal(
            call.tenant.id,
            call.module,
            route.version if route is not None else "",
            status=call.status,
            reason=call.refusal,
            bytes_in=call.bytes_in,
            latency_ms=elapsed_ms,
        )

    async def _traced(self, call: Call) -> None:
        parent = call.incoming.traceparent
        with (
            continue_trace(parent.decode("latin-1") if parent else None),
            tracer().start_as_current_span(
                f"gateway {call.module}",
                kind=SpanKind.SERVER,
                attributes={
                    "module": call.module,
                    "tenant.slug": call.tenant_slug,
                    "request.id": call.request_id,
                    "http.request.method": call.scope["method"],
                    "url.path": call.scope["path"],
                },
            ) as span,
        ):
            call.traceparent = current_traceparent()
            try:
                await self._handle(call)
            finally:
                span.set_attribute("http.response.status_code", call.status)
                if call.tenant is not None:
                    span.set_attribute("tenant.id", call.tenant.id)
                if call.route is not None:
                    span.set_attribute("plugin.version", call.route.version)

    async def _handle(self, call: Call) -> None:
        try:
            # this call keeps this snapshot to its end
            caller, tenant, route = await self.authorizer.authorize(call, self.routes.snapshot)
            await self.limiter.check(tenant, route)
            headers = upstream_headers(call, caller, tenant, route, self.grants)
            await self.upstream.forward(call, headers, route)
        except Rejection as rejection:
            call.status = rejection.status
            if call.started:
                raise
            call.refusal = rejection.code
            await send_problem(call.send, rejection, call.request_id)
        except ClientGone:
            call.status = 499  # the caller went away mid-upload: no answer, nothing billed
            if not call.started:
                call.refusal = "client-gone"
        except Exception:
            if call.started:
                raise
            log.exception("unexpected error on request %s", call.request_id)
            call.status = 500
            call.refusal = "internal"
            await send_problem(call.send, internal_error(), call.request_id)
