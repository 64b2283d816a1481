"""Token verification: issuers, tenants, expiry, key refetch and the verified-token cache.

Most tests sign tokens with a key made here and hand the verifier its JWKS; the last one
uses a real Keycloak token of a real tenant.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from support import systems_token
from taas.gateway.errors import Rejection
from taas.gateway.routes import Tenant
from taas.gateway.tokens import JwksUnavailable, TokenVerifier

KEYCLOAK = "http://kc.test"
BANKS = f"{KEYCLOAK}/realms/taas-banks"
POOL = Tenant(id=str(uuid.uuid4()), slug="rural-7", tier="pool", status="active", rate_limit_rps=5)
SILO = Tenant(id=str(uuid.uuid4()), slug="city-2", tier="silo", status="active", rate_limit_rps=5)
TENANTS = {POOL.slug: POOL, SILO.slug: SILO}
NOW = 1_800_000_000.0


class Issuer:
    """A signing key and the JWKS document that publishes it."""

    def __init__(self, kid: str = "k1") -> None:
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def token(self, iss: str = BANKS, **claims: Any) -> bytes:
        body = {
            "iss": iss,
            "sub": "svc-1",
            "azp": "rural-7-systems",
            "typ": "Bearer",
            "iat": int(NOW) - 10,
            "exp": int(NOW) + 300,
            "scope": "profile email",
            "taas_tenant": "rural-7",
            **claims,
        }
        token = jwt.encode(body, self.key, algorithm="RS256", headers={"kid": self.kid})
        return b"Bearer " + token.encode()


class Keycloak:
    """Serves JWKS documents per issuer and counts the fetches."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.fetches: list[str] = []
        self.down = False

    async def fetch(self, issuer: str) -> dict[str, Any]:
        self.fetches.append(issuer)
        if self.down:
            raise JwksUnavailable("connection refused")
        return self.documents.get(issuer, {"keys": []})


@pytest.fixture
def keycloak() -> Keycloak:
    return Keycloak()


@pytest.fixture
def issuer(keycloak: Keycloak) -> Issuer:
    made = Issuer()
    keycloak.documents[BANKS] = made.jwks()
    return made


@pytest.fixture
def clock() -> list[float]:
    return [NOW]


@pytest.fixture
def verifier(keycloak: Keycloak, clock: list[float]) -> TokenVerifier:
    return TokenVerifier(
        keycloak_url=KEYCLOAK,
        banks_realm="taas-banks",
        fetch_jwks=keycloak.fetch,
        refetch_s=10,
        cache_size=3,
        clock=lambda: clock[0],
    )


def verify(verifier: TokenVerifier, header: bytes | None) -> Any:
    return asyncio.run(verifier.verify(header, TENANTS))


def rejected(verifier: TokenVerifier, header: bytes | None) -> Rejection:
    with pytest.raises(Rejection) as refused:
        verify(verifier, header)
    return refused.value


def test_a_pool_token_names_its_tenant_caller_and_scopes(
    verifier: TokenVerifier, issuer: Issuer
) -> None:
    caller = verify(verifier, issuer.token())
    assert caller.tenant == "rural-7"
    assert caller.issuer == BANKS == verifier.issuer_for(POOL)
    assert caller.subject == "svc-1"
    assert caller.client == "rural-7-systems"
    assert caller.scopes == {"profile", "email"}
    assert caller.scope_text == "email profile"


def test_a_single_organization_names_the_tenant_too(
    verifier: TokenVerifier, issuer: Issuer
) -> None:
    token = issuer.token(taas_tenant=None, organization=["rural-7"])
    assert verify(verifier, token).tenant == "rural-7"
    refused = rejected(verifier, issuer.token(taas_tenant=None, organization=["a", "b"]))
    assert refused.status == 401


def test_a_silo_token_comes_from_the_tenants_own_realm(
    verifier: TokenVerifier, keycloak: Keycloak
) -> None:
    own = Issuer("silo-key")
    realm = f"{KEYCLOAK}/realms/bank-city-2"
    keycloak.documents[realm] = own.jwks()
    caller = verify(verifier, own.token(iss=realm, taas_tenant=None, azp="city-2-systems"))
    assert caller.tenant == "city-2"
    assert caller.issuer == verifier.issuer_for(SILO) == realm


@pytest.mark.parametrize(
    "iss",
    [
        f"{KEYCLOAK}/realms/taas-platform",
        f"{KEYCLOAK}/realms/bank-unknown",  # no such tenant: its keys are never fetched
        f"{KEYCLOAK}/realms/bank-rural-7",  # a pool tenant has no realm of its own
        "http://evil.test/realms/taas-banks",
    ],
)
def test_other_issuers_are_not_accepted(
    verifier: TokenVerifier, issuer: Issuer, keycloak: Keycloak, iss: str
) -> None:
    refused = rejected(verifier, issuer.token(iss=iss))
    assert refused.status == 401
    assert "issuer" in refused.detail
    assert keycloak.fetches == []


@pytest.mark.parametrize(
    "header",
    [None, b"", b"Basic dXNlcjpwdw==", b"Bearer", b"Bearer not-a-jwt", b"Bearer a.b.c"],
)
def test_missing_or_malformed_tokens_are_401(verifier: TokenVerifier, header: bytes | None) -> None:
    refused = rejected(verifier, header)
    assert refused.status == 401
    assert refused.hint


@pytest.mark.parametrize("typ", ["ID", "Refresh", None])
def test_only_access_tokens_are_accepted(
    verifier: TokenVerifier, issuer: Issuer, typ: str | None
) -> None:
    refused = rejected(verifier, issuer.token(typ=typ))
    assert (refused.status, refused.code) == (401, "wrong-token-type")


