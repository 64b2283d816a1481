"""Forwarding a call to its module over pooled connections, and relaying the answer:
small bodies in one piece, larger ones streamed both ways."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator

import aiohttp
from aiohttp.client import IDEMPOTENT_METHODS
from aiohttp.client_proto import ResponseHandler
from yarl import URL

from taas.gateway.calls import Call, ClientGone
from taas.gateway.cluster_dns import ClusterResolver
from taas.gateway.errors import not_ready, upstream_timed_out, upstream_unreachable
from taas.gateway.proxy import response_headers, upstream_session
from taas.gateway.routes import Route, Tenant
from taas.gateway.storage_grants import StorageGrants
from taas.gateway.tokens import Caller
from taas.kit.signing import STORAGE_GRANT, identity_headers

_SMALL_BODY = 64 * 1024  # upstream responses up to this size are sent in one piece
CONNECT_ATTEMPTS = 6  # a refused connection carried nothing: try again, within 1.7 s
CONNECTION_MAX_AGE_S = 10.0  # a pooled connection to a module is closed after this long


class Upstream:
    """The pooled client for module calls; opened at start-up (it needs the running loop)."""

    def __init__(
        self, *, connections: int, connect_timeout_s: float, cluster_dns: str = ""
    ) -> None:
        self.connections = connections
        self.connect_timeout_s = connect_timeout_s
        self.cluster_dns = cluster_dns
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        # When this gateway first used each pooled connection (forgotten with it).
        self._opened: weakref.WeakKeyDictionary[ResponseHandler, float] = (
            weakref.WeakKeyDictionary()
        )

    def open(self) -> None:
        resolver = ClusterResolver(self.cluster_dns) if self.cluster_dns else None
        self._session = upstream_session(connections=self.connections, resolver=resolver)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _timeout(self, route: Route) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(route.timeout_s)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=route.timeout_s, sock_connect=self.connect_timeout_s
            )
            self._timeouts[route.timeout_s] = timeout
        return timeout

    async def forward(self, call: Call, headers: list[tuple[str, str]], route: Route) -> None:
        """Send the call to the route's upstream and relay the answer to the caller."""
        session = self._session
        if session is None:
            raise not_ready()
        url = route.upstream_url + call.rest
        query: bytes = call.scope["query_string"]
        if query:
            url += "?" + query.decode("latin-1")
        data: bytes | AsyncIterator[bytes] | None = None
        if call.incoming.has_body:
            data = await _request_body(call)
        method, target = call.scope["method"], URL(url, encoded=True)
        timeout = self._timeout(route)
        try:
            response = await self._send(
                session, method, target, headers=headers, data=data, timeout=timeout
            )
        except TimeoutError as exc:
            raise upstream_timed_out(route.module, route.timeout_s) from exc
        except aiohttp.ClientError as exc:
            raise upstream_unreachable(route.module, exc) from exc
        self._retire_if_old(response)
        try:
            await _relay(call, response)
        except TimeoutError as exc:
            raise upstream_timed_out(route.module, route.timeout_s) from exc
        except aiohttp.ClientError as exc:
            raise upstream_unreachable(route.module, exc) from exc
        finally:
            response.release()

    @staticmethod
    async def _send(
        session: aiohttp.ClientSession,
        method: str,
        target: URL,
        *,
        headers: list[tuple[str, str]],
        data: bytes | AsyncIterator[bytes] | None,
        timeout: aiohttp.ClientTimeout,
    ) -> aiohttp.ClientResponse:
        """Send the call, again when that is safe.

        A connection the module's Service refused (a pod that stopped before kube-proxy
        forgot it, or the policy enforcer rewriting its rules) carried nothing: the call
        goes again, up to five times within 1.7 s. A
        pooled connection the module closed before answering (as it stopped) is repeated
        once for idempotent methods (aiohttp does) or for a call with an Idempotency-Key."""
        repeated = False
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                return await session.request(
                    method, target, headers=headers, data=data, allow_redirects=False,
                    timeout=timeout,
                )  # fmt: skip
            except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientConnectorSSLError):
                raise
            except aiohttp.ClientConnectorError:
                if attempt == CONNECT_ATTEMPTS - 1 or isinstance(data, AsyncIterator):
                    raise
                await asyncio.sleep(min(0.1 * 2**attempt, 0.5))
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                if repeated or not _repeatable(method, headers, data):
                    raise
                repeated = True
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _retire_if_old(self, response: aiohttp.ClientResponse) -> None:
        """Close a pooled connection after this call once it has served for a while.

        A module's Service spreads *connections* over its pods, and a busy gateway never
        lets a connection idle: without an age limit, pods added by a scale-out or a new
        pod of a rollout would get no calls from the connections opened before them."""
        connection = response.connection
        protocol = connection.protocol if connection is not None else None
        if protocol is None:
            return
        now = time.monotonic()
        if now - self._opened.setdefault(protocol, now) > CONNECTION_MAX_AGE_S:
            protocol.force_close()  # the connector closes it instead of pooling it


def _repeatable(method: str, headers: list[tuple[str, str]], data: object) -> bool:
    """A call aiohttp did not retry, with its whole body in hand and an ``Idempotency-Key``
    (the module answers a repeat of a key as it answered the first call)."""
    return (
        method not in IDEMPOTENT_METHODS
        and not isinstance(data, AsyncIterator)
        and any(name.lower() == "idempotency-key" for name, _ in headers)
    )


def upstream_headers(
    call: Call, caller: Caller, tenant: Tenant, route: Route, grants: StorageGrants | None
) -> list[tuple[str, str]]:
    """The caller's headers that may cross, plus the signed identity headers (and a storage
    grant when the route uses storage and ``grants`` is given)."""
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
    if route.storage and grants is not None:
        headers.append((STORAGE_GRANT, grants.grant(route)))
    if call.traceparent:
        headers.append(("traceparent", call.traceparent))
        if call.incoming.tracestate:
            headers.append(("tracestate", call.incoming.tracestate.decode("latin-1")))
    return headers


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
