"""Who is calling: bearer tokens issued by the platform's Keycloak, verified by JWKS.

Platform operators and auditors authenticate in the platform realm. Bank admins
authenticate in their tenant's identity space: the shared bank realm (the tenant is the
organization in the ``organization`` claim) or the tenant's own realm ``bank-<slug>``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import jwt

from taas.kit.errors import Unauthorized
from taas.kit.settings import AppSettings

OPERATOR = "platform-operator"
AUDITOR = "platform-auditor"
BANK_ADMIN = "bank-admin"
TENANT_REALM_PREFIX = "bank-"
TENANT_CLAIM = "taas_tenant"
VENDOR_CLAIM = "taas_vendor"


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


class TokenVerifier:
    """Verifies access tokens against the issuing realm's keys (cached, refreshed on new kid)."""

    def __init__(self, settings: AppSettings) -> None:
        self.base = settings.keycloak_url.rstrip("/") + "/realms/"
        self.platform_realm = settings.platform_realm
        self.banks_realm = settings.banks_realm
        self.vendors_realm = settings.vendors_realm
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._lock = threading.Lock()

    def _realm_of(self, issuer: str) -> str:
        if not issuer.startswith(self.base):
            raise Unauthorized(
                "token issued by an unknown issuer", hint="log in with TaaS's Keycloak"
            )
        realm = issuer.removeprefix(self.base)
        if realm in (self.platform_realm, self.banks_realm, self.vendors_realm) or (
            realm.startswith(TENANT_REALM_PREFIX) and "/" not in realm
        ):
            return realm
        raise Unauthorized(f"tokens from realm {realm!r} are not accepted")

    def _keys(self, issuer: str) -> jwt.PyJWKClient:
        with self._lock:
            client = self._clients.get(issuer)
            if client is None:
                client = jwt.PyJWKClient(
                    f"{issuer}/protocol/openid-connect/certs",
                    cache_keys=True,
                    lifespan=300,
                    timeout=5,
                )
                self._clients[issuer] = client
            return client

    def verify(self, token: str) -> Principal:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            issuer = str(unverified.get("iss", ""))
            realm = self._realm_of(issuer)
            key = self._keys(issuer).get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256", "ES256", "PS256"],
                issuer=issuer,
                options={"verify_aud": False, "require": ["exp", "iat", "iss", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired", hint="log in again") from exc
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as exc:
            raise Unauthorized(f"invalid token: {exc}", hint="log in again") from exc
        roles = frozenset(claims.get("realm_access", {}).get("roles", []))
        if realm == self.vendors_realm:
            vendor = claims.get(VENDOR_CLAIM)
            if not vendor:
                raise Unauthorized("vendor token without a vendor", hint="use your vendor client")
            return Principal(
                subject=str(claims["sub"]),
                username=str(claims.get("azp") or claims["sub"]),
                realm=realm,
                roles=frozenset(),
                tenant=None,
                vendor=str(vendor),
            )
        return Principal(
            subject=str(claims["sub"]),
            username=str(claims.get("preferred_username") or claims.get("azp") or claims["sub"]),
            realm=realm,
            roles=roles,
            tenant=self._tenant(realm, claims),
        )

    def _tenant(self, realm: str, claims: dict[str, Any]) -> str | None:
        if realm == self.platform_realm:
            return None
        if realm.startswith(TENANT_REALM_PREFIX):
            return realm.removeprefix(TENANT_REALM_PREFIX)
        if claims.get(TENANT_CLAIM):
            return str(claims[TENANT_CLAIM])
        organizations = claims.get("organization") or []
        aliases = list(organizations) if isinstance(organizations, dict | list) else []
        if len(aliases) != 1:
            raise Unauthorized(
                "token from the bank realm names no single organization",
                hint="log in as a member of exactly one bank with the organization scope",
            )
        return str(aliases[0])
