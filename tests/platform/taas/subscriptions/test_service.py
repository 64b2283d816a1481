"""Banks subscribe their tenants to published modules; each subscription is provisioned."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from conftest import ControlPlane
from plugin_app import PluginServer
from support import bank_admin_headers, spec_of_json, systems_token, wait_for, wait_operation
from taas.integrations.spec import ModuleSpec
from taas.integrations.systems import systems


def _subscribe(api: Any, headers: dict[str, str], tenant: dict[str, Any], **body: Any) -> Any:
    return api.post(f"/v1/tenants/{tenant['id']}/subscriptions", json=body, headers=headers)


def _settled(api: Any, headers: dict[str, str], tenant: dict[str, Any], accepted: Any) -> Any:
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    op = wait_operation(api, headers, tenant["id"], body["operation"]["id"])
    assert op["status"] == "succeeded", op
    assert op["subscription_id"] == body["subscription"]["id"]
    return body


def _scopes(token: str) -> set[str]:
    return set(jwt.decode(token, options={"verify_signature": False})["scope"].split())


@pytest.mark.parametrize("tier", ["pool", "silo"])
def test_subscribe_provisions_the_module_and_unsubscribe_removes_it(
    tier: str,
    api: Any,
    operator: dict[str, str],
    control_plane: ControlPlane,
    make_tenant: Callable[..., dict[str, Any]],
    publish: Callable[..., str],
    plugin: PluginServer,
) -> None:
    scope = f"loans-{uuid.uuid4().hex[:6]}.score"
    name = publish(plugin, scopes=[scope])
    tenant = make_tenant(tier=tier)["tenant"]
    admin = bank_admin_headers(control_plane.token, tenant)

    body = _settled(api, admin, tenant, _subscribe(api, admin, tenant, module=name))
    assert body["subscription"]["status"] == "provisioning"
    current = api.get(f"/v1/tenants/{tenant['id']}/subscriptions/{name}", headers=admin).json()
    assert current["status"] == "active"
    assert current["version"] == "1.0.0"
    assert current["channel"] == "stable"
    assert current["scopes"] == [scope]
    assert current["gateway_path"] == f"/t/{tenant['slug']}/{name}/"
    assert current["rate_limit_rps"] == tenant["quotas"]["requests_per_second"]

    spec = spec_of_json(tenant)
    module = ModuleSpec(name=name, version="1.0.0", image=None, port=8080, upstream_url=None)
    kube = systems().kubernetes
    if tier == "silo":
        assert kube.object_exists(spec, "apps/v1", "Deployment", module.workload)
        assert kube.object_exists(spec, "v1", "Service", module.workload)
    else:
        shared = kube.modules_namespace
        assert kube.list_names("apps/v1", "Deployment", shared, f"taas.io/module={name}") == [
            module.shared_workload
        ]
        policies = kube.list_names(
            "networking.k8s.io/v1", "NetworkPolicy", shared, f"taas.io/tenant={spec.slug}"
        )
        assert policies == [f"{name}-{spec.slug}"]
    # The bank's systems client may now ask for the module's scope.
    assert scope in _scopes(systems_token(tenant, scope))

    gone = api.delete(f"/v1/tenants/{tenant['id']}/subscriptions/{name}", headers=admin)
    again = api.delete(f"/v1/tenants/{tenant['id']}/subscriptions/{name}", headers=admin)
    if again.status_code == 202:  # still removing: the same operation, not a second one
        assert again.json()["operation"]["id"] == gone.json()["operation"]["id"]
    else:  # already removed
        assert again.status_code == 404
    _settled(api, admin, tenant, gone)
    assert api.get(f"/v1/tenants/{tenant['id']}/subscriptions", headers=admin).json() == []
    assert systems().modules.exists(spec, module) is False
    if tier == "pool":
        assert kube.list_names("apps/v1", "Deployment", shared, f"taas.io/module={name}") == []
    assert scope not in _scopes(systems_token(tenant))


def test_a_scope_two_subscribed_plugins_share_stays_until_the_last_one_goes(
    api: Any,
    operator: dict[str, str],
    make_tenant: Callable[..., dict[str, Any]],
    publish: Callable[..., str],
    plugin: PluginServer,
) -> None:
    shared, own = f"kyc-{uuid.uuid4().hex[:6]}.read", f"kyc-{uuid.uuid4().hex[:6]}.write"
    first = publish(plugin, scopes=[shared, own])
    second = publish(plugin, scopes=[shared])
    tenant = make_tenant()["tenant"]
    for name in (first, second):
        _settled(api, operator, tenant, _subscribe(api, operator, tenant, module=name))
    assert {shared, own} <= _scopes(systems_token(tenant, f"{shared} {own}"))

    gone = api.delete(f"/v1/tenants/{tenant['id']}/subscriptions/{first}", headers=operator)
    _settled(api, operator, tenant, gone)
    assert shared in _scopes(systems_token(tenant, shared))  # the second plugin needs it
    assert own not in _scopes(systems_token(tenant))

    gone = api.delete(f"/v1/tenants/{tenant['id']}/subscriptions/{second}", headers=operator)
    _settled(api, operator, tenant, gone)
    assert shared not in _scopes(systems_token(tenant))


def test_stable_subscriptions_follow_a_new_release_and_pinned_ones_stay(
    api: Any,
    operator: dict[str, str],
    make_tenant: Callable[..., dict[str, Any]],
    publish: Callable[..., str],
    plugin: PluginServer,
) -> None:
    name = publish(plugin, "1.0.0")
    follower = make_tenant()["tenant"]
    pinned = make_tenant()["tenant"]
    _settled(api, operator, follower, _subscribe(api, operator, follower, module=name))
    _settled(api, operator, pinned, _subscribe(api, operator, pinned, module=name, version="1.0.0"))

    publish(plugin, "1.1.0", name=name)

    def version_of(tenant: dict[str, Any]) -> str:
        return str(
            api.get(f"/v1/tenants/{tenant['id']}/subscriptions/{name}", headers=operator).json()[
                "version"
            ]
        )

    wait_for(lambda: version_of(follower) == "1.1.0", what="the stable channel to follow 1.1.0")
    assert version_of(pinned) == "1.0.0"
    # A pinned subscription moves when asked; limits change at once, without an operation.
    moved = api.patch(
        f"/v1/tenants/{pinned['id']}/subscriptions/{name}",
        json={"version": "1.1.0", "rate_limit_rps": 7, "monthly_quota": 1000},
        headers=operator,
    )
    _settled(api, operator, pinned, moved)
    after = api.get(f"/v1/tenants/{pinned['id']}/subscriptions/{name}", headers=operator).json()
    assert (after["version"], after["rate_limit_rps"], after["monthly_quota"]) == (
        "1.1.0",
        7,
        1000,
    )
    only_limits = api.patch(
        f"/v1/tenants/{pinned['id']}/subscriptions/{name}",
        json={"rate_limit_rps": 9},
        headers=operator,
    )
    assert only_limits.status_code == 200
    assert only_limits.json()["operation"] is None


def test_subscribing_is_idempotent_and_refuses_what_cannot_be_used(
    api: Any,
    operator: dict[str, str],
    make_tenant: Callable[..., dict[str, Any]],
    publish: Callable[..., str],
    plugin: PluginServer,
) -> None:
    name = publish(plugin)
    tenant = make_tenant()["tenant"]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    url = f"/v1/tenants/{tenant['id']}/subscriptions"
    first = api.post(url, json={"module": name}, headers=operator | key)
    replay = api.post(url, json={"module": name}, headers=operator | key)
    assert first.status_code == replay.status_code == 202
    assert first.json()["subscription"]["id"] == replay.json()["subscription"]["id"]
    _settled(api, operator, tenant, first)
    assert api.post(url, json={"module": name}, headers=operator).status_code == 409

    unknown = api.post(url, json={"module": "no-such-module"}, headers=operator)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    missing = api.post(url, json={"module": name, "version": "9.9.9"}, headers=operator)
    assert missing.status_code in (404, 409)
    both = api.post(
        url, json={"module": name, "version": "1.0.0", "channel": "stable"}, headers=operator
    )
    assert both.status_code == 422


def test_a_bank_admin_manages_only_its_own_subscriptions(
    api: Any,
    operator: dict[str, str],
    auditor: dict[str, str],
    control_plane: ControlPlane,
    make_tenant: Callable[..., dict[str, Any]],
    publish: Callable[..., str],
    plugin: PluginServer,
) -> None:
    name = publish(plugin)
    own = make_tenant()["tenant"]
    other = make_tenant(tier="silo")["tenant"]
    admin = bank_admin_headers(control_plane.token, own)
    _settled(api, operator, other, _subscribe(api, operator, other, module=name))

    assert any(m["name"] == name for m in api.get("/v1/catalog", headers=admin).json())
    for ref in (other["id"], other["slug"]):
        assert api.get(f"/v1/tenants/{ref}/subscriptions", headers=admin).status_code == 404
        assert _subscribe(api, admin, {"id": ref}, module=name).status_code == 404
        assert (
            api.delete(f"/v1/tenants/{ref}/subscriptions/{name}", headers=admin).status_code == 404
        )
        assert api.get(f"/v1/tenants/{ref}/usage", headers=admin).status_code == 404
    assert (
        api.get(f"/v1/tenants/{other['id']}/subscriptions", headers=operator).json()[0]["module"]
        == name
    )
    # Auditors read, never change; bank systems (no bank-admin role) cannot manage at all.
    assert _subscribe(api, auditor, own, module=name).status_code == 403
    systems_headers = {"Authorization": f"Bearer {systems_token(own)}"}
    assert _subscribe(api, systems_headers, own, module=name).status_code == 403
    _settled(api, admin, own, _subscribe(api, admin, own, module=name))


def test_a_suspended_tenant_cannot_subscribe(
    api: Any,
    operator: dict[str, str],
    make_tenant: Callable[..., dict[str, Any]],
    publish: Callable[..., str],
    plugin: PluginServer,
) -> None:
    name = publish(plugin)
    tenant = make_tenant()["tenant"]
    suspended = api.post(f"/v1/tenants/{tenant['id']}/suspend", json={}, headers=operator)
    wait_operation(api, operator, tenant["id"], suspended.json()["operation"]["id"])
    refused = _subscribe(api, operator, tenant, module=name)
    assert refused.status_code == 409
    assert "resume" in refused.json()["hint"]
    resumed = api.post(f"/v1/tenants/{tenant['id']}/resume", json={}, headers=operator)
    wait_operation(api, operator, tenant["id"], resumed.json()["operation"]["id"])
