"""The ``taas`` command as a person uses it: logged in through its own profiles."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Taas = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def taas(api_server: str, tmp_path: Path) -> Taas:
    """``taas(*args, input=None, **env)`` against the test API, with a profiles file of its
    own (``tmp_path / "profiles.json"``) and no TAAS_TOKEN."""
    profiles = tmp_path / "profiles.json"

    def run(*args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if k not in ("TAAS_TOKEN", "TAAS_PROFILE")}
        return subprocess.run(
            [str(Path(sys.executable).with_name("taas")), *args],
            capture_output=True,
            text=True,
            input=input,
            env={
                **base,
                "TAAS_API_URL": api_server,
                "TAAS_PROFILES_FILE": str(profiles),
                "COLUMNS": "200",
                **env,
            },
            timeout=180,
            check=False,
        )

    return run
