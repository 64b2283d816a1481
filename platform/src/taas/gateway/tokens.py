"""Bearer tokens of bank systems: verified once against the issuer's keys, then cached.

Accepted issuers are the shared bank realm (pool tenants; the tenant is the
``taas_tenant`` claim or the single ``organization``) and the own realm ``bank-<slug>``
of a silo or dedicated tenant the route table knows. Only access tokens (``typ: Bearer``)
issued to the tenant's systems client (``azp`` = ``<slug>-systems``, the client its
subscriptions grant module scopes to) are accepted: an ID token, or a token of another
client of the bank's realm (the console a bank admin logs in with, say), is 401.
Signing keys (JWKS) are fetched asynchronously per issuer, again when a token names an
unknown key id (at most once per ``refetch_s``) and when they are older than
``max_age_s``. A verified token is kept in a bounded LRU cache keyed by the header value
until its ``exp``; ``exp`` is checked on every use. Only RS256 is accepted (what Keycloak
signs access tokens with).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from taas.gateway.errors import Rejection
from taas.gateway.routes import Tenant
from taas.kit.auth import (
    ACCESS_TOKEN_TYPE,
    SYSTEMS_CLIENT_SUFFIX,
    TENANT_REALM_PREFIX,
    pool_tenant,
    signing_keys,
)

ALGORITHMS = ["RS256"]
FetchJwks = Callable[[str], Awaitable[dict[str, Any]]]
_LOGIN_HINT = "get a new access token from the bank's identity provider and send it as Bearer"


class JwksUnavailable(Exception):
    """The issuer's keys could not be fetched (network error or bad answer)."""


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified token: who calls, for which tenant, with which scopes, until when."""

    subject: str
    client: str
    scopes: frozenset[str]
    scope_text: str
    tenant: str
    issuer: str
    expires_at: float


@dataclass
class _Keys:
    by_kid: dict[str, Any] = field(default_factory=dict)
    fetched_at: float = float("-inf")
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _unauthorized(detail: str, code: str = "invalid-token") -> Rejection:
    return Rejection(401, code, detail, hint=_LOGIN_HINT)


class TokenVerifier:
    """Turns an ``Authorization`` header into a verified ``Caller`` or a 401 ``Rejection``."""

    def __init__(
        self,
        *,
        keycloak_url: str,
        banks_realm: str,
        fetch_jwks: FetchJwks,
        refetch_s: float = 10.0,
        max_age_s: float = 300.0,
        cache_size: int = 20000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.realms = keycloak_url.rstrip("/") + "/realms/"
        self.banks_issuer = self.realms + banks_realm
        self.fetch_jwks = fetch_jwks
        self.refetch_s = refetch_s
        self.max_age_s = max_age_s
        self.cache_size = cache_size
        self.clock = clock
        self._cache: OrderedDict[bytes, Caller] = OrderedDict()
        self._keys: dict[str, _Keys] = {}

    def issuer_for(self, tenant: Tenant) -> str:
        """The only issuer whose tokens may call as ``tenant``."""
        if tenant.tier == "pool":
            return self.banks_issuer
        return self.realms + TENANT_REALM_PREFIX + tenant.slug

    async def verify(self, authorization: bytes | None, tenants: Mapping[str, Tenant]) -> Caller:
        """The caller named by ``authorization`` (``Bearer <jwt>``); 401 if it is not valid."""
        if not authorization:
            raise _unauthorized("no bearer token", code="missing-token")
        cached = self._cache.get(authorization)
        if cached is not None:
            if cached.expires_at <= self.clock():
                del self._cache[authorization]
                raise _unauthorized("the token has expired", code="expired-token")
            self._cache.move_to_end(authorization)
            return cached
        caller = await self._verify(authorization, tenants)
        self._cache[authorization] = caller
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return caller

    def _trusted_issuer(self, issuer: str, tenants: Mapping[str, Tenant]) -> bool:
        if issuer == self.banks_issuer:
            return True
        slug = issuer.removeprefix(self.realms + TENANT_REALM_PREFIX)
        tenant = tenants.get(slug) if slug != issuer else None
        return tenant is not None and tenant.tier != "pool"

    async def _verify(self, authorization: bytes, tenants: Mapping[str, Tenant]) -> Caller:
        token, header, issuer = self._unverified(authorization, tenants)
        key = await self._key(issuer, str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                issuer=issuer,
                options={
                    "verify_aud": False,
                    "verify_exp": False,  # checked below against our own clock
                    "verify_iat": False,
                    "require": ["exp", "iat", "iss", "sub"],
                },
            )
        except jwt.InvalidTokenError as exc:
            raise _unauthorized(f"the token is not valid ({exc})") from exc
        expires_at = float(claims["exp"])
        if expires_at <= self.clock():
            raise _unauthorized("the token has expired", code="expired-token")
        if issuer == self.banks_issuer:
            tenant = pool_tenant(claims)
            if tenant is None:
                raise _unauthorized("the token names no single bank (organization)")
        else:
            tenant = issuer.removeprefix(self.realms + TENANT_REALM_PREFIX)
        return caller_of(claims, tenant, issuer, expires_at)

    def _unverified(
        self, authorization: bytes, tenants: Mapping[str, Tenant]
    ) -> tuple[str, dict[str, Any], str]:
        """The token, its header and its issuer, once the header is well formed, the issuer
        one this gateway trusts and the algorithm one it accepts (nothing is verified yet)."""
        scheme, _, raw = authorization.partition(b" ")
        if scheme.lower() != b"bearer" or not raw.strip():
            raise _unauthorized("the Authorization header is not 'Bearer <token>'")
        try:
            token = raw.strip().decode("ascii")
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except (UnicodeDecodeError, jwt.InvalidTokenError) as exc:
            raise _unauthorized(f"the token is not a well-formed JWT ({exc})") from exc
        issuer = str(unverified.get("iss", ""))
        if not self._trusted_issuer(issuer, tenants):
            raise _unauthorized("the token's issuer is not one this gateway accepts")
        if header.get("alg") not in ALGORITHMS:
            raise _unauthorized(f"tokens signed with {header.get('alg')!r} are not accepted")
        return token, header, issuer

    async def _key(self, issuer: str, kid: str) -> Any:
        keys = self._keys.setdefault(issuer, _Keys())
        now = time.monotonic()
        if kid in keys.by_kid and now - keys.fetched_at < self.max_age_s:
            return keys.by_kid[kid]
        async with keys.lock:
            now = time.monotonic()
            fresh = now - keys.fetched_at < self.max_age_s
            if kid in keys.by_kid and fresh:
                return keys.by_kid[kid]  # another call fetched them meanwhile
            if not fresh or now - keys.fetched_at >= self.refetch_s:
                try:
                    keys.by_kid = signing_keys(await self.fetch_jwks(issuer))
                except JwksUnavailable as exc:
                    raise Rejection(
                        503,
                        "identity-unavailable",
                        f"the signing keys of {issuer} cannot be fetched ({exc})",
                        hint="retry in a few seconds; if it lasts, tell the TaaS operators",
                    ) from exc
                keys.fetched_at = now
        if kid not in keys.by_kid:
            raise _unauthorized("the token is signed with a key its issuer does not publish")
        return keys.by_kid[kid]


def caller_of(claims: Mapping[str, Any], tenant: str, issuer: str, expires_at: float) -> Caller:
    """The caller a verified token of ``tenant`` names, if it is an access token of the
    bank's systems client with printable identities."""
    if claims.get("typ") != ACCESS_TOKEN_TYPE:
        raise _unauthorized(
            f"a {str(claims.get('typ'))[:20]!r} token is not an access token; "
            "send the access_token, not the id_token",
            code="wrong-token-type",
        )
    subject, client = str(claims["sub"]), str(claims.get("azp", ""))
    if client != tenant + SYSTEMS_CLIENT_SUFFIX:
        raise _unauthorized(
            f"tokens of client {client[:80]!r} are not accepted here; only the bank's "
            f"systems client ({tenant}{SYSTEMS_CLIENT_SUFFIX}) may call modules",
            code="wrong-client",
        )
    scope_claim = str(claims.get("scope", ""))
    if not (subject.isprintable() and client.isprintable() and scope_claim.isprintable()):
        raise _unauthorized("the token's sub, azp or scope holds control characters")
    scopes = frozenset(scope_claim.split())
    return Caller(
        subject=subject,
        client=client,
        scopes=scopes,
        scope_text=" ".join(sorted(scopes)),
        tenant=tenant,
        issuer=issuer,
        expires_at=expires_at,
    )
