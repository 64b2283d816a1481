from __future__ import annotations

from pathlib import Path

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


def _app_settings(**fields: object) -> AppSettings:
    base: dict[str, object] = {
        "database_url": "postgresql://u:p@127.0.0.1:1/x",
        "celery_broker_url": "redis://127.0.0.1:1/0",
        "redis_url": "redis://127.0.0.1:1/0",
        "keycloak_url": "http://kc.test",
        "keycloak_admin_user": "a",
        "keycloak_admin_password": "b",
        "minio_endpoint": "127.0.0.1:1",
        "minio_access_key": "a",
        "minio_secret_key": "b",
        "KUBECONFIG": Path("/dev/null"),
    }
    return AppSettings(**(base | fields))


def test_production_refuses_to_run_without_an_audit_checkpoint_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TAAS_AUDIT_CHECKPOINT_KEY", raising=False)
    monkeypatch.delenv("TAAS_AUDIT_CHECKPOINT_INTERVAL_S", raising=False)
    with pytest.raises(ConfigurationError, match="TAAS_AUDIT_CHECKPOINT_KEY is not set"):
        _app_settings(environment="production").require_audit_anchor()
    _app_settings(environment="production", audit_checkpoint_key="k").require_audit_anchor()
    development = _app_settings(environment="development")
    development.require_audit_anchor()  # development runs unanchored (verify says so)
    assert development.audit_checkpoint_interval_s == 60.0
