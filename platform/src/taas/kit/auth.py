"""Who is calling: bearer tokens issued by the platform's Keycloak, verified by JWKS.

Platform operators and auditors authenticate in the platform realm. Bank admins
authenticate in their tenant's identity space: the shared bank realm (the tenant is the
organization in the ``organization`` claim) or the tenant's own realm ``bank-<slug>``.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
import jwt

from taas.kit.errors import Unauthorized
from taas.kit.settings import AppSettings

OPERATOR = "platform-operator"
AUDITOR = "platform-auditor"
BANK_ADMIN = "bank-admin"
TENANT_REALM_PREFIX = "bank-"
TENANT_CLAIM = "taas_tenant"
VENDOR_CLAIM = "taas_vendor"
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Principal:
    """A verified caller."""

    subject: str
    username: str
    realm: str
    roles: frozenset[str]
    tenant: str | None
    vendor: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.tenant is None and OPERATOR in self.roles

    @property
    def is_auditor(self) -> bool:
        return self.tenant is None and AUDITOR in self.roles

    @property
    def is_vendor(self) -> bool:
        return self.vendor is not None

    @property
    def is_bank_admin(self) -> bool:
        return self.tenant is not None and BANK_ADMIN in self.roles

    @property
    def name(self) -> str:
        """How the audit log names this caller."""
        return f"{self.realm}/{self.username}"


FetchJwks = Callable[[str], dict[str, Any]]
RealmInUse = Callable[[str], bool]
ALGORITHMS = ["RS256", "ES256", "PS256"]
# Keycloak marks access tokens ``typ: Bearer``; ID tokens say ``ID``, refresh tokens ``Refresh``.
ACCESS_TOKEN_TYPE = "Bearer"  # noqa: S105 - a token type, not a secret
CONSOLE_CLIENT = "taas-console"
SYSTEMS_CLIENT_SUFFIX = "-systems"
VENDOR_CLIENT_PREFIX = "vendor-"


def fetch_jwks(url: str) -> dict[str, Any]:
    """The JWKS document at ``url`` (raises ``jwt.PyJWKClientError`` when it cannot)."""
    try:
        response = httpx.get(url, timeout=5)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise jwt.PyJWKClientError(f"cannot fetch the signing keys: {exc}") from exc
    if not isinstance(document, dict):
        raise jwt.PyJWKClientError("the signing keys are not a JWKS document")
    return document


class _LRU(Generic[K, V]):
    """A small least-recently-used map with a fixed capacity (not thread-safe by itself)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class _IssuerKeys:
    by_kid: dict[str, Any] = field(default_factory=dict)
    fetched_at: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)


