"""Which tenant a verified token belongs to (pure claim logic; signatures are tested end to
end with real Keycloak tokens in the tenant API tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from taas.kit.auth import TokenVerifier
from taas.kit.errors import Unauthorized
from taas.kit.settings import AppSettings


@pytest.fixture
def verifier() -> TokenVerifier:
    settings = AppSettings(
        database_url="postgresql://u:p@127.0.0.1:1/x",
        celery_broker_url="redis://127.0.0.1:1/0",
        redis_url="redis://127.0.0.1:1/0",
        keycloak_url="http://kc.test",
        keycloak_admin_user="a",
        keycloak_admin_password="b",
        minio_endpoint="127.0.0.1:1",
        minio_access_key="a",
        minio_secret_key="b",
        KUBECONFIG=Path("/dev/null"),
    )
    return TokenVerifier(settings)


def test_platform_tokens_have_no_tenant(verifier: TokenVerifier) -> None:
    assert verifier._tenant("taas-platform", {"organization": ["bank-a"]}) is None


def test_a_tenant_realm_names_its_tenant(verifier: TokenVerifier) -> None:
    assert verifier._tenant("bank-rural-7", {}) == "rural-7"


def test_the_shared_realm_uses_the_single_organization(verifier: TokenVerifier) -> None:
    assert verifier._tenant("taas-banks", {"organization": ["rural-7"]}) == "rural-7"
    assert verifier._tenant("taas-banks", {"organization": {"rural-7": {}}}) == "rural-7"
    assert verifier._tenant("taas-banks", {"taas_tenant": "rural-8"}) == "rural-8"


@pytest.mark.parametrize("claims", [{}, {"organization": []}, {"organization": ["a", "b"]}])
def test_the_shared_realm_refuses_zero_or_several_organizations(
    verifier: TokenVerifier, claims: dict[str, object]
) -> None:
    with pytest.raises(Unauthorized):
        verifier._tenant("taas-banks", claims)


@pytest.mark.parametrize(
    "issuer",
    [
        "http://evil.test/realms/taas-platform",
        "http://kc.test/realms/master",
        "http://kc.test/realms/bank-x/../master",
    ],
)
def test_only_known_realms_of_our_keycloak_are_trusted(
    verifier: TokenVerifier, issuer: str
) -> None:
    with pytest.raises(Unauthorized):
        verifier._realm_of(issuer)
