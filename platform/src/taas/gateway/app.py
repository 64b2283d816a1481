"""The gateway: a raw ASGI app serving ``/t/{tenant}/{module}/{path}`` (run it with uvicorn).

Each call goes through, in order: path, bearer token (against the tenant's issuer),
tenant status, module and subscription, scopes, rate limits and quota (Redis), then the
module upstream over pooled connections with signed identity headers. Every refusal is
problem+json. Calls a module answered are metered as billable calls; the gateway's own
answers to a known bank are metered apart, as refusals by reason (see ``metering``).
``GET /t/{tenant}/openapi.json`` answers a token of that bank with the OpenAPI document
of the modules it subscribes to (see ``documents``). ``/_gateway/healthz``,
``/_gateway/readyz`` and ``/_gateway/routes/version`` report on the gateway itself.

This module wires the parts and routes each request to one of three handlers:
``module_calls`` (the call pipeline), ``reference`` (the API reference) and ``status``
(the gateway's own paths). ``authorization``, ``upstream``, ``storage_grants`` and
``jwks`` are what the handlers are built from.
"""

from __future__ import annotations

import logging
import os

from redis.asyncio import BlockingConnectionPool, Redis

from taas.gateway.asgi import Receive, Scope, Send
from taas.gateway.authorization import Authorizer
from taas.gateway.documents import Documents
from taas.gateway.jwks import JwksClient
from taas.gateway.limits import RateLimiter
from taas.gateway.metering import Meter
from taas.gateway.module_calls import ModuleCalls
from taas.gateway.proxy import parse_document_path
from taas.gateway.reference import ApiReference
from taas.gateway.routes import RouteTable
from taas.gateway.status import serve_status
from taas.gateway.storage_grants import StorageGrants
from taas.gateway.tokens import TokenVerifier
from taas.gateway.upstream import Upstream
from taas.kit.settings import AppSettings, app_settings
from taas.kit.telemetry import setup_tracing

log = logging.getLogger("taas.gateway")


class Gateway:
    """The ASGI application; its clients and background tasks live between lifespan events."""

    def __init__(self, settings: AppSettings | None = None) -> None:
        self.settings = settings = settings or app_settings()
        self.routes = RouteTable(
            settings.database_url,
            coalesce_s=settings.gateway_reload_coalesce_s,
            max_incremental=settings.gateway_route_max_incremental,
        )
        self.meter = Meter(settings.database_url, interval_s=settings.gateway_metering_interval_s)
        self.documents = Documents(self.routes.dsn)
        # A bounded pool that makes callers wait for a connection: the default pool raises
        # "Too many connections" under a burst, which would refuse calls for no reason.
        self.redis = Redis.from_pool(
            BlockingConnectionPool.from_url(
                settings.redis_url,
                max_connections=settings.gateway_redis_connections,
                timeout=settings.gateway_redis_timeout_s,
                socket_connect_timeout=settings.gateway_redis_timeout_s,
            )
        )
        self.limiter = RateLimiter(self.redis, timeout_s=settings.gateway_redis_timeout_s)
        self.jwks = JwksClient()
        self.tokens = TokenVerifier(
            keycloak_url=settings.keycloak_url,
            banks_realm=settings.banks_realm,
            fetch_jwks=self.jwks.fetch,
            refetch_s=settings.gateway_jwks_refetch_s,
            max_age_s=settings.gateway_jwks_max_age_s,
            cache_size=settings.gateway_token_cache_size,
        )
        self.upstream = Upstream(
            connections=settings.gateway_upstream_connections,
            connect_timeout_s=settings.gateway_connect_timeout_s,
            cluster_dns=settings.gateway_cluster_dns,
        )
        authorizer = Authorizer(self.tokens)
        self.reference = ApiReference(self.routes, self.documents, authorizer)
        self.module_calls = ModuleCalls(
            routes=self.routes,
            authorizer=authorizer,
            limiter=self.limiter,
            upstream=self.upstream,
            meter=self.meter,
            grants=(
                StorageGrants(settings.storage_grant_secret, settings.storage_grant_ttl_s)
                if settings.storage_grant_secret
                else None
            ),
            tracing=os.environ.get("TAAS_OTEL_EXPORTER", "none") != "none",
        )

    # ----------------------------------------------------------------- lifespan

    async def startup(self) -> None:
        """Open the upstream pool and start following routes and writing usage."""
        setup_tracing("taas-gateway")
        self.upstream.open()
        self.jwks.open()
        try:
            await self.limiter.load()
        except Exception as exc:
            log.warning("rate-limit script not loaded (%s); calls get 503 until Redis answers", exc)
        self.routes.start()
        self.meter.start()

    async def shutdown(self) -> None:
        """Stop following routes, write the last usage, close the clients."""
        await self.routes.stop()
        await self.meter.stop()
        await self.documents.close()
        await self.upstream.close()
        await self.jwks.close()
        await self.redis.aclose()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("gateway start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ----------------------------------------------------------------- ASGI entry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path: bytes = scope.get("raw_path") or scope["path"].encode()
            document_of = parse_document_path(path)
            if document_of is not None:
                await self.reference(scope, send, document_of)
            elif path.startswith(b"/t/"):
                await self.module_calls(scope, receive, send, path)
            else:
                await serve_status(send, path, self.routes)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1003})


def create_app() -> Gateway:
    """The gateway app for ``uvicorn --factory`` (settings from ``TAAS_*``)."""
    return Gateway()