class TokenVerifier:
    """Verifies access tokens against the issuing realm's keys.

    Only issuers of known realms are trusted: the platform, bank and vendor realms, and
    ``bank-<slug>`` only while ``realm_in_use(slug)`` says a (not offboarded) tenant has
    that slug; the answer is kept ``realm_ttl_s`` in a bounded cache. A token from any
    other issuer is refused before anything is fetched. Keys are fetched per issuer, again
    when a token names an unknown key id (at most once per ``refetch_s``) or when they are
    older than ``max_age_s``; at most ``max_issuers`` issuers' keys are kept.
    """

    def __init__(
        self,
        settings: AppSettings,
        *,
        realm_in_use: RealmInUse,
        fetch: FetchJwks = fetch_jwks,
        refetch_s: float = 10.0,
        max_age_s: float = 300.0,
        max_issuers: int = 256,
        max_realm_answers: int = 4096,
        realm_ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = settings.keycloak_url.rstrip("/") + "/realms/"
        self.platform_realm = settings.platform_realm
        self.banks_realm = settings.banks_realm
        self.vendors_realm = settings.vendors_realm
        self.realm_in_use = realm_in_use
        self.fetch = fetch
        self.refetch_s = refetch_s
        self.max_age_s = max_age_s
        self.realm_ttl_s = realm_ttl_s
        self.clock = clock
        self._keys: _LRU[str, _IssuerKeys] = _LRU(max_issuers)
        self._realms: _LRU[str, tuple[bool, float]] = _LRU(max_realm_answers)
        self._lock = threading.Lock()

    def _realm_of(self, issuer: str) -> str:
        if not issuer.startswith(self.base):
            raise Unauthorized(
                "token issued by an unknown issuer", hint="log in with TaaS's Keycloak"
            )
        realm = issuer.removeprefix(self.base)
        if realm in (self.platform_realm, self.banks_realm, self.vendors_realm):
            return realm
        slug = realm.removeprefix(TENANT_REALM_PREFIX)
        if realm.startswith(TENANT_REALM_PREFIX) and _SLUG.fullmatch(slug) and self._in_use(slug):
            return realm
        raise Unauthorized(f"tokens from realm {realm[:80]!r} are not accepted")

    def _in_use(self, slug: str) -> bool:
        now = self.clock()
        with self._lock:
            known = self._realms.get(slug)
        if known is not None and now - known[1] < self.realm_ttl_s:
            return known[0]
        answer = self.realm_in_use(slug)
        with self._lock:
            self._realms.put(slug, (answer, now))
        return answer

    def _key(self, issuer: str, kid: str) -> Any:
        """The signing key ``kid`` of ``issuer``; fetches are rate-limited per issuer."""
        with self._lock:
            keys = self._keys.get(issuer)
            if keys is None:
                keys = _IssuerKeys()
                self._keys.put(issuer, keys)
        with keys.lock:  # one issuer's slow fetch does not hold up the others
            now = self.clock()
            fresh = now - keys.fetched_at < self.max_age_s
            if kid in keys.by_kid and fresh:
                return keys.by_kid[kid]
            if not fresh or now - keys.fetched_at >= self.refetch_s:
                keys.fetched_at = now  # at most one fetch per refetch_s, failed or not
                try:
                    keys.by_kid = signing_keys(
                        self.fetch(f"{issuer}/protocol/openid-connect/certs")
                    )
                except jwt.PyJWKClientError:
                    if kid not in keys.by_kid:
                        raise
                    # Keycloak unreachable: the keys it published last still verify
            if kid not in keys.by_kid:
                raise Unauthorized(
                    "the token is signed with a key its issuer does not publish",
                    hint="log in again",
                )
            return keys.by_kid[kid]

    def verify(self, token: str) -> Principal:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            issuer = str(unverified.get("iss", ""))
            realm = self._realm_of(issuer)
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in ALGORITHMS:
                raise Unauthorized(
                    f"tokens signed with {str(header.get('alg'))[:20]!r} are not accepted",
                    hint="log in again",
                )
            key = self._key(issuer, str(header.get("kid", "")))
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                issuer=issuer,
                options={"verify_aud": False, "require": ["exp", "iat", "iss", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired", hint="log in again") from exc
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as exc:
            raise Unauthorized(f"invalid token: {exc}", hint="log in again") from exc
        if claims.get("typ") != ACCESS_TOKEN_TYPE:
            raise Unauthorized(
                f"a {str(claims.get('typ'))[:20]!r} token is not an access token",
                hint="send the access_token of your login as Bearer, not the id_token",
            )
        roles = frozenset(claims.get("realm_access", {}).get("roles", []))
        client = str(claims.get("azp", ""))
        if realm == self.vendors_realm:
            vendor = claims.get(VENDOR_CLAIM)
            if not vendor:
                raise Unauthorized("vendor token without a vendor", hint="use your vendor client")
            self._require_client(client, {VENDOR_CLIENT_PREFIX + str(vendor)})
            return Principal(
                subject=str(claims["sub"]),
                username=str(claims.get("azp") or claims["sub"]),
                realm=realm,
                roles=frozenset(),
                tenant=None,
                vendor=str(vendor),
            )
        tenant = self._tenant(realm, claims)
        allowed = {CONSOLE_CLIENT}
        if tenant is not None:
            allowed.add(tenant + SYSTEMS_CLIENT_SUFFIX)
        self._require_client(client, allowed)
        return Principal(
            subject=str(claims["sub"]),
            username=str(claims.get("preferred_username") or claims.get("azp") or claims["sub"]),
            realm=realm,
            roles=roles,
            tenant=tenant,
        )

    @staticmethod
    def _require_client(client: str, allowed: set[str]) -> None:
        """Only tokens issued to the clients meant for this API (``azp``) are accepted."""
        if client not in allowed:
            raise Unauthorized(
                f"tokens of client {client[:80]!r} are not accepted by this API",
                hint="log in with the TaaS console/CLI client or your systems/vendor client",
            )

    def _tenant(self, realm: str, claims: dict[str, Any]) -> str | None:
        if realm == self.platform_realm:
            return None
        if realm.startswith(TENANT_REALM_PREFIX):
            return realm.removeprefix(TENANT_REALM_PREFIX)
        tenant = pool_tenant(claims)
        if tenant is None:
            raise Unauthorized(
                "token from the bank realm names no single organization",
                hint="log in as a member of exactly one bank with the organization scope",
            )
        return tenant


def pool_tenant(claims: Mapping[str, Any]) -> str | None:
    """The tenant of a shared-realm token: ``taas_tenant`` or the single organization."""
    if claims.get(TENANT_CLAIM):
        return str(claims[TENANT_CLAIM])
    organizations = claims.get("organization") or []
    aliases = list(organizations) if isinstance(organizations, dict | list) else []
    return str(aliases[0]) if len(aliases) == 1 else None


def signing_keys(jwks: Mapping[str, Any]) -> dict[str, Any]:
    """Signature keys of a JWKS document by key id (encryption keys are left out)."""
    found: dict[str, Any] = {}
    for entry in jwks.get("keys", []):
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or "kid" not in entry:
            continue
        try:
            found[str(entry["kid"])] = jwt.PyJWK(entry).key
        except (jwt.PyJWKError, jwt.InvalidKeyError):
            continue
    return found
