"""The gateway: a raw ASGI app serving ``/t/{tenant}/{module}/{path}`` (run it with uvicorn).

Each call goes through, in order: path, bearer token (against the tenant's issuer),
tenant status, module and subscription, scopes, rate limits and quota (Redis), then the
module upstream over pooled connections with signed identity headers. Every refusal is
problem+json. Calls a module answered are metered as billable calls; the gateway's own
answers to a known bank are metered apart, as refusals by reason (see ``metering``).
``GET /t/{tenant}/openapi.json`` answers a token of that bank with the OpenAPI document
of the modules it subscribes to (see ``documents``). ``/_gateway/healthz``,
``/_gateway/readyz`` and ``/_gateway/routes/version`` report on the gateway itself.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import psycopg
from opentelemetry.trace import SpanKind
from redis.asyncio import BlockingConnectionPool, Redis
from yarl import URL

from taas.gateway.documents import Documents, routed_versions
from taas.gateway.errors import Rejection, problem_response
from taas.gateway.limits import RateLimiter
from taas.gateway.metering import Meter
from taas.gateway.proxy import (
    Incoming,
    parse_document_path,
    parse_target,
    read_incoming,
    response_headers,
    sane_request_id,
    upstream_session,
)
from taas.gateway.routes import Route, RouteTable, Snapshot, Tenant
from taas.gateway.tokens import Caller, JwksUnavailable, TokenVerifier
from taas.kit import grants
from taas.kit.settings import AppSettings, app_settings
from taas.kit.signing import STORAGE_GRANT, identity_headers
from taas.kit.telemetry import continue_trace, current_traceparent, setup_tracing, tracer

log = logging.getLogger("taas.gateway")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_SMALL_BODY = 64 * 1024  # upstream responses up to this size are sent in one piece
_JSON = [(b"content-type", b"application/json")]


class ClientGone(Exception):
    """The caller disconnected while its request body was being forwarded."""


@dataclass(slots=True)
class Call:
    """One module call: what came in, and what happened (for metering and its span)."""

    scope: Scope
    receive: Receive
    send: Send
    incoming: Incoming
    request_id: str
    tenant_slug: str
    module: str
    rest: str
    traceparent: str | None = None
    status: int = 500
    bytes_in: int = 0
    bytes_out: int = 0
    started: bool = False
    tenant: Tenant | None = None
    route: Route | None = None
    refusal: str | None = None  # why the gateway answered itself (None: the module answered)


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
        self.tokens = TokenVerifier(
            keycloak_url=settings.keycloak_url,
            banks_realm=settings.banks_realm,
            fetch_jwks=self._fetch_jwks,
            refetch_s=settings.gateway_jwks_refetch_s,
            max_age_s=settings.gateway_jwks_max_age_s,
            cache_size=settings.gateway_token_cache_size,
        )
        # With no exporter, spans would be made and thrown away: skip them and pass the
        # caller's traceparent on as it came, so the module still continues its trace.
        self.tracing = os.environ.get("TAAS_OTEL_EXPORTER", "none") != "none"
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._grants: dict[tuple[str, str, str], tuple[float, str]] = {}
        # aiohttp sessions need the running loop: made at start-up.
        self._upstream: aiohttp.ClientSession | None = None
        self._jwks: aiohttp.ClientSession | None = None

    # ----------------------------------------------------------------- lifespan

    async def startup(self) -> None:
        """Open the upstream pool and start following routes and writing usage."""
        setup_tracing("taas-gateway")
        self._upstream = upstream_session(connections=self.settings.gateway_upstream_connections)
        self._jwks = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=5)
        )
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
        for session in (self._upstream, self._jwks):
            if session is not None:
                await session.close()
        await self.redis.aclose()

    async def _fetch_jwks(self, issuer: str) -> dict[str, Any]:
        if self._jwks is None:
            raise JwksUnavailable("the gateway is not started")
        try:
            async with self._jwks.get(f"{issuer}/protocol/openid-connect/certs") as resp:
                if resp.status == 404:
                    return {"keys": []}  # the realm is gone: its tokens are simply invalid
                if resp.status != 200:
                    raise JwksUnavailable(f"HTTP {resp.status}")
                document: dict[str, Any] = await resp.json()
                return document
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise JwksUnavailable(type(exc).__name__) from exc

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
                await self._document(scope, send, document_of)
            elif path.startswith(b"/t/"):
                await self._module_call(scope, receive, send, path)
            else:
                await self._admin(send, path)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1003})

    async def _admin(self, send: Send, path: bytes) -> None:
        snapshot = self.routes.snapshot
        if path == b"/_gateway/healthz":
            await _json(send, 200, {"status": "ok"})
        elif path == b"/_gateway/readyz" and snapshot.ready:
            await _json(send, 200, {"status": "ready", "generation": snapshot.generation})
        elif path == b"/_gateway/readyz":
            await _reject(send, _not_ready(), uuid.uuid4().hex)
        elif path == b"/_gateway/routes/version":
            document = {
                "generation": snapshot.generation,
                "loaded_at": snapshot.loaded_at,
                "tenants": len(snapshot.tenants),
                "routes": len(snapshot.routes),
                "listening": self.routes.listening,
                "synced": self.routes.synced,
                "full_reloads": self.routes.full_reloads,
                "incremental_updates": self.routes.incremental_updates,
            }
            await _json(send, 200, document)
        else:
            await _reject(send, _no_such_path(), uuid.uuid4().hex)

    # ----------------------------------------------------------------- API reference

    async def _document(self, scope: Scope, send: Send, slug: str) -> None:
        """The bank's API reference, to a token of that bank only."""
        incoming = read_incoming(scope["headers"])
        request_id = sane_request_id(incoming.request_id) or os.urandom(16).hex()
        if scope["method"] not in ("GET", "HEAD"):
            not_allowed = Rejection(
                405,
                "method-not-allowed",
                "the API reference can only be read",
                hint=f"GET /t/{slug}/openapi.json",
            )
            await _reject(send, not_allowed, request_id)
            return
        try:
            snapshot = self.routes.snapshot
            if not snapshot.ready:
                raise _not_ready()
            _, tenant = await self._bank_of(incoming, slug, snapshot)
            body = await self.documents.document(tenant.id, slug, routed_versions(snapshot, slug))
        except Rejection as rejection:
            await _reject(send, rejection, request_id)
            return
        except (psycopg.Error, OSError):
            log.warning("API reference of %s not read", slug, exc_info=True)
            await _reject(send, _documents_unavailable(), request_id)
            return
        headers = [
            *_JSON,
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"private, no-cache"),
            (b"x-request-id", request_id.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    async def _bank_of(
        self, incoming: Incoming, slug: str, snapshot: Snapshot
    ) -> tuple[Caller, Tenant]:
        """The caller, if its token is one of bank ``slug``'s, and the bank, if it is active.

        Another bank's slug and an unknown slug get the same refusal: nothing tells a
        caller whether a bank it does not belong to exists.
        """
        caller = await self.tokens.verify(incoming.authorization, snapshot.tenants)
        tenant = snapshot.tenants.get(slug)
        if (
            tenant is None
            or caller.tenant != slug
            or caller.issuer != self.tokens.issuer_for(tenant)
        ):
            raise Rejection(
                403,
                "wrong-tenant",
                f"the token does not belong to bank {slug!r}",
                hint="call with a token issued to this bank's own systems or users",
            )
        return caller, tenant

    # ----------------------------------------------------------------- module calls

    async def _module_call(self, scope: Scope, receive: Receive, send: Send, path: bytes) -> None:
        started = time.perf_counter()
        incoming = read_incoming(scope["headers"])
        request_id = sane_request_id(incoming.request_id) or os.urandom(16).hex()
        target = parse_target(path)
        if target is None:
            await _reject(send, _no_such_path(), request_id)
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
            caller, tenant, route = await self._authorize(call)
            await self.limiter.check(tenant, route)
            await self._forward(call, caller, tenant, route)
        except Rejection as rejection:
            call.status = rejection.status
            if call.started:
                raise
            call.refusal = rejection.code
            await _reject(call.send, rejection, call.request_id)
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
            await _reject(call.send, _internal(), call.request_id)

    async def _authorize(self, call: Call) -> tuple[Caller, Tenant, Route]:
        """Token, tenant, module, subscription, version and scopes, in that order."""
        slug, module = call.tenant_slug, call.module
        snapshot = self.routes.snapshot  # this call keeps this snapshot to its end
        if not snapshot.ready:
            raise _not_ready()
        caller, tenant = await self._bank_of(call.incoming, slug, snapshot)
        call.tenant = tenant
        if tenant.status != "active":
            raise Rejection(
                503,
                "tenant-suspended",
                f"bank {slug!r} is {tenant.status}; its calls are not served",
                hint="the bank's admin can ask the TaaS operators to resume the bank",
            )
        route = snapshot.routes.get((slug, module))
        if route is None:
            if module not in snapshot.modules:
                raise Rejection(
                    404,
                    "unknown-module",
                    f"there is no module {module!r}",
                    hint="see the module catalog for the modules on offer",
                )
            raise Rejection(
                403,
                "not-subscribed",
                f"bank {slug!r} is not subscribed to module {module!r}",
                hint="the bank's admin can subscribe to it in the module catalog",
            )
        call.route = route
        if not route.live:
            raise Rejection(
                503,
                "version-withdrawn",
                f"version {route.version} of module {module!r} is {route.version_status}",
                hint=_withdrawn_hint(route),
                module=module,
                version=route.version,
                version_status=route.version_status,
            )
        missing = route.scopes - caller.scopes
        if missing:
            names = sorted(missing)
            raise Rejection(
                403,
                "missing-scopes",
                f"module {module!r} needs scopes the token lacks: {' '.join(names)}",
                hint="request a token that includes these scopes",
                missing_scopes=names,
            )
        return caller, tenant, route

    def _timeout(self, route: Route) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(route.timeout_s)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=route.timeout_s, sock_connect=self.settings.gateway_connect_timeout_s
            )
            self._timeouts[route.timeout_s] = timeout
        return timeout

    def _upstream_headers(
        self, call: Call, caller: Caller, tenant: Tenant, route: Route
    ) -> list[tuple[str, str]]:
        """The caller's headers that may cross, plus the signed identity headers."""
        headers = call.incoming.forward
        headers += identity_headers(
            route.sign,
            timestamp=str(int(time.time())),
            method=call.scope["method"],
            path=call.rest,
            tenant=tenant.slug,
            tenant_id=tenant.id,
            caller=caller.subject,
            caller_client=caller.client,
            scopes=caller.scope_text,
            module=route.module,
            version=route.version,
            request_id=call.request_id,
        )
        if route.storage and self.settings.storage_grant_secret:
            headers.append((STORAGE_GRANT, self._grant(route)))
        if call.traceparent:
            headers.append(("traceparent", call.traceparent))
            if call.incoming.tracestate:
                headers.append(("tracestate", call.incoming.tracestate.decode("latin-1")))
        return headers

    def _grant(self, route: Route) -> str:
        """A storage grant for the route's tenant and module, re-used while fresh."""
        key = (route.tenant_id, route.module, route.version)
        now = time.time()
        cached = self._grants.get(key)
        if cached is not None and cached[0] - now > self.settings.storage_grant_ttl_s / 2:
            return cached[1]
        expires = now + self.settings.storage_grant_ttl_s
        token = grants.issue(
            self.settings.storage_grant_secret,
            grants.Grant(
                tenant=route.tenant,
                tenant_id=route.tenant_id,
                module=route.module,
                version=route.version,
                access=route.storage,
                expires_at=expires,
            ),
        )
        self._grants[key] = (expires, token)
        return token

    async def _forward(self, call: Call, caller: Caller, tenant: Tenant, route: Route) -> None:
        session = self._upstream
        if session is None:
            raise _not_ready()
        headers = self._upstream_headers(call, caller, tenant, route)
        url = route.upstream_url + call.rest
        query: bytes = call.scope["query_string"]
        if query:
            url += "?" + query.decode("latin-1")
        data: bytes | AsyncIterator[bytes] | None = None
        if call.incoming.has_body:
            data = await _request_body(call)
        try:
            response = await session.request(
                call.scope["method"],
                URL(url, encoded=True),
                headers=headers,
                data=data,
                allow_redirects=False,
                timeout=self._timeout(route),
            )
        except TimeoutError as exc:
            raise _timed_out(route) from exc
        except aiohttp.ClientError as exc:
            raise _unreachable(route, exc) from exc
        try:
            await _relay(call, response)
        except TimeoutError as exc:
            raise _timed_out(route) from exc
        except aiohttp.ClientError as exc:
            raise _unreachable(route, exc) from exc
        finally:
            response.release()


