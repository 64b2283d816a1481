"""Write a benchmark's figures, the command that produced them and the date."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def write_results(name: str, figures: dict[str, Any]) -> Path:
    """Save ``figures`` to ``benchmarks/results/<name>.json`` and print them."""
    RESULTS.mkdir(exist_ok=True)
    record = {
        "name": name,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "figures": figures,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return path


def stack_env() -> dict[str, str]:
    """The local stack's endpoints and credentials (what `taas stack env` prints)."""
    out = subprocess.run(
        [str(Path(sys.executable).with_name("taas")), "stack", "env"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pairs = (line.removeprefix("export ").split("=", 1) for line in out.splitlines())
    return {key: value.strip("'") for key, value in pairs}
