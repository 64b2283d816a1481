"""The control plane runs with least-privilege accounts, not MinIO's root or Keycloak's
master admin (issue 10, item 12): what those accounts may not do, on the real servers."""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from keycloak import KeycloakAdmin
from keycloak.exceptions import KeycloakError
from minio import Minio
from minio.error import MinioAdminException, S3Error

from conftest import ControlPlane
from support import unique_slug
from taas.integrations.identity import REALM_MANAGEMENT_ROLES, IdentityTenants
from taas.integrations.identity.connection import realm_creator
from taas.integrations.spec import TenantSpec
from taas.integrations.systems import systems
from taas.kit.settings import app_settings


@pytest.fixture
def foreign_bucket(control_plane: ControlPlane) -> Iterator[str]:
    """A bucket the platform has no business with (an audit or backup bucket, say)."""
    root = Minio(
        os.environ["TAAS_MINIO_ENDPOINT"],
        access_key=os.environ["TAAS_MINIO_ROOT_USER"],
        secret_key=os.environ["TAAS_MINIO_ROOT_PASSWORD"],
        secure=False,
    )
    name = f"backup-{uuid.uuid4().hex[:10]}"
    root.make_bucket(name)
    root.put_object(name, "dump.sql", io.BytesIO(b"secret"), 6)
    yield name
    root.remove_object(name, "dump.sql")
    root.remove_bucket(name)


def _s3_code(call: Any) -> str:
    try:
        call()
    except S3Error as exc:
        return str(exc.code)
    return "allowed"


def test_the_runtime_identities_are_not_the_root_ones(control_plane: ControlPlane) -> None:
    settings = app_settings()
    assert settings.minio_access_key not in ("", os.environ["TAAS_MINIO_ROOT_USER"])
    assert settings.keycloak_client_id
    assert systems().identity.client_id == settings.keycloak_client_id


def test_the_platforms_minio_identity_reaches_only_tenant_buckets(foreign_bucket: str) -> None:
    s3 = systems().storage.s3
    assert _s3_code(lambda: s3.get_object(foreign_bucket, "dump.sql").read()) == "AccessDenied"
    assert _s3_code(lambda: list(s3.list_objects(foreign_bucket))) == "AccessDenied"
    assert (
        _s3_code(lambda: s3.put_object(foreign_bucket, "x", io.BytesIO(b"x"), 1)) == "AccessDenied"
    )
    assert _s3_code(lambda: s3.remove_bucket(foreign_bucket)) == "AccessDenied"
    assert _s3_code(lambda: s3.make_bucket(f"audit-{uuid.uuid4().hex[:8]}")) == "AccessDenied"


@pytest.mark.parametrize(
    "operation", ["info", "service_restart", "policy_list", "get_data_usage_info"]
)
def test_the_platforms_minio_identity_has_no_server_administration(operation: str) -> None:
    with pytest.raises(MinioAdminException, match=r"Status: 403"):
        getattr(systems().storage.admin, operation)()


def _admin_identity() -> IdentityTenants:
    return IdentityTenants(
        os.environ["TAAS_KEYCLOAK_URL"],
        os.environ["TAAS_KEYCLOAK_ADMIN_USER"],
        os.environ["TAAS_KEYCLOAK_ADMIN_PASSWORD"],
        banks_realm="taas-banks",
        platform_realm="taas-platform",
    )


def _grants(root: KeycloakAdmin, client_id: str) -> tuple[set[str], set[str]]:
    """The master realm roles, and the realms whose management roles, ``client_id``'s
    service account holds."""
    account = root.get_client_service_account_user(root.get_client_id(client_id))
    held = root.get_all_roles_of_user(account["id"])
    realms = {
        str(client["client"]).removesuffix("-realm")
        for client in (held.get("clientMappings") or {}).values()
        if str(client["client"]).endswith("-realm") and client.get("mappings")
    }
    return {role["name"] for role in held.get("realmMappings") or []}, realms