async def _request_body(call: Call) -> bytes | AsyncIterator[bytes]:
    """The body in one piece if it came in one message, else a stream of its chunks."""
    message = await call.receive()
    if message["type"] == "http.disconnect":
        raise ClientGone
    first: bytes = message.get("body", b"")
    call.bytes_in += len(first)
    if not message.get("more_body", False):
        return first
    return _stream_body(first, call)


async def _stream_body(first: bytes, call: Call) -> AsyncIterator[bytes]:
    if first:
        yield first
    while True:
        message = await call.receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        if chunk:
            call.bytes_in += len(chunk)
            yield chunk
        if not message.get("more_body", False):
            return


async def _relay(call: Call, response: aiohttp.ClientResponse) -> None:
    """Send the module's response back; bodies above a few KiB are streamed."""
    headers = response_headers(response.raw_headers, call.request_id.encode())
    start = {"type": "http.response.start", "status": response.status, "headers": headers}
    length = response.content_length
    if length is not None and length <= _SMALL_BODY:
        body = await response.read()  # before the start: a failure here is still a 502
        call.status, call.started = response.status, True
        await call.send(start)
        call.bytes_out = len(body)
        await call.send({"type": "http.response.body", "body": body})
        return
    call.status, call.started = response.status, True
    await call.send(start)
    async for chunk in response.content.iter_any():
        call.bytes_out += len(chunk)
        await call.send({"type": "http.response.body", "body": chunk, "more_body": True})
    await call.send({"type": "http.response.body", "body": b""})


