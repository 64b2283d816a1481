"""`taas stack` as a person uses it: clear errors, a no-op second `up`, a `down` that stops
only what it started, and a failed start reported with its log.

Tests that start servers use a private state folder and free ports, so they never touch
the shared stack the other tests use.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from taas.localstack.stack import LocalStack

TAAS = str(Path(sys.executable).with_name("taas"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_taas(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TAAS, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=300,
        check=False,
    )


@pytest.fixture
def private_stack(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Settings for a second stack in a private state folder on free ports."""
    env = {
        "TAAS_STATE_DIR": str(tmp_path / "state"),
        "TAAS_REDIS_PORT": str(_free_port()),
        "TAAS_ETCD_PORT": str(_free_port()),
        "TAAS_ETCD_PEER_PORT": str(_free_port()),
    }
    yield env
    run_taas("stack", "down", "redis", "etcd", env=env)


def test_unknown_component_is_refused_with_the_known_names() -> None:
    result = run_taas("stack", "up", "kafka")
    assert result.returncode == 1
    assert "unknown component(s): kafka" in result.stderr
    assert "keycloak" in result.stderr


def test_a_taken_port_is_named_with_the_setting_to_change(
    private_stack: dict[str, str],
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = run_taas(
            "stack", "up", "redis", env={**private_stack, "TAAS_REDIS_PORT": str(port)}
        )
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 (Redis port) is taken" in result.stderr
    assert "TAAS_REDIS_PORT" in result.stderr


def test_an_unwritable_cache_dir_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_taas("stack", "install", "redis", env={"TAAS_CACHE_DIR": str(blocker / "cache")})
    assert result.returncode == 1
    assert "is not writable" in result.stderr
    assert "TAAS_CACHE_DIR" in result.stderr


def test_a_non_loopback_host_is_refused() -> None:
    result = run_taas("stack", "status", env={"TAAS_HOST": "0.0.0.0"})  # noqa: S104
    assert result.returncode == 2
    assert "TAAS_HOST" in result.stderr
    assert "not a loopback address" in result.stderr


def test_a_second_up_is_a_no_op(stack: LocalStack) -> None:
    pids_before = {name: c.is_running() for name, c in stack.components.items()}
    result = run_taas("stack", "up")
    assert result.returncode == 0, result.stderr
    assert "starting" not in result.stderr
    assert result.stderr.count("already running") == len(stack.components)
    assert {name: c.is_running() for name, c in stack.components.items()} == pids_before


def test_status_reports_every_component_with_its_version(stack: LocalStack) -> None:
    result = run_taas("stack", "status", "--json")
    assert result.returncode == 0, result.stderr
    assert '"kube-apiserver"' in result.stdout
    assert '"v1.36.3"' in result.stdout


def test_env_prints_shell_exports(stack: LocalStack) -> None:
    result = run_taas("stack", "env")
    assert result.returncode == 0
    exported = dict(
        line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines()
    )
    assert exported["TAAS_MINIO_ENDPOINT"] == stack.env()["TAAS_MINIO_ENDPOINT"]
    assert "KUBECONFIG" in exported


def test_down_stops_what_it_started_and_nothing_else(
    stack: LocalStack, private_stack: dict[str, str]
) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        started = run_taas("stack", "up", "redis", env=private_stack)
        assert started.returncode == 0, started.stderr
        pid_file = Path(private_stack["TAAS_STATE_DIR"]) / "run" / "redis.pid"
        private_pid = int(pid_file.read_text().split()[0])

        stopped = run_taas("stack", "down", env=private_stack)
        assert stopped.returncode == 0, stopped.stderr
        assert "stopped redis" in stopped.stderr
        assert not Path(f"/proc/{private_pid}").exists() or _is_zombie(private_pid)
        assert stranger.poll() is None, "down killed a process it did not start"
        assert stack.redis.probe().ok, "down in another state folder stopped the shared Redis"
        assert stack.postgres.probe().ok, "down in another state folder stopped PostgreSQL"
        # Nor removed what the shared stack holds machine-wide (its pods' fence).
        assert stack.components["metrics-server"].probe().ok, "its fence went with the down"
    finally:
        stranger.kill()
        stranger.wait()


def _is_zombie(pid: int) -> bool:
    try:
        return "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def test_a_component_that_fails_to_start_is_reported_with_its_log(
    private_stack: dict[str, str],
) -> None:
    data = Path(private_stack["TAAS_STATE_DIR"]) / "data" / "etcd" / "member" / "snap"
    data.mkdir(parents=True)
    (data / "db").write_bytes(b"this is not a bolt database" * 100)
    result = run_taas("stack", "up", "etcd", env=private_stack)
    assert result.returncode == 1
    assert "etcd exited while starting" in result.stderr
    assert "logs/etcd.log" in result.stderr
    assert "next:" in result.stderr
