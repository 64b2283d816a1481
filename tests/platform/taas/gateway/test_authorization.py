"""Who may call what, end to end: tokens of the bank's own systems client only, the bank
active, the module subscribed and served, the scopes held (real tenants, Keycloak tokens
and gateway processes)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt

from gateway_support import (
    GatewayProcess,
    MakeTenant,
    RouteMaker,
    bearer,
    eventually,
    problem_code,
    sql,
)
from support import systems_token


def test_missing_malformed_and_foreign_tokens_are_401(
    gateway: GatewayProcess, control_plane: Any
) -> None:
    forged = jwt.encode(
        {
            "iss": f"{control_plane.keycloak_url}/realms/taas-banks",
            "sub": "x",
            "taas_tenant": "somebank",
            "exp": int(time.time()) + 300,
            "iat": int(time.time()),
        },
        _private_key_pem(),
        algorithm="RS256",
        headers={"kid": "not-a-keycloak-key"},
    )
    platform_token = control_plane.token("test-operator")  # valid, but not a bank's
    url = f"{gateway.url}/t/somebank/risk/score"
    cases = {
        "missing-token": {},
        "invalid-token": {"Authorization": "Bearer garbage"},
    }
    for expected, headers in cases.items():
        response = httpx.get(url, headers=headers, timeout=10)
        assert response.status_code == 401, response.text
        assert problem_code(response) == expected
    for token in (forged, platform_token):
        response = httpx.get(url, headers=bearer(token), timeout=10)
        assert response.status_code == 401, response.text
        assert problem_code(response) == "invalid-token"
    assert httpx.get(f"{gateway.url}/elsewhere", timeout=10).status_code == 404


def test_a_token_of_another_bank_is_403_and_a_silo_bank_uses_its_own_realm(
    gateway: GatewayProcess, routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    pool = make_tenant()["tenant"]
    silo = make_tenant(tier="silo")["tenant"]
    pool_route = routes(pool)
    silo_route = routes(silo)
    pool_token, silo_token = systems_token(pool), systems_token(silo)
    assert jwt.decode(silo_token, options={"verify_signature": False})["iss"].endswith(
        f"/realms/bank-{silo['slug']}"
    )
    response = eventually(
        lambda: httpx.get(f"{gateway.url}{silo_route.path}/x", headers=bearer(silo_token)),
        200,
        "the silo bank's route",
    )
    assert response.json()["headers"]["x-taas-tenant"] == silo["slug"]
    eventually(
        lambda: httpx.get(f"{gateway.url}{pool_route.path}/x", headers=bearer(pool_token)),
        200,
        "the pool bank's route",
    )
    for path, token in (
        (silo_route.path, pool_token),
        (pool_route.path, silo_token),
        (f"/t/nosuchbank/{pool_route.module}", pool_token),  # valid token: 403, not 404
    ):
        response = httpx.get(f"{gateway.url}{path}/x", headers=bearer(token), timeout=10)
        assert response.status_code == 403, (path, response.text)
        assert problem_code(response) == "wrong-tenant"
    response = httpx.get(
        f"{gateway.url}/t/nosuchbank/{pool_route.module}/x", headers=bearer("garbage")
    )
    assert response.status_code == 401  # cannot be checked: does not reveal which banks exist


def test_unknown_modules_are_404_and_missing_subscriptions_or_scopes_403(
    gateway: GatewayProcess, routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    tenant = make_tenant()["tenant"]
    token = systems_token(tenant)
    granted = routes(tenant, scopes=["profile"])
    not_subscribed = routes(tenant, subscribe=False)
    needs_more = routes(tenant, scopes=["profile", "loans:write"])

    def get(path: str) -> httpx.Response:
        return httpx.get(f"{gateway.url}{path}/x", headers=bearer(token), timeout=10)

    eventually(lambda: get(granted.path), 200, "the granted route")
    eventually(lambda: get(not_subscribed.path), 403, "not subscribed", code="not-subscribed")
    response = eventually(
        lambda: get(needs_more.path), 403, "missing scopes", code="missing-scopes"
    )
    assert response.json()["missing_scopes"] == ["loans:write"]
    response = get(f"/t/{tenant['slug']}/nosuchmodule")
    assert response.status_code == 404
    assert problem_code(response) == "unknown-module"


def test_revoking_a_version_and_suspending_a_bank_take_effect_without_restart(
    gateway: GatewayProcess, routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    tenant = make_tenant()["tenant"]
    route = routes(tenant)
    token = systems_token(tenant)

    def get() -> httpx.Response:
        return httpx.get(f"{gateway.url}{route.path}/x", headers=bearer(token), timeout=10)

    eventually(get, 200, "the route")
    sql("UPDATE plugin_versions SET status = 'revoked' WHERE id = %s", route.version_id)
    eventually(get, 503, "the kill switch", code="version-withdrawn")
    sql("UPDATE plugin_versions SET status = 'published' WHERE id = %s", route.version_id)
    eventually(get, 200, "the version back")
    sql("UPDATE tenants SET status = 'suspended' WHERE id = %s", tenant["id"])
    try:
        eventually(get, 503, "the suspension", code="tenant-suspended")
    finally:
        sql("UPDATE tenants SET status = 'active' WHERE id = %s", tenant["id"])
    eventually(get, 200, "the bank resumed")


def _private_key_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_only_access_tokens_of_the_banks_systems_client_reach_a_module(
    gateway: GatewayProcess, routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    """An ID token, and an access token of another client of the bank's realm (the console
    its admins log in with), are refused with 401 before any routing."""
    from support import set_bank_admin_password
    from taas.integrations.systems import systems

    tenant = make_tenant(tier="pool")["tenant"]
    route = routes(tenant)
    url = f"{gateway.url}{route.path}/x"
    eventually(
        lambda: httpx.get(url, headers=bearer(systems_token(tenant)), timeout=10), 200, "route"
    )

    username, realm, password = set_bank_admin_password(tenant)
    login = httpx.post(
        f"{systems().identity.url}/realms/{realm}/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "taas-console",
            "username": username,
            "password": password,
            "scope": "openid organization",
        },
        timeout=15,
    ).json()
    id_token = jwt.decode(login["id_token"], options={"verify_signature": False})
    assert id_token["typ"] == "ID"
    assert tenant["slug"] in str(id_token.get("organization"))
    refused = httpx.get(url, headers=bearer(login["id_token"]), timeout=10)
    assert refused.status_code == 401
    assert problem_code(refused) == "wrong-token-type"
    console = httpx.get(url, headers=bearer(login["access_token"]), timeout=10)
    assert console.status_code == 401
    assert problem_code(console) == "wrong-client"
