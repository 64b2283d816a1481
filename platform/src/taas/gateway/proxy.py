"""The call to the module upstream: which headers cross, and the pooled HTTP client.

Towards the module the gateway drops hop-by-hop headers (and those ``Connection``
names), the caller's credentials (``Authorization``, ``Cookie``, ``Proxy-*``) and every
header the caller must not be able to forge (``X-TaaS-*``, ``Forwarded``,
``X-Forwarded-*``); it then adds the identity headers it vouches for. Towards the caller
it drops hop-by-hop headers and the module's ``Server`` and ``Date``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver

Headers = list[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Never sent upstream: credentials, what the gateway sets itself, and what a caller could forge.
_NOT_FORWARDED = HOP_BY_HOP | {
    b"authorization",
    b"cookie",
    b"expect",
    b"host",
    b"forwarded",
    b"traceparent",
    b"tracestate",
    b"x-request-id",
}
_NOT_FORWARDED_PREFIXES = (b"x-taas-", b"x-forwarded-", b"proxy-")
_NOT_RETURNED = HOP_BY_HOP | {b"server", b"date", b"x-request-id"}
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_SLUG = re.compile(rb"[a-z0-9][a-z0-9-]{0,62}")


@dataclass(slots=True)
class Incoming:
    """What the gateway reads from a request's headers, and the headers it forwards."""

    forward: list[tuple[str, str]]
    authorization: bytes | None = None
    request_id: bytes | None = None
    traceparent: bytes | None = None
    tracestate: bytes | None = None
    has_body: bool = False


def parse_target(path: bytes) -> tuple[str, str, str] | None:
    """``(tenant, module, rest)`` of ``/t/{tenant}/{module}/{rest}``, else None.

    ``rest`` starts with ``/`` and stays percent-encoded; dot segments are refused, so a
    call cannot climb out of the module's upstream path.
    """
    if not path.startswith(b"/t/"):
        return None
    parts = path[3:].split(b"/", 2)
    if len(parts) < 2 or not _SLUG.fullmatch(parts[0]) or not _SLUG.fullmatch(parts[1]):
        return None
    rest = b"/" + parts[2] if len(parts) == 3 else b"/"
    if b"." in rest or b"%2" in rest.lower():
        segments = rest.lower().replace(b"%2e", b".").replace(b"%2f", b"/").split(b"/")
        if b"." in segments or b".." in segments:
            return None
    return parts[0].decode(), parts[1].decode(), rest.decode("latin-1")


def parse_document_path(path: bytes) -> str | None:
    """The bank of ``/t/{tenant}/openapi.json`` (its API reference), else None."""
    if not path.startswith(b"/t/") or not path.endswith(b"/openapi.json"):
        return None
    slug = path[3 : -len(b"/openapi.json")]
    return slug.decode() if _SLUG.fullmatch(slug) else None


def sane_request_id(value: bytes | None) -> str | None:
    """The caller's request id if it is short and plain, else None (the gateway makes one)."""
    if value is not None and _SANE_REQUEST_ID.fullmatch(value):
        return value.decode()
    return None


def read_incoming(headers: Iterable[tuple[bytes, bytes]]) -> Incoming:
    """Split the ASGI request headers (lower-case names) into what is read and what crosses."""
    incoming = Incoming(forward=[])
    forward = incoming.forward
    connection_names: list[bytes] = []
    for name, value in headers:
        if name in _NOT_FORWARDED or name.startswith(_NOT_FORWARDED_PREFIXES):
            if name == b"authorization":
                incoming.authorization = value
            elif name == b"x-request-id":
                incoming.request_id = value
            elif name == b"traceparent":
                incoming.traceparent = value
            elif name == b"tracestate":
                incoming.tracestate = value
            elif name == b"transfer-encoding":
                incoming.has_body = True
            elif name == b"connection":
                connection_names += [token.strip().lower() for token in value.split(b",")]
            continue
        if name == b"content-length":
            incoming.has_body = value != b"0"
        forward.append((name.decode("latin-1"), value.decode("latin-1")))
    if connection_names:
        named = {name.decode("latin-1") for name in connection_names}
        incoming.forward = [(name, value) for name, value in forward if name not in named]
    return incoming


def response_headers(raw: Iterable[tuple[bytes, bytes]], request_id: bytes) -> Headers:
    """The module's response headers that go back to the caller, plus ``X-Request-Id``."""
    headers: Headers = []
    connection_names: set[bytes] = set()
    for name, value in raw:
        lower = name.lower()
        if lower in _NOT_RETURNED:
            if lower == b"connection":
                connection_names.update(token.strip().lower() for token in value.split(b","))
            continue
        headers.append((lower, value))
    if connection_names:
        headers = [(name, value) for name, value in headers if name not in connection_names]
    headers.append((b"x-request-id", request_id))
    return headers


def upstream_session(
    *, connections: int, resolver: AbstractResolver | None = None
) -> aiohttp.ClientSession:
    """The pooled client for module calls: keep-alive, no cookies, no redirects followed,
    bodies passed through as they are (no decompression)."""
    connector = aiohttp.TCPConnector(
        limit=connections,
        limit_per_host=0,
        keepalive_timeout=30,
        resolver=resolver,
        # A Service made again (a version's last bank left, a new one came) has a new
        # address: the cluster DNS answers locally, so ask it again after two seconds.
        ttl_dns_cache=2 if resolver is not None else 10,
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
    )
