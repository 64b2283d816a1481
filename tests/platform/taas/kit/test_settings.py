from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from taas.kit.settings import StackSettings


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
