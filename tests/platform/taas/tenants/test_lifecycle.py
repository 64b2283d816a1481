"""The whole tenant lifecycle through the API, checked in every real system."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
from kubernetes import client
from minio.error import S3Error

from conftest import TEST_DATABASE
from support import offboard, spec_of_json, wait_operation
from taas.integrations.spec import TenantSpec
from taas.integrations.systems import systems
from taas.kit.db import new_session
from taas.localstack.kube import api_client
from taas.localstack.stack import LocalStack
from taas.operations.repository import OperationRepository
from taas.tenants.plans import TenantOperation, tenant_lane


def credentials(spec: TenantSpec) -> dict[str, str]:
    return systems().kubernetes.read_credentials(spec)


def assert_kubernetes(stack: LocalStack, spec: TenantSpec) -> None:
    with api_client(stack.ctx) as api:
        core, net, rbac = (
            client.CoreV1Api(api),
            client.NetworkingV1Api(api),
            client.RbacAuthorizationV1Api(api),
        )
        namespace = core.read_namespace(spec.namespace)
        labels = namespace.metadata.labels
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert labels["taas.io/tenant"] == spec.slug
        quota = core.read_namespaced_resource_quota("tenant-quota", spec.namespace)
        assert quota.spec.hard["requests.cpu"] == spec.quotas.cpu
        assert quota.spec.hard["requests.memory"] == spec.quotas.memory
        assert core.read_namespaced_limit_range("tenant-defaults", spec.namespace).spec.limits
        policy = net.read_namespaced_network_policy("tenant-isolation", spec.namespace)
        assert policy.spec.pod_selector.match_labels is None  # selects every pod
        sources = policy.spec.ingress[0]._from
        assert sources[0].namespace_selector.match_labels == {
            "kubernetes.io/metadata.name": "taas-gateway"
        }
        assert (
            rbac.read_namespaced_role_binding("tenant-workload", spec.namespace).subjects[0].name
            == "tenant-workload"
        )
        # Pod Security "restricted" is enforced by the real API server.
        # A pod without the restricted security context (no runAsNonRoot, no seccomp...).
        bad_pod = client.V1Pod(
            metadata=client.V1ObjectMeta(name="unrestricted"),
            spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="app:1")]),
        )
        with pytest.raises(client.exceptions.ApiException) as refused:
            core.create_namespaced_pod(spec.namespace, bad_pod)
        assert refused.value.status == 403
        assert "restricted" in str(refused.value.body)


def assert_postgres(spec: TenantSpec, other: TenantSpec | None) -> None:
    secret = credentials(spec)
    dsn = systems().postgres.tenant_dsn(spec, secret["postgres_password"])
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS loans (id int PRIMARY KEY, amount numeric)")
        conn.execute("INSERT INTO loans VALUES (1, 1000) ON CONFLICT DO NOTHING")
        assert conn.execute("SELECT current_schema()").fetchone() == (spec.db_name,)
        if other is not None and not other.isolated and not spec.isolated:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f'SELECT * FROM "{other.db_name}".loans')  # noqa: S608
    # The tenant role cannot connect to the control plane's database either.
    control_plane_dsn = dsn.rsplit("/", 1)[0] + "/" + TEST_DATABASE
    with pytest.raises(psycopg.OperationalError, match=r"permission denied|not permitted"):
        psycopg.connect(control_plane_dsn).close()


def assert_storage(spec: TenantSpec, other: TenantSpec | None) -> None:
    storage = systems().storage
    assert storage.s3.get_bucket_versioning(spec.bucket).status == "Enabled"
    assert storage.s3.get_bucket_encryption(spec.bucket) is not None
    assert json.loads(storage.s3.get_bucket_policy(spec.bucket))["Statement"]
    secret = credentials(spec)
    own = storage.client_for(secret["storage_access_key"], secret["storage_secret_key"])
    own.put_object(spec.bucket, "kyc/1.txt", io.BytesIO(b"id card"), 7)
    assert own.get_object(spec.bucket, "kyc/1.txt").read() == b"id card"
    if other is not None:
        with pytest.raises(S3Error) as denied:
            own.list_objects(other.bucket).__next__()
        assert denied.value.code == "AccessDenied"


def assert_identity(spec: TenantSpec) -> dict[str, str]:
    identity = systems().identity
    secret = credentials(spec)
    realm = identity.realm_of(spec)
    token = httpx.post(
        f"{identity.url}/realms/{realm}/protocol/openid-connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": secret["client_id"],
            "client_secret": secret["client_secret"],
        },
        timeout=10,
    )
    assert token.status_code == 200, token.text
    admin = identity.admin(realm)
    user_id = admin.get_user_id(spec.admin_username)
    assert "bank-admin" in {r["name"] for r in admin.get_realm_roles_of_user(user_id)}
    if spec.isolated:
        assert admin.get_realm(realm)["enabled"] is True
    else:
        assert identity.organization(spec) is not None
    return {
        "realm": realm,
        "client_id": secret["client_id"],
        "client_secret": secret["client_secret"],
    }


def client_token_status(spec: TenantSpec, creds: dict[str, str]) -> int:
    identity = systems().identity
    return httpx.post(
        f"{identity.url}/realms/{creds['realm']}/protocol/openid-connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
        timeout=10,
    ).status_code


def assert_nothing_left(stack: LocalStack, spec: TenantSpec) -> None:
    s = systems()
    assert not s.kubernetes.namespace_exists(spec)
    assert s.postgres.exists(spec) == {"role": False, "database": False, "schema": False}
    assert s.storage.exists(spec) == {"bucket": False, "identity": False}
    assert not any(s.identity.exists(spec).values())


@pytest.mark.parametrize("tier", ["pool", "silo"])
def test_full_lifecycle_in_every_system(
    tier: str,
    stack: LocalStack,
    api: Any,
    operator: dict[str, str],
    operator2: dict[str, str],
    make_tenant: Callable[..., dict[str, Any]],
) -> None:
    neighbour = spec_of_json(make_tenant(tier="pool")["tenant"])
    tenant = make_tenant(tier=tier, quotas={"cpu": "3", "memory": "6Gi", "storage_gb": 5})["tenant"]
    assert tenant["status"] == "active"
    spec = spec_of_json(tenant)

    assert_kubernetes(stack, spec)
    assert_postgres(neighbour, None)
    assert_postgres(spec, neighbour)
    assert_storage(spec, neighbour)
    creds = assert_identity(spec)

    # suspend: logins and API clients stop working, the database role and storage identity too
    response = api.post(
        f"/v1/tenants/{tenant['id']}/suspend", json={"reason": "unpaid"}, headers=operator
    )
    assert response.status_code == 202, response.text
    assert response.json()["tenant"]["status"] == "suspended"
    op = wait_operation(api, operator, tenant["id"], response.json()["operation"]["id"])
    assert op["status"] == "succeeded", op
    assert client_token_status(spec, creds) in (400, 401, 403)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(
            systems().postgres.tenant_dsn(spec, credentials(spec)["postgres_password"])
        ).close()

    # resume restores all of it
    response = api.post(f"/v1/tenants/{tenant['id']}/resume", headers=operator)
    assert response.status_code == 202
    assert (
        wait_operation(api, operator, tenant["id"], response.json()["operation"]["id"])["status"]
        == "succeeded"
    )
    assert client_token_status(spec, creds) == 200
    assert_postgres(spec, None)

    # offboard with nothing kept (a second operator approves): every system is clean after
    op = offboard(api, operator, operator2, tenant["id"], keep_data_days=0)
    assert op["status"] == "succeeded", op
    assert api.get(f"/v1/tenants/{tenant['id']}", headers=operator).json()["status"] == "offboarded"
    assert_nothing_left(stack, spec)


def test_offboarding_keeps_data_read_only_for_the_retention_period(
    api: Any, operator: dict[str, str], make_tenant: Callable[..., dict[str, Any]]
) -> None:
    tenant = make_tenant()["tenant"]
    spec = spec_of_json(tenant)
    response = api.post(
        f"/v1/tenants/{tenant['id']}/offboard",
        json={"retention": {"keep_data_days": 30}},
        headers=operator,
    )
    assert response.status_code == 202
    assert (
        wait_operation(api, operator, tenant["id"], response.json()["operation"]["id"])["status"]
        == "succeeded"
    )
    after = api.get(f"/v1/tenants/{tenant['id']}", headers=operator).json()
    assert after["status"] == "offboarded"
    assert after["purge_after"] is not None
    s = systems()
    assert not s.kubernetes.namespace_exists(spec)
    assert not any(s.identity.exists(spec).values())
    assert s.storage.exists(spec) == {"bucket": True, "identity": False}
    assert s.postgres.exists(spec)["schema"] is True
    # purge once the retention is over: the retention task's operation, run by the worker

    with new_session() as session:
        op = OperationRepository(session).start(
            lane=tenant_lane(uuid.UUID(tenant["id"])),
            tenant_id=uuid.UUID(tenant["id"]),
            kind=TenantOperation.PURGE,
            requested_by="test",
            request_id=None,
            traceparent=None,
        )
        session.commit()
        op_id = op.id
    purged = wait_operation(api, operator, tenant["id"], str(op_id))
    assert purged["status"] == "succeeded", purged
    assert s.storage.exists(spec)["bucket"] is False
    assert s.postgres.exists(spec) == {"role": False, "database": False, "schema": False}


def test_object_lock_is_set_when_asked_for(
    api: Any, operator: dict[str, str], make_tenant: Callable[..., dict[str, Any]]
) -> None:
    tenant = make_tenant(object_lock=True)["tenant"]
    assert tenant["object_lock"] is True
    config = systems().storage.s3.get_object_lock_config(spec_of_json(tenant).bucket)
    assert config is not None
    plain = make_tenant()["tenant"]
    with pytest.raises(S3Error) as missing:
        systems().storage.s3.get_object_lock_config(spec_of_json(plain).bucket)
    assert "ObjectLockConfiguration" in str(missing.value.code)
