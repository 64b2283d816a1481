"""`taas platform` commands, run as a person would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def test_init_without_a_database_says_to_start_the_stack() -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("taas")), "platform", "init"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "COLUMNS": "200",
            "TAAS_DATABASE_URL": f"postgresql://taas:x@127.0.0.1:{port}/taas",
        },
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "cannot reach the control-plane database" in result.stderr
    assert "next: start the local stack" in result.stderr
    assert "Traceback" not in result.stderr
