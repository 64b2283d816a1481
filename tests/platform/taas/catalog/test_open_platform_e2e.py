"""The whole open-platform path on the real stack: vendor → review → publish → subscribe →
call through the gateway, and every way a bank's call can be refused."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from catalog_support import revoke, subscribe
from conftest import ControlPlane
from plugin_app import PluginServer
from support import bank_admin_headers, systems_token, wait_for, wait_operation

APPLICATION = {"amount": 20000}


def _call(gateway: Any, tenant: dict[str, Any], module: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(
        f"{gateway.url}/t/{tenant['slug']}/{module}/score",
        json=APPLICATION,
        headers=headers | {"traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"},
        timeout=10,
    )


def _status_becomes(call: Callable[[], httpx.Response], status: int) -> httpx.Response:
    response: httpx.Response = wait_for(
        lambda: (r := call()).status_code == status and r,
        timeout=5,
        what=f"the gateway to answer {status}",
    )
    return response


def test_vendor_to_bank_call_through_the_gateway(
    api: Any,
    operator: dict[str, str],
    operator2: dict[str, str],
    control_plane: ControlPlane,
    gateway: Any,
    make_tenant: Callable[..., dict[str, Any]],
    publish: Callable[..., str],
    plugin: PluginServer,
) -> None:
    scope = f"score-{uuid.uuid4().hex[:6]}.use"
    module = publish(plugin, scopes=[scope])
    bank = make_tenant(tier="pool")["tenant"]
    other = make_tenant(tier="silo")["tenant"]
    admin = bank_admin_headers(control_plane.token, bank)
    subscribe(api, admin, bank, module)
    subscribe(api, operator, other, module)

    token = systems_token(bank, scope)
    answered = _status_becomes(lambda: _call(gateway, bank, module, token), 200)
    body = answered.json()
    assert body["tenant"] == bank["slug"]
    assert body["signed"] is True  # the plugin checked the gateway's signature
    seen = plugin.behaviour.seen[-1]
    assert "authorization" not in seen
    assert seen["x-taas-tenant-id"] == bank["id"]
    assert scope in seen["x-taas-scopes"].split()
    assert seen["traceparent"].split("-")[1] == "ab" * 16  # the bank's trace continues
    assert answered.headers["x-request-id"]

    # Refusals, each with a problem+json body.
    unscoped = _call(gateway, bank, module, systems_token(bank))
    assert unscoped.status_code == 403
    assert scope in unscoped.json()["detail"]
    assert unscoped.headers["content-type"].startswith("application/problem+json")
    other_token = systems_token(other, scope)
    assert _call(gateway, bank, module, other_token).status_code == 403  # another bank's token
    assert _call(gateway, other, module, token).status_code == 403  # and the other way round
    assert _call(gateway, bank, module, None).status_code == 401
    assert _call(gateway, bank, module, "not-a-jwt").status_code == 401
    assert _call(gateway, bank, "no-such-module", token).status_code == 404

    # Usage is metered per tenant and module; each bank sees only its own.
    def metered() -> list[dict[str, Any]] | None:
        rows = api.get(f"/v1/tenants/{bank['id']}/usage", headers=admin).json()["rows"]
        return [r for r in rows if r["module"] == module] or None

    rows = wait_for(metered, timeout=10, what="the gateway to flush metered calls")
    assert sum(r["calls"] for r in rows) >= 1
    assert api.get(f"/v1/tenants/{other['id']}/usage", headers=admin).status_code == 404

    # Suspension and revocation take effect on the next request.
    suspended = api.post(f"/v1/tenants/{bank['id']}/suspend", json={}, headers=operator)
    assert suspended.status_code == 202
    refused = _status_becomes(lambda: _call(gateway, bank, module, token), 503)
    assert "suspended" in refused.json()["detail"]
    wait_operation(api, operator, bank["id"], suspended.json()["operation"]["id"])
    resumed = api.post(f"/v1/tenants/{bank['id']}/resume", json={}, headers=operator)
    wait_operation(api, operator, bank["id"], resumed.json()["operation"]["id"])
    token = systems_token(bank, scope)
    _status_becomes(lambda: _call(gateway, bank, module, token), 200)

    revoke(api, operator, operator2, module, "1.0.0")
    killed = _status_becomes(lambda: _call(gateway, bank, module, token), 503)
    assert "revoked" in killed.json()["detail"]


def test_unsubscribing_closes_the_route_at_once(
    api: Any,
    operator: dict[str, str],
    gateway: Any,
    make_tenant: Callable[..., dict[str, Any]],
    publish: Callable[..., str],
    plugin: PluginServer,
) -> None:
    module = publish(plugin)
    bank = make_tenant()["tenant"]
    subscribe(api, operator, bank, module)
    token = systems_token(bank)
    _status_becomes(lambda: _call(gateway, bank, module, token), 200)
    gone = api.delete(f"/v1/tenants/{bank['id']}/subscriptions/{module}", headers=operator)
    assert gone.status_code == 202
    refused = _status_becomes(lambda: _call(gateway, bank, module, token), 403)
    assert "not subscribed" in refused.json()["detail"]
    wait_operation(api, operator, bank["id"], gone.json()["operation"]["id"])


def test_an_expired_or_forged_token_is_401(
    gateway: Any,
    operator: dict[str, str],
    api: Any,
    make_tenant: Callable[..., dict[str, Any]],
    publish: Callable[..., str],
    plugin: PluginServer,
) -> None:
    module = publish(plugin)
    bank = make_tenant()["tenant"]
    subscribe(api, operator, bank, module)
    real = jwt.decode(systems_token(bank), options={"verify_signature": False})
    # Same claims, signed by a key that is not the issuer's, and already expired.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(real, key, algorithm="RS256", headers={"kid": "forged"})
    assert _call(gateway, bank, module, forged).status_code == 401
    expired = jwt.encode(
        real | {"exp": int(time.time()) - 60}, key, algorithm="RS256", headers={"kid": "x"}
    )
    response = _call(gateway, bank, module, expired)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
