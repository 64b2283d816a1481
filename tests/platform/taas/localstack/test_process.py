from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from taas.kit.errors import Conflict
from taas.localstack.process import PidFile, ensure_port_free, spawn, terminate


def test_spawn_records_a_pid_that_terminate_stops(tmp_path: Path) -> None:
    pid_file = PidFile(tmp_path / "sleeper.pid")
    pid = spawn(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
        pid_file=pid_file,
        log=tmp_path / "sleeper.log",
    )
    assert pid_file.running_pid() == pid
    assert terminate(pid_file, grace_s=5) is True
    assert pid_file.running_pid() is None
    assert not pid_file.path.exists()
    assert "starting" in (tmp_path / "sleeper.log").read_text()


def test_a_recycled_pid_is_never_signalled(tmp_path: Path) -> None:
    """A pid file whose start time does not match the live process belongs to a stranger."""
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pid_file = PidFile(tmp_path / "stale.pid")
        pid_file.path.write_text(f"{stranger.pid} 1\n")
        assert pid_file.running_pid() is None
        assert terminate(pid_file, grace_s=1) is False
        assert stranger.poll() is None, "terminate signalled a process it did not start"
    finally:
        stranger.kill()
        stranger.wait()


def test_a_missing_or_garbled_pid_file_means_not_running(tmp_path: Path) -> None:
    assert PidFile(tmp_path / "absent.pid").running_pid() is None
    garbled = PidFile(tmp_path / "garbled.pid")
    garbled.path.write_text("not-a-pid\n")
    assert garbled.running_pid() is None


def test_a_taken_port_names_the_setting_to_change() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(Conflict) as conflict:
            ensure_port_free("127.0.0.1", port, "Redis port", "TAAS_REDIS_PORT")
    assert f"port {port}" in conflict.value.message
    assert conflict.value.hint is not None
    assert "TAAS_REDIS_PORT" in conflict.value.hint


def test_a_free_port_passes() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ensure_port_free("127.0.0.1", port, "test", "TAAS_TEST_PORT")