@pytest.fixture
def silo_spec(control_plane: ControlPlane) -> Iterator[TenantSpec]:
    """A silo tenant's identity space, made by the control plane's own accounts."""
    spec = TenantSpec(id=uuid.uuid4(), slug=unique_slug("acct"), tier="silo", region="r")
    systems().identity.ensure(spec, "Initial-Passw0rd!")
    yield spec
    systems().identity.remove(spec)


def test_the_shared_account_manages_the_platform_realms_only(silo_spec: TenantSpec) -> None:
    """Requests for pool tenants pay for every role their caller holds: the configured
    client holds no bank realm's management and cannot create realms; the realm creator
    holds the bank realms' (docs/benchmarks.md, Provisioning)."""
    identity = systems().identity
    root = _admin_identity().admin("master")
    realm_roles, realms = _grants(root, identity.client_id)
    assert "create-realm" not in realm_roles
    assert realms == {"taas-platform", "taas-banks", "taas-vendors"}
    creator_roles, creator_realms = _grants(root, realm_creator(identity.client_id))
    assert "create-realm" in creator_roles
    assert silo_spec.realm in creator_realms
    assert not creator_realms & {"taas-platform", "taas-banks", "taas-vendors"}


def _refusal(call: Any) -> int:
    with pytest.raises(KeycloakError) as refused:
        call()
    return int(refused.value.response_code or 0)


def test_a_bank_realm_is_out_of_the_shared_accounts_reach(silo_spec: TenantSpec) -> None:
    identity = systems().identity
    shared = identity.admin(identity.banks_realm)
    realm = silo_spec.realm
    # any master admin may read a realm's name (Keycloak's brief representation), no more
    assert "enabled" not in shared.get_realm(realm)
    for path in ("users", "clients", "roles"):
        assert shared.connection.raw_get(f"admin/realms/{realm}/{path}").status_code == 403
    assert _refusal(lambda: shared.update_realm(realm, {"enabled": False})) == 403
    made = f"bank-{unique_slug('x')}"
    assert _refusal(lambda: shared.create_realm({"realm": made, "enabled": True})) == 403
    assert identity.owner(realm).get_realm(realm)["enabled"] is True
    assert identity.exists(silo_spec)["realm"]


def test_platform_init_moves_a_bank_realms_management_to_the_realm_creator(
    silo_spec: TenantSpec,
) -> None:
    """Before the split, the configured client created the bank realms and held their
    management; init takes it back and gives it to the realm creator."""
    identity = systems().identity
    admin = _admin_identity()
    root = admin.admin("master")
    shared = root.get_client_service_account_user(root.get_client_id(identity.client_id))
    admin.grant_realm_management(root, shared["id"], identity.client_id, silo_spec.realm)
    assert silo_spec.realm in _grants(root, identity.client_id)[1]
    changes = admin.ensure_control_plane_clients(identity.client_id, identity.client_secret)
    assert f"revoked {identity.client_id}'s management of realm {silo_spec.realm}" in changes
    assert silo_spec.realm not in _grants(root, identity.client_id)[1]
    assert silo_spec.realm in _grants(root, realm_creator(identity.client_id))[1]
    seen: list[tuple[int, int]] = []
    again = admin.ensure_control_plane_clients(
        identity.client_id, identity.client_secret, lambda done, of: seen.append((done, of))
    )
    assert again == []
    assert seen  # progress, bank realm by bank realm
    assert seen[-1][0] == seen[-1][1]
    assert identity.local_admin(silo_spec.realm, fresh=True) is not None


def _issuer(admin: KeycloakAdmin) -> str:
    token = admin.connection.token
    assert token is not None
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    return str(claims["iss"])


def test_a_bank_realm_is_worked_in_by_its_own_local_account(silo_spec: TenantSpec) -> None:
    """Inside a silo realm the control plane is a client of that realm holding its
    management roles, and nothing beyond it."""
    identity = systems().identity
    realm = silo_spec.realm
    local = identity.admin(realm)
    assert _issuer(local) == identity.issuer(realm)
    account = local.get_client_service_account_user(local.get_client_id(identity.client_id))
    management = local.get_client_id("realm-management")
    held = {r["name"] for r in local.get_client_roles_of_user(account["id"], management)}
    assert held == set(REALM_MANAGEMENT_ROLES)
    for path in ("admin/realms/taas-banks/users", "admin/realms/master/users"):
        assert local.connection.raw_get(path).status_code in (401, 403)


