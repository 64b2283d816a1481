"""A plugin version's kill switches on the real stack: suspend/resume (one operator,
reversible) and revoke (a second operator approves; the revoke policy moves banks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from catalog_support import VendorAccount, revoke, subscribe
from conftest import ControlPlane
from plugin_app import PluginServer
from support import bank_admin_headers, systems_token, wait_for, wait_operation

Headers = dict[str, str]


def _call(gateway: Any, tenant: dict[str, Any], module: str) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/t/{tenant['slug']}/{module}/score",
        json={"amount": 20000},
        headers={"Authorization": f"Bearer {systems_token(tenant)}"},
        timeout=10,
    )


def _answers(gateway: Any, tenant: dict[str, Any], module: str, status: int) -> httpx.Response:
    response: httpx.Response = wait_for(
        lambda: (r := _call(gateway, tenant, module)).status_code == status and r,
        timeout=10,
        what=f"the gateway to answer {status}",
    )
    return response


def _subscription(api: Any, headers: Headers, tenant: dict[str, Any], module: str) -> Any:
    return api.get(f"/v1/tenants/{tenant['id']}/subscriptions/{module}", headers=headers).json()


def test_suspend_stops_calls_at_once_and_resume_brings_them_back(
    api: Any,
    operator: Headers,
    control_plane: ControlPlane,
    gateway: Any,
    make_tenant: Callable[..., dict[str, Any]],
    publish: Callable[..., str],
    plugin: PluginServer,
) -> None:
    module = publish(plugin)
    bank = make_tenant()["tenant"]
    subscribe(api, operator, bank, module)
    _answers(gateway, bank, module, 200)

    suspended = api.post(
        f"/v1/plugins/{module}/versions/1.0.0/suspend",
        json={"reason": "vendor reported a bug"},
        headers=operator,
    )
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "suspended"
    refused = _answers(gateway, bank, module, 503)
    problem = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert problem["version_status"] == "suspended"
    assert (problem["module"], problem["version"]) == (module, "1.0.0")
    assert "resumed" in problem["hint"]
    # the bank's admin sees why, on its subscription (suspension does not move it)
    admin = bank_admin_headers(control_plane.token, bank)
    seen = _subscription(api, admin, bank, module)
    assert seen["version"] == "1.0.0"
    assert "suspended" in seen["notice"]
    assert "vendor reported a bug" in seen["notice"]

    again = api.post(
        f"/v1/plugins/{module}/versions/1.0.0/suspend", json={"reason": "x"}, headers=operator
    )
    assert again.status_code == 409
    assert again.json()["current_status"] == "suspended"
    assert api.post(f"/v1/plugins/{module}/versions/1.0.0/resume", headers=admin).status_code in (
        403,
        404,
    )

    resumed = api.post(f"/v1/plugins/{module}/versions/1.0.0/resume", headers=operator)
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "published"
    _answers(gateway, bank, module, 200)
    assert "resumed" in _subscription(api, admin, bank, module)["notice"]
    not_suspended = api.post(f"/v1/plugins/{module}/versions/1.0.0/resume", headers=operator)
    assert not_suspended.status_code == 409

    # a deprecated version comes back deprecated
    api.post(
        f"/v1/plugins/{module}/versions/1.0.0/deprecate", json={"reason": "old"}, headers=operator
    )
    api.post(f"/v1/plugins/{module}/versions/1.0.0/suspend", json={"reason": "x"}, headers=operator)
    back = api.post(f"/v1/plugins/{module}/versions/1.0.0/resume", headers=operator)
    assert back.json()["status"] == "deprecated"


def test_a_vendor_may_suspend_its_version_but_not_resume_or_revoke_it_alone(
    api: Any,
    operator: Headers,
    operator2: Headers,
    make_vendor: Callable[[], VendorAccount],
    plugin: PluginServer,
) -> None:
    from catalog_support import wait_version
    from plugin_app import manifest
    from support import unique_slug

    vendor = make_vendor()
    plugin.behaviour.signing_secret = vendor.credentials["signing_secret"]
    name = unique_slug("p")
    submitted = api.post(
        f"/v1/vendors/{vendor.slug}/plugins",
        json=manifest(name, "1.0.0", plugin.url),
        headers=vendor.headers(),
    )
    assert submitted.status_code == 202, submitted.text
    wait_version(api, operator, name, "1.0.0", {"validated"})
    api.post(f"/v1/plugins/{name}/versions/1.0.0/approve", json={}, headers=operator)
    path = f"/v1/plugins/{name}/versions/1.0.0"
    headers = vendor.headers()

    assert api.post(f"{path}/suspend", json={"reason": "bug"}, headers=headers).status_code == 200
    assert api.post(f"{path}/resume", headers=headers).status_code == 403
    assert api.post(f"{path}/resume", headers=operator).status_code == 200

    asked = api.post(f"{path}/revoke", json={"reason": "superseded"}, headers=headers)
    assert asked.status_code == 202, asked.text
    approval = asked.json()
    assert approval["status"] == "pending"
    assert api.get(path, headers=operator).json()["status"] == "published"  # not yet
    assert api.get(f"/v1/approvals/{approval['id']}", headers=headers).status_code == 200
    assert api.post(f"/v1/approvals/{approval['id']}/approve", headers=headers).status_code == 403
    approved = api.post(f"/v1/approvals/{approval['id']}/approve", json={}, headers=operator2)
    assert approved.status_code == 200, approved.text
    assert api.get(path, headers=operator).json()["status"] == "revoked"

    # revoked is final: asking again is refused at once, no request is recorded
    assert api.post(f"{path}/revoke", json={"reason": "x"}, headers=operator).status_code == 409


def test_revoke_moves_stable_subscriptions_and_tells_pinned_ones_what_to_do(
    api: Any,
    operator: Headers,
    operator2: Headers,
    control_plane: ControlPlane,
    gateway: Any,
    make_tenant: Callable[..., dict[str, Any]],
    publish: Callable[..., str],
    plugin: PluginServer,
) -> None:
    module = publish(plugin, "1.0.0")
    publish(plugin, "1.1.0", name=module)
    follower = make_tenant()["tenant"]
    pinned = make_tenant()["tenant"]
    subscribe(api, operator, follower, module)  # the stable channel: 1.1.0
    accepted = api.post(
        f"/v1/tenants/{pinned['id']}/subscriptions",
        json={"module": module, "version": "1.1.0"},
        headers=operator,
    )
    wait_operation(api, operator, pinned["id"], accepted.json()["operation"]["id"])
    assert _subscription(api, operator, follower, module)["version"] == "1.1.0"
    _answers(gateway, follower, module, 200)

    # an operator asks, the request alone changes nothing, a second operator approves
    asked = api.post(
        f"/v1/plugins/{module}/versions/1.1.0/revoke",
        json={"reason": "leaks data"},
        headers=operator,
    )
    assert asked.status_code == 202
    own = api.post(f"/v1/approvals/{asked.json()['id']}/approve", json={}, headers=operator)
    assert own.status_code == 409
    _answers(gateway, follower, module, 200)
    approved = api.post(f"/v1/approvals/{asked.json()['id']}/approve", json={}, headers=operator2)
    assert approved.status_code == 200, approved.text
    assert approved.json()["result"]["moved_subscriptions"] == 1

    # the stable subscription moves to the newest published version, and is told
    wait_for(
        lambda: (
            (s := _subscription(api, operator, follower, module))["version"] == "1.0.0"
            and s["status"] == "active"
        ),
        what="the stable subscription to move to 1.0.0",
    )
    admin = bank_admin_headers(control_plane.token, follower)
    moved = _subscription(api, admin, follower, module)
    assert "1.1.0 was revoked (leaks data)" in moved["notice"]
    assert "moves to 1.0.0" in moved["notice"]
    _answers(gateway, follower, module, 200)
    audit = api.get(f"/v1/tenants/{follower['id']}/audit", headers=admin).json()["items"]
    assert any(e["action"] == "subscription.moved" and e["detail"]["to"] == "1.0.0" for e in audit)
    # the bank's admin sees only its own subscription
    other = api.get(f"/v1/tenants/{pinned['id']}/subscriptions/{module}", headers=admin)
    assert other.status_code == 404

    # the pinned one stays: 503 with what to do, and the same in its notice
    refused = _answers(gateway, pinned, module, 503)
    problem = refused.json()
    assert (problem["module"], problem["version"], problem["version_status"]) == (
        module,
        "1.1.0",
        "revoked",
    )
    assert "PATCH" in problem["hint"]
    stranded = _subscription(api, operator, pinned, module)
    assert stranded["version"] == "1.1.0"
    assert "PATCH" in stranded["notice"]

    # revoking the last version leaves the stable subscription nowhere to go: 503, told so
    revoke(api, operator, operator2, module, "1.0.0", "withdrawn")
    refused = _answers(gateway, follower, module, 503)
    assert refused.json()["version_status"] == "revoked"
    assert "no published version" in _subscription(api, admin, follower, module)["notice"]
