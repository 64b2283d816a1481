"""The tenant API: idempotency, declared transitions, errors, roles and tenant boundaries."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conftest import ControlPlane
from support import bank_admin_headers, offboard, spec_of_json, unique_slug, wait_operation
from taas.integrations.systems import systems

Headers = dict[str, str]


def _body(**fields: Any) -> dict[str, Any]:
    return {"slug": unique_slug(), "display_name": "Bank", "region": "cn-north-1", **fields}


def test_a_retried_create_returns_the_same_tenant_and_starts_one_operation(
    api: Any, operator: Headers, operator2: Headers, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    body = _body()
    key = {"Idempotency-Key": str(uuid.uuid4()), **operator}
    first = api.post("/v1/tenants", json=body, headers=key)
    second = api.post("/v1/tenants", json=body, headers=key)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    tenant_id = first.json()["tenant"]["id"]
    wait_operation(api, operator, tenant_id, first.json()["operation"]["id"])
    operations = api.get(f"/v1/tenants/{tenant_id}/operations", headers=operator).json()
    assert [op["kind"] for op in operations] == ["provision"]
    # the same key with another body is refused, nothing is created
    other = api.post("/v1/tenants", json=_body(), headers=key)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert "Idempotency-Key" in other.json()["detail"]
    offboard(api, operator, operator2, tenant_id, keep_data_days=0)  # clean up


def test_duplicate_slug_is_a_conflict(
    api: Any, operator: Headers, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    tenant = make_tenant()["tenant"]
    again = api.post("/v1/tenants", json=_body(slug=tenant["slug"]), headers=operator)
    assert again.status_code == 409
    assert again.json()["title"] == "Conflict"


def test_illegal_transitions_get_409_with_the_current_state(
    api: Any, operator: Headers, operator2: Headers, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    tenant = make_tenant()["tenant"]
    resumed = api.post(f"/v1/tenants/{tenant['id']}/resume", headers=operator)
    assert resumed.status_code == 409
    problem = resumed.json()
    assert problem["current_status"] == "active"
    assert "suspended" in problem["hint"] or "offboarding" in problem["hint"]
    retried = api.post(f"/v1/tenants/{tenant['id']}/retry", headers=operator)
    assert retried.status_code == 409
    # offboarded is final
    offboard(api, operator, operator2, tenant["id"], keep_data_days=0)
    again = api.post(f"/v1/tenants/{tenant['id']}/suspend", headers=operator)
    assert again.status_code == 409
    assert again.json()["current_status"] == "offboarded"


def test_a_second_change_while_an_operation_runs_is_refused(
    api: Any, operator: Headers, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    accepted = make_tenant(wait=False)
    tenant_id = accepted["tenant"]["id"]
    response = api.post(f"/v1/tenants/{tenant_id}/offboard", headers=operator)
    assert response.status_code == 409
    wait_operation(api, operator, tenant_id, accepted["operation"]["id"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "UPPER", "display_name": "x", "region": "r"}, "slug"),
        ({"slug": "ok-slug", "display_name": "", "region": "r"}, "display_name"),
        ({"slug": "ok-slug", "display_name": "x", "region": "r", "tier": "gold"}, "tier"),
        ({"slug": "ok-slug", "display_name": "x", "region": "r", "quotas": {"cpu": "-1"}}, "cpu"),
        (
            {"slug": "ok-slug", "display_name": "x", "region": "r", "quotas": {"memory": "4GB"}},
            "memory",
        ),
        ({"slug": "ok-slug", "display_name": "x", "region": "r", "surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_a_422_problem(
    api: Any, operator: Headers, body: dict[str, Any], field: str
) -> None:
    response = api.post("/v1/tenants", json=body, headers=operator)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert any(field in ".".join(error["loc"]) for error in response.json()["errors"])


def test_quota_update_runs_an_operation_that_reaches_kubernetes(
    api: Any, operator: Headers, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    tenant = make_tenant()["tenant"]
    response = api.patch(
        f"/v1/tenants/{tenant['slug']}",
        json={
            "quotas": {"cpu": "4", "memory": "8Gi", "storage_gb": 20},
            "contacts": [{"name": "Li Wei", "email": "li.wei@example.com"}],
        },
        headers=operator,
    )
    assert response.status_code == 202, response.text
    assert (
        wait_operation(api, operator, tenant["id"], response.json()["operation"]["id"])["status"]
        == "succeeded"
    )
    spec = spec_of_json(api.get(f"/v1/tenants/{tenant['id']}", headers=operator).json())
    assert spec.quotas.cpu == "4"
    assert systems().kubernetes.ensure(spec) == []  # already matches: nothing to repair
    tier_change = api.patch(f"/v1/tenants/{tenant['id']}", json={"tier": "silo"}, headers=operator)
    assert tier_change.status_code == 409
    assert "pool" in tier_change.json()["detail"]


def test_a_silo_tenant_can_become_dedicated_in_place(
    api: Any, operator: Headers, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    tenant = make_tenant(tier="silo")["tenant"]
    response = api.patch(
        f"/v1/tenants/{tenant['id']}", json={"tier": "dedicated"}, headers=operator
    )
    assert response.status_code == 202, response.text
    assert (
        wait_operation(api, operator, tenant["id"], response.json()["operation"]["id"])["status"]
        == "succeeded"
    )
    spec = spec_of_json(api.get(f"/v1/tenants/{tenant['id']}", headers=operator).json())
    assert spec.tier == "dedicated"
    assert systems().identity.exists(spec)["realm"] is True
    from kubernetes import client as kube

    from support import local_stack_ctx
    from taas.localstack.kube import api_client

    with api_client(local_stack_ctx()) as k8s:
        labels = kube.CoreV1Api(k8s).read_namespace(spec.namespace).metadata.labels
    assert labels["taas.io/tier"] == "dedicated"


def test_list_filters_and_paginates(
    api: Any, operator: Headers, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    made = sorted(make_tenant(region="eu-test-1")["tenant"]["slug"] for _ in range(3))
    seen: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"region": "eu-test-1", "limit": 2, "status": ["active"]}
        if after:
            params["after"] = after
        page = api.get("/v1/tenants", params=params, headers=operator).json()
        seen += [item["slug"] for item in page["items"]]
        after = page["next_cursor"]
        if not after:
            break
    assert sorted(set(seen) & set(made)) == made
    assert api.get("/v1/tenants", params={"limit": 0}, headers=operator).status_code == 422


# --------------------------------------------------------------------------- authentication


def test_no_token_or_a_bad_token_is_401(api: Any) -> None:
    assert api.get("/v1/tenants").status_code == 401
    forged = api.get("/v1/tenants", headers={"Authorization": "Bearer not.a.jwt"})
    assert forged.status_code == 401
    assert forged.headers["content-type"] == "application/problem+json"
    assert forged.headers["www-authenticate"] == "Bearer"


def test_a_token_from_a_foreign_issuer_is_401(api: Any, control_plane: ControlPlane) -> None:
    master = httpx.post(
        f"{control_plane.keycloak_url}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": os.environ["TAAS_KEYCLOAK_ADMIN_USER"],
            "password": os.environ["TAAS_KEYCLOAK_ADMIN_PASSWORD"],
        },
        timeout=10,
    ).json()["access_token"]
    response = api.get("/v1/tenants", headers={"Authorization": f"Bearer {master}"})
    assert response.status_code == 401
    assert "not accepted" in response.json()["detail"]


def test_an_id_token_is_not_a_bearer_token(api: Any, control_plane: ControlPlane) -> None:
    login = httpx.post(
        f"{control_plane.keycloak_url}/realms/taas-platform/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "taas-console",
            "username": "test-operator",
            "password": control_plane.passwords["test-operator"],
            "scope": "openid",
        },
        timeout=10,
    ).json()
    assert (
        api.get(
            "/v1/tenants", headers={"Authorization": f"Bearer {login['access_token']}"}
        ).status_code
        == 200
    )
    response = api.get("/v1/tenants", headers={"Authorization": f"Bearer {login['id_token']}"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "not an access token" in response.json()["detail"]


def test_tokens_of_other_clients_are_refused(api: Any, control_plane: ControlPlane) -> None:
    """A valid access token of the platform realm, but of a client not meant for the API."""
    admin = systems().identity.admin("taas-platform")
    client_id = f"test-other-{uuid.uuid4().hex[:6]}"
    admin.create_client(
        {"clientId": client_id, "publicClient": True, "directAccessGrantsEnabled": True}
    )
    try:
        token = httpx.post(
            f"{control_plane.keycloak_url}/realms/taas-platform/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": client_id,
                "username": "test-operator",
                "password": control_plane.passwords["test-operator"],
            },
            timeout=10,
        ).json()["access_token"]
    finally:
        admin.delete_client(admin.get_client_id(client_id))
    response = api.get("/v1/tenants", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "not accepted by this API" in response.json()["detail"]


def test_roles_decide_what_a_platform_user_may_do(
    api: Any,
    operator: Headers,
    auditor: Headers,
    control_plane: ControlPlane,
    make_tenant: Callable[..., dict[str, Any]],
) -> None:
    tenant = make_tenant()["tenant"]
    assert api.get(f"/v1/tenants/{tenant['id']}", headers=auditor).status_code == 200
    assert api.post(f"/v1/tenants/{tenant['id']}/suspend", headers=auditor).status_code == 403
    assert api.post("/v1/tenants", json=_body(), headers=auditor).status_code == 403
    nobody = control_plane.headers("test-nobody")
    assert api.get("/v1/tenants", headers=nobody).status_code == 403
    # refused mutations are audited too
    events = api.get("/v1/audit", params={"limit": 500}, headers=auditor).json()["items"]
    assert any(
        e["outcome"] == "rejected (403)" and e["actor"].endswith("test-auditor") for e in events
    )


# --------------------------------------------------------------------------- tenant boundaries


def _bank_admin_token(control_plane: ControlPlane, tenant: dict[str, Any]) -> dict[str, str]:
    return bank_admin_headers(control_plane.token, tenant)


@pytest.mark.parametrize("tier", ["pool", "silo"])
def test_a_bank_admin_sees_only_its_own_tenant(
    tier: str, api: Any, control_plane: ControlPlane, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    own = make_tenant(tier=tier)["tenant"]
    other = make_tenant(tier="pool")["tenant"]
    headers = _bank_admin_token(control_plane, own)

    assert api.get(f"/v1/tenants/{own['id']}", headers=headers).status_code == 200
    assert api.get(f"/v1/tenants/{own['id']}/operations", headers=headers).status_code == 200
    assert api.get(f"/v1/tenants/{own['id']}/audit", headers=headers).status_code == 200
    listing = api.get("/v1/tenants", params={"limit": 200}, headers=headers).json()
    assert [t["slug"] for t in listing["items"]] == [own["slug"]]
    for path in (
        f"/v1/tenants/{other['id']}",
        f"/v1/tenants/{other['slug']}",
        f"/v1/tenants/{other['id']}/operations",
        f"/v1/tenants/{other['id']}/audit",
    ):
        denied = api.get(path, headers=headers)
        assert denied.status_code == 404, path
        # only what was sent comes back: neither the other name nor the id is revealed
        hidden = other["id"] if other["slug"] in path else other["slug"]
        assert hidden not in denied.text
    assert api.post(f"/v1/tenants/{own['id']}/suspend", headers=headers).status_code == 403
    assert api.get("/v1/audit", headers=headers).status_code == 403


def test_concurrent_duplicates_with_one_key_create_one_tenant(
    api_server: str, api: Any, operator: Headers, operator2: Headers
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = _body()
    headers = {"Idempotency-Key": str(uuid.uuid4()), **operator}

    def send(_: int) -> httpx.Response:
        return httpx.post(f"{api_server}/v1/tenants", json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(send, range(6)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["tenant"]["id"] for r in responses}) == 1
    tenant_id = responses[0].json()["tenant"]["id"]
    operation = wait_operation(api, operator, tenant_id, responses[0].json()["operation"]["id"])
    assert operation["status"] == "succeeded"
    assert len(api.get(f"/v1/tenants/{tenant_id}/operations", headers=operator).json()) == 1
    offboard(api, operator, operator2, tenant_id, keep_data_days=0)