def test_a_removed_local_account_is_made_again_by_the_next_repair(
    silo_spec: TenantSpec,
) -> None:
    identity = systems().identity
    realm = silo_spec.realm
    owner = identity.owner(realm)
    owner.delete_client(owner.get_client_id(identity.client_id))
    assert identity.local_admin(realm, fresh=True) is None
    assert _issuer(identity.admin(realm)) == identity.issuer("master")  # the realm creator
    changes, _ = identity.ensure(silo_spec, "Initial-Passw0rd!")
    assert f"created the control plane's account {identity.client_id} in realm {realm}" in (changes)
    assert _issuer(identity.admin(realm)) == identity.issuer(realm)


def test_a_suspended_bank_realm_is_worked_on_by_the_realm_creator(
    silo_spec: TenantSpec,
) -> None:
    """A disabled realm refuses its local account's login: a suspended silo tenant's
    scopes can still be changed and its realm read, enabled and deleted."""
    identity = systems().identity
    realm = silo_spec.realm
    identity.set_enabled(silo_spec, enabled=False)
    assert identity.local_admin(realm, fresh=True) is None
    assert identity.exists(silo_spec) == {
        "realm": True,
        "organization": False,
        "client": True,
        "admin_user": True,
    }
    assert identity.ensure_module_scopes(silo_spec, ["acct:read"]) == [
        "created scope acct:read",
        f"allowed {silo_spec.systems_client} to request acct:read",
    ]
    assert identity.ensure_enabled(silo_spec, enabled=False) == []
    identity.set_enabled(silo_spec, enabled=True)
    assert identity.local_admin(realm, fresh=True) is not None


@pytest.mark.parametrize("account", ["shared", "realm creator"])
def test_the_platforms_keycloak_clients_cannot_administer_master(account: str) -> None:
    identity = systems().identity
    admin = identity.owner(identity.banks_realm if account == "shared" else "master")
    connection = admin.connection
    intruder = json.dumps({"username": f"intruder-{uuid.uuid4().hex[:6]}"})
    for response in (
        connection.raw_get("admin/realms/master/users"),
        connection.raw_post("admin/realms/master/users", data=intruder),
        connection.raw_get("admin/realms/master/roles/admin"),
        connection.raw_get("admin/realms/master/clients"),
    ):
        assert response.status_code == 403, response.text


def test_the_platforms_keycloak_token_stays_small_however_many_realms_it_manages() -> None:
    """A full token lists the management roles of every realm the client manages, and
    outgrew Keycloak's header limit at ~140 silo realms (HTTP 431 on every call): the
    client's tokens are lightweight, and the admin API still checks its roles."""
    identity = systems().identity
    banks = identity.admin(identity.banks_realm)
    assert banks.get_realm_roles()  # managed: allowed
    token = banks.connection.token
    assert token is not None
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert "resource_access" not in claims
    assert "realm_access" not in claims
    assert len(token["access_token"]) < 2048


def test_an_accounts_token_is_reused_by_the_next_admin_client(silo_spec: TenantSpec) -> None:
    """A login costs Keycloak more than a dozen reads: the next admin client of the same
    account reuses the token (until 80% of its lifetime), a fresh one logs in."""
    identity = systems().identity
    for realm in (identity.banks_realm, silo_spec.realm):
        first = identity.admin(realm).connection.token
        again = identity.admin(realm)
        assert first is not None
        assert again.connection.token is not None
        assert again.connection.token["access_token"] == first["access_token"]
        assert again.get_realm(realm)["realm"] == realm
    fresh = identity.local_admin(silo_spec.realm, fresh=True)
    assert fresh is not None
    assert fresh.connection.token is not None
    assert fresh.connection.token["access_token"] != first["access_token"]
