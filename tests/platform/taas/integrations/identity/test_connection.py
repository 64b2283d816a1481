"""The cheaply built Keycloak connection still verifies TLS, against a real TLS server."""

from __future__ import annotations

import pytest
import requests
from keycloak.exceptions import KeycloakConnectionError

from taas.integrations.identity.connection import connect
from taas.kit.settings import StackSettings
from taas.localstack.stack import LocalStack


def test_a_connection_refuses_a_certificate_it_cannot_verify(stack: LocalStack) -> None:
    # kube-apiserver serves a certificate of the stack's own CA, which nothing trusts
    settings = StackSettings()
    connection = connect(
        server_url=f"https://{settings.host}:{settings.apiserver_port}",
        realm_name="master",
        client_id="admin-cli",
        token={"access_token": "x", "expires_in": 60},
    )
    assert connection.verify is True
    with pytest.raises(KeycloakConnectionError) as refused:
        connection.raw_get("version")
    assert isinstance(refused.value.__cause__, requests.exceptions.SSLError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value.__cause__)


def test_the_async_client_verifies_too() -> None:
    connection = connect(server_url="https://127.0.0.1:1", realm_name="master")
    pool = connection.async_s._transport._pool  # type: ignore[attr-defined]
    assert pool._ssl_context.check_hostname is True
