"""The reconciler finds drift in every system and repairs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from kubernetes import client

from support import spec_of_json, wait_for
from taas.integrations.systems import systems
from taas.kit.celery import celery_app
from taas.localstack.kube import api_client
from taas.localstack.stack import LocalStack

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