@pytest.mark.parametrize("azp", ["taas-console", "city-2-systems", "rural-7-systems-x", None])
def test_only_the_tenants_systems_client_may_call(
    verifier: TokenVerifier, issuer: Issuer, azp: str | None
) -> None:
    refused = rejected(verifier, issuer.token(azp=azp))
    assert (refused.status, refused.code) == (401, "wrong-client")


def test_a_token_signed_with_another_key_is_401(verifier: TokenVerifier, issuer: Issuer) -> None:
    forger = Issuer(kid=issuer.kid)  # same key id, different key
    assert rejected(verifier, forger.token()).code == "invalid-token"


def test_an_expired_token_is_401_and_so_is_a_cached_one_once_it_expires(
    verifier: TokenVerifier, issuer: Issuer, clock: list[float]
) -> None:
    assert rejected(verifier, issuer.token(exp=int(NOW) - 1)).code == "expired-token"
    token = issuer.token(exp=int(NOW) + 60)
    verify(verifier, token)
    clock[0] = NOW + 61
    assert rejected(verifier, token).code == "expired-token"


def test_a_verified_token_is_cached_not_verified_again(
    verifier: TokenVerifier, issuer: Issuer, keycloak: Keycloak, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = issuer.token()
    first = verify(verifier, token)
    calls: list[object] = []
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: calls.append(a))
    assert verify(verifier, token) is first
    assert calls == []
    assert keycloak.fetches == [BANKS]


def test_the_cache_is_bounded(verifier: TokenVerifier, issuer: Issuer) -> None:
    tokens = [issuer.token(sub=f"svc-{n}") for n in range(5)]
    for token in tokens:
        verify(verifier, token)
    assert len(verifier._cache) == 3
    assert tokens[0] not in verifier._cache
    assert tokens[4] in verifier._cache


def test_an_unknown_key_id_refetches_at_most_once_per_interval(
    verifier: TokenVerifier, issuer: Issuer, keycloak: Keycloak
) -> None:
    verify(verifier, issuer.token())
    rotated = Issuer("k2")
    refused = rejected(verifier, rotated.token())  # keys fetched just now: no refetch yet
    assert refused.status == 401
    keycloak.documents[BANKS] = {"keys": issuer.jwks()["keys"] + rotated.jwks()["keys"]}
    assert rejected(verifier, rotated.token(sub="again")).status == 401
    assert keycloak.fetches == [BANKS]  # within the interval: no second fetch
    verifier.refetch_s = 0
    assert verify(verifier, rotated.token(sub="later")).subject == "later"
    assert keycloak.fetches == [BANKS, BANKS]


def test_unreachable_keys_are_503_not_401(
    verifier: TokenVerifier, issuer: Issuer, keycloak: Keycloak
) -> None:
    keycloak.down = True
    refused = rejected(verifier, issuer.token())
    assert refused.status == 503
    assert refused.code == "identity-unavailable"


def test_only_rs256_is_accepted(verifier: TokenVerifier) -> None:
    forged = jwt.encode(
        {"iss": BANKS, "sub": "x", "exp": int(NOW) + 60, "iat": int(NOW)},
        "secret-key-of-at-least-32-bytes-long",
        algorithm="HS256",
    )
    assert rejected(verifier, b"Bearer " + forged.encode()).status == 401


def test_a_real_keycloak_token_is_refused_after_its_expiry(
    make_tenant: Callable[..., dict[str, Any]],
) -> None:
    """A client-credentials token of a real pool tenant, verified with Keycloak's keys."""
    import os

    import aiohttp

    tenant = make_tenant()["tenant"]
    token = systems_token(tenant)
    claims = jwt.decode(token, options={"verify_signature": False})
    bank = Tenant(tenant["id"], tenant["slug"], "pool", "active", None)
    clock = [time.time()]

    async def run() -> tuple[Any, Rejection, Rejection]:
        async with aiohttp.ClientSession() as session:

            async def fetch(iss: str) -> dict[str, Any]:
                async with session.get(f"{iss}/protocol/openid-connect/certs") as response:
                    document: dict[str, Any] = await response.json()
                    return document

            verifier = TokenVerifier(
                keycloak_url=os.environ["TAAS_KEYCLOAK_URL"],
                banks_realm="taas-banks",
                fetch_jwks=fetch,
                clock=lambda: clock[0],
            )
            header = f"Bearer {token}".encode()
            caller = await verifier.verify(header, {bank.slug: bank})
            clock[0] = claims["exp"] + 1
            with pytest.raises(Rejection) as cached:
                await verifier.verify(header, {bank.slug: bank})
            with pytest.raises(Rejection) as fresh:  # not cached any more: verified again
                await verifier.verify(header, {bank.slug: bank})
            return caller, cached.value, fresh.value

    caller, cached, fresh = asyncio.run(run())
    assert caller.tenant == tenant["slug"]
    assert caller.client == claims["azp"]
    assert cached.code == fresh.code == "expired-token"


def test_keys_older_than_max_age_are_fetched_again_so_a_removed_key_stops_working(
    verifier: TokenVerifier, issuer: Issuer, keycloak: Keycloak
) -> None:
    verify(verifier, issuer.token())
    keycloak.documents[BANKS] = Issuer("k-new").jwks()  # the old key is withdrawn
    verify(verifier, issuer.token(sub="still-fresh"))  # keys younger than max age: no fetch
    assert keycloak.fetches == [BANKS]
    verifier.max_age_s = 0
    assert rejected(verifier, issuer.token(sub="after-max-age")).status == 401
    assert keycloak.fetches == [BANKS, BANKS]
