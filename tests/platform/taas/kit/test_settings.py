from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from taas.kit.errors import ConfigurationError
from taas.kit.settings import AppSettings, StackSettings


def test_defaults_live_under_the_users_cache_and_state_dirs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("TAAS_CACHE_DIR", raising=False)
    monkeypatch.delenv("TAAS_STATE_DIR", raising=False)
    settings = StackSettings()
    assert settings.cache_dir == tmp_path / "cache" / "taas"
    assert settings.state_dir == tmp_path / "state" / "taas"


def test_environment_overrides_the_cache_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TAAS_CACHE_DIR", str(tmp_path))
    assert StackSettings().cache_dir == tmp_path


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "192.168.0.1"])  # noqa: S104
def test_only_loopback_hosts_are_accepted(host: str) -> None:
    with pytest.raises(ValidationError, match="not a loopback address"):
        StackSettings(host=host)


@pytest.mark.parametrize("port", [0, 80, 70000])
def test_ports_must_be_unprivileged_and_valid(port: int) -> None:
    with pytest.raises(ValidationError, match="outside 1024-65535"):
        StackSettings(redis_port=port)


# --------------------------------------------------------------------------- production mode

STRONG = "s" * 40


def _production(**overrides: Any) -> AppSettings:
    fields: dict[str, Any] = {
        "environment": "production",
        "database_url": "postgresql://u:p@db:5432/x",
        "celery_broker_url": "redis://r:6379/0",
        "redis_url": "redis://r:6379/1",
        "keycloak_url": "https://id.bank.example",
        "keycloak_client_id": "taas-control-plane",
        "keycloak_client_secret": STRONG,
        "minio_endpoint": "s3.bank.example",
        "minio_access_key": "taas-control-plane",
        "minio_secret_key": STRONG,
        "storage_grant_secret": STRONG,
        "KUBECONFIG": Path("/dev/null"),
        **overrides,
    }
    return AppSettings(**fields)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TAAS_"):
            monkeypatch.delenv(name)


def test_production_starts_with_least_privilege_accounts(clean_env: None) -> None:
    assert _production().production_problems() == []


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"keycloak_admin_user": "admin", "keycloak_admin_password": STRONG}, "master-realm"),
        ({"keycloak_client_id": "", "keycloak_client_secret": ""}, "CLIENT_ID"),
        ({"minio_access_key": "minioadmin"}, "root user"),
        ({"minio_root_user": "root", "minio_root_password": STRONG}, "MINIO_ROOT"),
        ({"minio_access_key": "boss", "minio_root_user": "boss"}, "root user"),
        ({"storage_grant_secret": ""}, "STORAGE_GRANT_SECRET"),
        ({"minio_secret_key": "minioadmin"}, "MINIO_SECRET_KEY"),
        ({"keycloak_client_secret": "short"}, "CLIENT_SECRET"),
    ],
)
def test_production_refuses_root_keys_and_weak_secrets(
    clean_env: None, overrides: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationError, match="production refuses to start") as refused:
        _production(**overrides)
    assert named in str(refused.value)


def test_production_refuses_the_local_stacks_generated_secrets(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from taas.localstack.context import StackContext
    from taas.localstack.stack import LocalStack

    for name, value in LocalStack(StackContext(StackSettings())).env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TAAS_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="generated dev secrets"):
        AppSettings()
    monkeypatch.setenv("TAAS_ENVIRONMENT", "development")
    assert AppSettings().environment == "development"  # development takes them


def test_production_refuses_to_run_without_an_audit_checkpoint_key(clean_env: None) -> None:
    with pytest.raises(ConfigurationError, match="TAAS_AUDIT_CHECKPOINT_KEY is not set"):
        _production().require_audit_anchor()
    _production(audit_checkpoint_key="k" * 40).require_audit_anchor()
    development = _production(environment="development")
    development.require_audit_anchor()  # development runs unanchored (verify says so)
    assert development.audit_checkpoint_interval_s == 60.0