def _withdrawn_hint(route: Route) -> str:
    """What a bank can do about a call to a version that is not served."""
    path = f"/v1/tenants/{route.tenant}/subscriptions/{route.module}"
    if route.version_status == "suspended":
        return (
            "the TaaS operators suspended this version for now; calls are served again when "
            f"it is resumed, or the bank's admin can move to another version (PATCH {path}); "
            f"GET {path} shows the notice"
        )
    if route.version_status == "revoked":
        return (
            "the version was revoked for good; the bank's admin must move the subscription to "
            f'a published version (PATCH {path} with {{"channel": "stable"}} or a version) or '
            f"unsubscribe; GET {path} shows the notice"
        )
    return f"the version is not served; the bank's admin can move to another version ({path})"


def _not_ready() -> Rejection:
    return Rejection(
        503,
        "not-ready",
        "the gateway has not loaded its route table yet",
        hint="retry in a few seconds; the gateway keeps trying to reach its database",
    )


def _documents_unavailable() -> Rejection:
    return Rejection(
        503,
        "documents-unavailable",
        "the API reference cannot be read right now",
        hint="retry in a few seconds; the gateway keeps trying to reach its database",
    )


def _no_such_path() -> Rejection:
    return Rejection(
        404,
        "no-such-path",
        "the gateway serves /t/{tenant}/{module}/{path}",
        hint="call a module as /t/<bank>/<module>/<path>",
    )


def _internal() -> Rejection:
    return Rejection(
        500,
        "internal",
        "unexpected error in the gateway; it was logged with the request id",
        hint="retry; if it lasts, tell the TaaS operators the request id",
    )


def _timed_out(route: Route) -> Rejection:
    return Rejection(
        504,
        "upstream-timeout",
        f"module {route.module!r} did not answer within {route.timeout_s:g} s",
        hint="retry later; if it lasts, the module's vendor has to look at it",
    )


def _unreachable(route: Route, exc: Exception) -> Rejection:
    return Rejection(
        502,
        "upstream-unreachable",
        f"module {route.module!r} cannot be reached ({type(exc).__name__})",
        hint="retry later; if it lasts, the module's vendor has to look at it",
    )


async def _reject(send: Send, rejection: Rejection, request_id: str) -> None:
    status, headers, body = problem_response(rejection, request_id)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, document: dict[str, Any]) -> None:
    body = json.dumps(document).encode()
    headers = [*_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app() -> Gateway:
    """The gateway app for ``uvicorn --factory`` (settings from ``TAAS_*``)."""
    return Gateway()
