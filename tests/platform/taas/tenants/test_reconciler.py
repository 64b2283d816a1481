"""The reconciler finds drift in every system and repairs it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from kubernetes import client

from support import spec_of_json, wait_for, wait_operation
from taas.integrations.inventory import take_inventory
from taas.integrations.postgres import with_database
from taas.integrations.systems import systems
from taas.kit.celery import celery_app
from taas.kit.db import new_session
from taas.localstack.kube import api_client
from taas.localstack.stack import LocalStack
from taas.tenants import reconciler

Headers = dict[str, str]


def test_drift_in_every_system_is_repaired_and_reported(
    stack: LocalStack, api: Any, operator: Headers, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    tenant = make_tenant()["tenant"]
    spec = spec_of_json(tenant)
    s = systems()
    # Someone deletes things by hand, in each system.
    with api_client(stack.ctx) as kube:
        client.NetworkingV1Api(kube).delete_namespaced_network_policy(
            "tenant-isolation", spec.namespace
        )
        client.CoreV1Api(kube).delete_namespaced_resource_quota("tenant-quota", spec.namespace)
    s.storage.s3.delete_bucket_policy(spec.bucket)
    admin = s.identity.admin(s.identity.realm_of(spec))
    admin.delete_client(admin.get_client_id(spec.systems_client))
    with psycopg.connect(s.postgres.admin_dsn, autocommit=True) as conn:
        conn.execute(f'ALTER ROLE "{spec.db_name}" NOLOGIN')

    response = api.post(f"/v1/tenants/{tenant['id']}/reconcile", headers=operator)
    assert response.status_code == 200, response.text
    repaired = {(d["system"], d["repaired"]) for d in response.json()["drift"]}
    assert ("kubernetes", "created NetworkPolicy tenant-isolation") in repaired
    assert ("kubernetes", "created ResourceQuota tenant-quota") in repaired
    assert ("minio", f"restored bucket policy of {spec.bucket}") in repaired
    assert ("keycloak", f"created client {spec.systems_client}") in repaired
    assert response.json()["reconciled_at"] is not None
    assert s.kubernetes.object_exists(
        spec, "networking.k8s.io/v1", "NetworkPolicy", "tenant-isolation"
    )
    assert s.identity.exists(spec)["client"]

    # Once repaired, there is nothing left to report.
    again = api.post(f"/v1/tenants/{tenant['id']}/reconcile", headers=operator).json()
    assert again["drift"] == []
    events = api.get(f"/v1/tenants/{tenant['id']}/audit", headers=operator).json()["items"]
    assert any(e["action"] == "reconcile.repaired" for e in events)


def test_the_periodic_reconciler_task_repairs_drift(
    stack: LocalStack, api: Any, operator: Headers, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    tenant = make_tenant()["tenant"]
    spec = spec_of_json(tenant)
    with api_client(stack.ctx) as kube:
        client.NetworkingV1Api(kube).delete_namespaced_network_policy(
            "tenant-isolation", spec.namespace
        )
    celery_app().send_task("taas.tenants.reconcile_all")  # what Celery beat sends

    def repaired() -> bool:
        # The tenant's drift field shows the latest run; the audit trail keeps every repair.
        events = api.get(f"/v1/tenants/{tenant['id']}/audit", headers=operator).json()["items"]
        return any(
            d["system"] == "kubernetes"
            and d["repaired"] == "created NetworkPolicy tenant-isolation"
            for e in events
            if e["action"] == "reconcile.repaired"
            for d in e["detail"]["drift"]
        )

    wait_for(repaired, what="the reconciler to report the repair")
    assert systems().kubernetes.object_exists(
        spec, "networking.k8s.io/v1", "NetworkPolicy", "tenant-isolation"
    )


# ------------------------------------------------------------------ the bulk pass


def _break_network_policy(stack: LocalStack, spec: Any) -> None:
    with api_client(stack.ctx) as kube:
        client.NetworkingV1Api(kube).delete_namespaced_network_policy(
            "tenant-isolation", spec.namespace
        )


def _break_bucket_policy(stack: LocalStack, spec: Any) -> None:
    systems().storage.s3.delete_bucket_policy(spec.bucket)


def _break_storage_user(stack: LocalStack, spec: Any) -> None:
    systems().storage.admin.user_remove(spec.storage_user)


def _break_client_enabled(stack: LocalStack, spec: Any) -> None:
    admin = systems().identity.admin(systems().identity.realm_of(spec))
    admin.update_client(admin.get_client_id(spec.systems_client), {"enabled": False})


def _break_client(stack: LocalStack, spec: Any) -> None:
    admin = systems().identity.admin(systems().identity.realm_of(spec))
    admin.delete_client(admin.get_client_id(spec.systems_client))


def _break_schema(stack: LocalStack, spec: Any) -> None:
    s = systems()
    database = s.postgres.database_of(spec)
    with psycopg.connect(with_database(s.postgres.admin_dsn, database), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{spec.db_name}" CASCADE')


BREAKAGES: dict[str, tuple[Callable[[LocalStack, Any], None], str, str]] = {
    # what is broken: (how, what the comparison says, what the repair records)
    "network policy": (
        _break_network_policy,
        "NetworkPolicy tenant-isolation missing",
        "created NetworkPolicy tenant-isolation",
    ),
    "bucket policy": (_break_bucket_policy, "bucket policy of {bucket} differs", "{bucket}"),
    "storage user": (
        _break_storage_user,
        "user {storage_user} missing",
        "created service identity {storage_user}",
    ),
    "disabled client": (
        _break_client_enabled,
        "client {systems_client} enabled is False",
        "enabled client {systems_client}",
    ),
    "deleted client": (
        _break_client,
        "client {systems_client} missing",
        "created client {systems_client}",
    ),
    "dropped schema": (_break_schema, "schema {db_name} missing", "created schema {db_name}"),
}


def _names(spec: Any) -> dict[str, str]:
    return {
        "bucket": spec.bucket,
        "storage_user": spec.storage_user,
        "systems_client": spec.systems_client,
        "db_name": spec.db_name,
    }


def _differences(spec: Any) -> list[str]:
    s = systems()
    inventory = take_inventory(s, [spec])
    return reconciler.differences(spec, inventory, s, active=True)


@pytest.mark.parametrize("broken", list(BREAKAGES))
def test_the_bulk_pass_finds_what_differs_and_repairs_only_that_tenant(
    stack: LocalStack,
    api: Any,
    operator: Headers,
    make_tenant: Callable[..., dict[str, Any]],
    broken: str,
) -> None:
    tenant = make_tenant()["tenant"]
    spec = spec_of_json(tenant)
    assert _differences(spec) == []  # a freshly provisioned tenant matches its desired state
    how, difference, repaired = BREAKAGES[broken]
    how(stack, spec)
    assert difference.format(**_names(spec)) in _differences(spec)

    with new_session() as session:
        report = reconciler.reconcile_all(session, systems())
    assert report[uuid.UUID(tenant["id"])] > 0
    assert _differences(spec) == []
    drift = api.get(f"/v1/tenants/{tenant['id']}", headers=operator).json()["drift"]
    assert any(repaired.format(**_names(spec)) in d["repaired"] for d in drift), drift
    events = api.get(f"/v1/tenants/{tenant['id']}/audit", headers=operator).json()["items"]
    assert any(e["action"] == "reconcile.repaired" for e in events)


def test_a_suspended_tenants_disabled_client_is_not_drift(
    api: Any, operator: Headers, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    tenant = make_tenant()["tenant"]
    spec = spec_of_json(tenant)
    response = api.post(
        f"/v1/tenants/{tenant['id']}/suspend", json={"reason": "unpaid"}, headers=operator
    )
    assert response.status_code == 202, response.text
    op = wait_operation(api, operator, tenant["id"], response.json()["operation"]["id"])
    assert op["status"] == "succeeded", op
    s = systems()
    inventory = take_inventory(s, [spec])
    assert reconciler.differences(spec, inventory, s, active=False) == []
    # ... while the same listing, held against an active tenant, is drift
    assert f"client {spec.systems_client} enabled is False" in reconciler.differences(
        spec, inventory, s, active=True
    )


@pytest.mark.parametrize("broken", ["disabled client", "deleted client"])
def test_a_silo_tenants_client_is_looked_up_in_its_own_realm(
    stack: LocalStack, api: Any, make_tenant: Callable[..., dict[str, Any]], broken: str
) -> None:
    # a silo realm's clients are found by client id, not listed: the same drift is seen
    spec = spec_of_json(make_tenant(tier="silo")["tenant"])
    assert _differences(spec) == []
    how, difference, _ = BREAKAGES[broken]
    how(stack, spec)
    assert difference.format(**_names(spec)) in _differences(spec)


@pytest.mark.parametrize("broken", ["disabled", "deleted"])
def test_a_silo_realm_changed_by_hand_is_seen_though_its_token_is_kept(
    stack: LocalStack, api: Any, make_tenant: Callable[..., dict[str, Any]], broken: str
) -> None:
    """The pass reads a silo realm with its local account's kept token, which Keycloak
    still takes after the realm is disabled and refuses once it is deleted."""
    spec = spec_of_json(make_tenant(tier="silo")["tenant"])
    identity = systems().identity
    assert _differences(spec) == []  # the local account's token is now kept
    assert identity.tokens.get((spec.realm, identity.client_id)) is not None
    owner = identity.owner(spec.realm)
    if broken == "disabled":
        owner.update_realm(spec.realm, {"enabled": False})
        assert f"realm {spec.realm} enabled is False" in _differences(spec)
        owner.update_realm(spec.realm, {"enabled": True})
    else:
        owner.delete_realm(spec.realm)
        assert _differences(spec) == [f"realm {spec.realm} missing"]
        assert identity.tokens.get((spec.realm, identity.client_id)) is None
