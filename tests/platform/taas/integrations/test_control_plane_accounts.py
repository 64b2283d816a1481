"""The control plane runs with least-privilege accounts, not MinIO's root or Keycloak's
master admin (issue 10, item 12): what those accounts may not do, on the real servers."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from keycloak.exceptions import KeycloakError
from minio import Minio
from minio.error import MinioAdminException, S3Error

from conftest import ControlPlane
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


def test_the_platforms_keycloak_client_cannot_administer_master() -> None:
    master = systems().identity.admin("master")
    for attempt in (
        master.get_users,
        lambda: master.create_user({"username": f"intruder-{uuid.uuid4().hex[:6]}"}),
        lambda: master.get_realm_role("admin"),
    ):
        with pytest.raises(KeycloakError) as refused:
            attempt()
        assert refused.value.response_code == 403


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
