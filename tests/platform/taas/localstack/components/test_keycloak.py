"""Keycloak is real: an admin token, and a realm created and deleted with python-keycloak."""

from __future__ import annotations

import uuid

import pytest
from keycloak import KeycloakAdmin, KeycloakOpenID, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakGetError

from taas.localstack.stack import LocalStack


def _admin(stack: LocalStack) -> KeycloakAdmin:
    env = stack.env()
    connection = KeycloakOpenIDConnection(
        server_url=env["TAAS_KEYCLOAK_URL"],
        username=env["TAAS_KEYCLOAK_ADMIN_USER"],
        password=env["TAAS_KEYCLOAK_ADMIN_PASSWORD"],
        realm_name="master",
        client_id="admin-cli",
        verify=False,
    )
    return KeycloakAdmin(connection=connection)


def test_admin_token_from_master_realm(stack: LocalStack) -> None:
    env = stack.env()
    oidc = KeycloakOpenID(
        server_url=env["TAAS_KEYCLOAK_URL"], realm_name="master", client_id="admin-cli"
    )
    token = oidc.token(env["TAAS_KEYCLOAK_ADMIN_USER"], env["TAAS_KEYCLOAK_ADMIN_PASSWORD"])
    assert token["token_type"].lower() == "bearer"
    claims = oidc.decode_token(token["access_token"], validate=True)
    assert claims["iss"].endswith("/realms/master")
    assert claims["azp"] == "admin-cli"
    # The token really grants admin rights: list realms with it.
    admin = KeycloakAdmin(
        connection=KeycloakOpenIDConnection(
            server_url=env["TAAS_KEYCLOAK_URL"], realm_name="master", token=token
        )
    )
    assert "master" in {realm["realm"] for realm in admin.get_realms()}


def test_create_and_delete_a_realm(stack: LocalStack) -> None:
    admin = _admin(stack)
    realm = f"smoke-{uuid.uuid4().hex[:10]}"
    admin.create_realm({"realm": realm, "enabled": True, "displayName": "Smoke bank"})
    try:
        created = admin.get_realm(realm)
        assert created["realm"] == realm
        assert created["enabled"] is True
    finally:
        admin.delete_realm(realm)
    with pytest.raises(KeycloakGetError) as gone:
        admin.get_realm(realm)
    assert gone.value.response_code == 404


def test_wrong_password_is_refused(stack: LocalStack) -> None:
    env = stack.env()
    oidc = KeycloakOpenID(
        server_url=env["TAAS_KEYCLOAK_URL"], realm_name="master", client_id="admin-cli"
    )
    with pytest.raises(Exception, match=r"401|invalid_grant"):
        oidc.token(env["TAAS_KEYCLOAK_ADMIN_USER"], "not-the-password")
