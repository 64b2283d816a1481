"""Which tenant a verified token belongs to, which issuers, token types and clients are
trusted, and what unknown issuers cost (signatures are also tested end to end with real
Keycloak tokens in the tenant API tests)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from taas.kit.auth import TokenVerifier
from taas.kit.errors import Unauthorized
from taas.kit.settings import AppSettings

KEYCLOAK = "http://kc.test/realms/"


def _settings() -> AppSettings:
    return AppSettings(
        database_url="postgresql://u:p@127.0.0.1:1/x",
        celery_broker_url="redis://127.0.0.1:1/0",
        redis_url="redis://127.0.0.1:1/0",
        keycloak_url="http://kc.test",
        keycloak_admin_user="a",
        keycloak_admin_password="b",
        minio_endpoint="127.0.0.1:1",
        minio_access_key="a",
        minio_secret_key="b",
        KUBECONFIG=Path("/dev/null"),
    )


class Keycloak:
    """One signing key, its JWKS document per realm, the fetches and tenant look-ups seen."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.fetches: list[str] = []
        self.lookups: list[str] = []
        self.tenants = {"rural-7"}

    def fetch(self, url: str) -> dict[str, Any]:
        self.fetches.append(url)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}

    def realm_in_use(self, slug: str) -> bool:
        self.lookups.append(slug)
        return slug in self.tenants

    def token(self, realm: str = "taas-platform", kid: str = "k1", **claims: Any) -> str:
        body = {
            "iss": KEYCLOAK + realm,
            "sub": "u-1",
            "typ": "Bearer",
            "azp": "taas-console",
            "iat": int(time.time()) - 5,
            "exp": int(time.time()) + 300,
            "preferred_username": "alice",
            "realm_access": {"roles": ["platform-operator"]},
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def keycloak() -> Keycloak:
    return Keycloak()


@pytest.fixture
def verifier(keycloak: Keycloak) -> TokenVerifier:
    return TokenVerifier(
        _settings(),
        realm_in_use=keycloak.realm_in_use,
        fetch=keycloak.fetch,
        max_issuers=8,
        max_realm_answers=16,
    )


def test_platform_tokens_have_no_tenant(verifier: TokenVerifier) -> None:
    assert verifier._tenant("taas-platform", {"organization": ["bank-a"]}) is None


def test_a_tenant_realm_names_its_tenant(verifier: TokenVerifier) -> None:
    assert verifier._tenant("bank-rural-7", {}) == "rural-7"


def test_the_shared_realm_uses_the_single_organization(verifier: TokenVerifier) -> None:
    assert verifier._tenant("taas-banks", {"organization": ["rural-7"]}) == "rural-7"
    assert verifier._tenant("taas-banks", {"organization": {"rural-7": {}}}) == "rural-7"
    assert verifier._tenant("taas-banks", {"taas_tenant": "rural-8"}) == "rural-8"


@pytest.mark.parametrize("claims", [{}, {"organization": []}, {"organization": ["a", "b"]}])
def test_the_shared_realm_refuses_zero_or_several_organizations(
    verifier: TokenVerifier, claims: dict[str, object]
) -> None:
    with pytest.raises(Unauthorized):
        verifier._tenant("taas-banks", claims)


@pytest.mark.parametrize(
    "issuer",
    [
        "http://evil.test/realms/taas-platform",
        "http://kc.test/realms/master",
        "http://kc.test/realms/bank-x/../master",
    ],
)
def test_only_known_realms_of_our_keycloak_are_trusted(
    verifier: TokenVerifier, issuer: str
) -> None:
    with pytest.raises(Unauthorized):
        verifier._realm_of(issuer)


def test_a_platform_access_token_of_the_console_is_accepted(
    verifier: TokenVerifier, keycloak: Keycloak
) -> None:
    principal = verifier.verify(keycloak.token())
    assert principal.is_operator
    assert principal.username == "alice"


def test_forged_issuers_cost_no_key_fetch_and_bounded_memory(
    verifier: TokenVerifier, keycloak: Keycloak
) -> None:
    for n in range(1500):
        forged = [
            keycloak.token(realm=f"bank-forged-{n}"),  # no such tenant
            keycloak.token(realm=f"forged-{n}"),  # no such realm pattern
            jwt.encode({"iss": f"http://evil.test/{n}", "sub": "x"}, "k" * 32, algorithm="HS256"),
        ]
        for token in forged:
            with pytest.raises(Unauthorized):
                verifier.verify(token)
    assert keycloak.fetches == []
    assert len(keycloak.lookups) == 1500  # one indexed look-up per distinct slug, no more
    assert len(verifier._keys) == 0
    assert len(verifier._realms) == 16  # the bounded answer cache
    # a known tenant's own realm is trusted (and its keys fetched once)
    verifier.verify(keycloak.token(realm="bank-rural-7", azp="rural-7-systems", realm_access={}))
    assert len(keycloak.fetches) == 1


def test_answers_about_tenant_realms_are_cached(
    verifier: TokenVerifier, keycloak: Keycloak
) -> None:
    for _ in range(20):
        with pytest.raises(Unauthorized):
            verifier.verify(keycloak.token(realm="bank-gone-1"))
    assert keycloak.lookups == ["bank-gone-1".removeprefix("bank-")]


def test_keys_of_at_most_max_issuers_are_kept(verifier: TokenVerifier, keycloak: Keycloak) -> None:
    keycloak.tenants = {f"bank-{n}" for n in range(30)}
    for n in range(30):
        verifier.verify(
            keycloak.token(realm=f"bank-bank-{n}", azp=f"bank-{n}-systems", realm_access={})
        )
    assert len(verifier._keys) == 8


def test_unknown_key_ids_refetch_at_most_once_per_interval(
    verifier: TokenVerifier, keycloak: Keycloak
) -> None:
    verifier.verify(keycloak.token())
    for n in range(200):
        with pytest.raises(Unauthorized):
            verifier.verify(keycloak.token(kid=f"forged-{n}"))
    assert len(keycloak.fetches) == 1  # the first fetch is younger than refetch_s


@pytest.mark.parametrize("typ", ["ID", "Refresh", None])
def test_only_access_tokens_are_accepted(
    verifier: TokenVerifier, keycloak: Keycloak, typ: str | None
) -> None:
    with pytest.raises(Unauthorized, match="not an access token"):
        verifier.verify(keycloak.token(typ=typ))


@pytest.mark.parametrize(
    ("realm", "claims"),
    [
        ("taas-platform", {"azp": "admin-cli"}),
        ("taas-platform", {"azp": "rural-7-systems"}),
        ("taas-banks", {"azp": "other-systems", "taas_tenant": "rural-7"}),
        ("taas-banks", {"azp": "account", "organization": ["rural-7"]}),
        ("bank-rural-7", {"azp": "city-2-systems"}),
        ("taas-vendors", {"azp": "vendor-other", "taas_vendor": "acme"}),
    ],
)
def test_only_the_clients_meant_for_the_api_are_accepted(
    verifier: TokenVerifier, keycloak: Keycloak, realm: str, claims: dict[str, Any]
) -> None:
    with pytest.raises(Unauthorized, match="not accepted by this API"):
        verifier.verify(keycloak.token(realm=realm, **claims))


@pytest.mark.parametrize(
    ("realm", "claims", "tenant"),
    [
        ("taas-banks", {"azp": "taas-console", "organization": ["rural-7"]}, "rural-7"),
        ("taas-banks", {"azp": "rural-7-systems", "taas_tenant": "rural-7"}, "rural-7"),
        ("bank-rural-7", {"azp": "rural-7-systems"}, "rural-7"),
        ("bank-rural-7", {"azp": "taas-console"}, "rural-7"),
    ],
)
def test_bank_console_and_systems_clients_are_accepted(
    verifier: TokenVerifier,
    keycloak: Keycloak,
    realm: str,
    claims: dict[str, Any],
    tenant: str,
) -> None:
    assert verifier.verify(keycloak.token(realm=realm, **claims)).tenant == tenant


def test_a_vendor_client_token_is_accepted(verifier: TokenVerifier, keycloak: Keycloak) -> None:
    principal = verifier.verify(
        keycloak.token(realm="taas-vendors", azp="vendor-acme", taas_vendor="acme")
    )
    assert principal.vendor == "acme"


def test_keys_fetched_before_still_verify_while_keycloak_is_unreachable(
    keycloak: Keycloak,
) -> None:
    clock = [1000.0]
    verifier = TokenVerifier(
        _settings(),
        realm_in_use=keycloak.realm_in_use,
        fetch=keycloak.fetch,
        clock=lambda: clock[0],
    )
    verifier.verify(keycloak.token())
    clock[0] += 301  # the keys are stale: fetched again, but Keycloak is down

    def down(url: str) -> dict[str, Any]:
        keycloak.fetches.append(url)
        raise jwt.PyJWKClientError("connection refused")

    verifier.fetch = down
    verifier.verify(keycloak.token(sub="u-2"))
    with pytest.raises(Unauthorized):  # an unknown key id cannot be verified meanwhile
        verifier.verify(keycloak.token(kid="k2"))
    assert len(keycloak.fetches) == 2  # the failed fetch is not repeated at once
