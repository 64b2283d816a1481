"""Kubernetes CPU quantities as manifests and quotas write them: ``2``, ``0.5``, ``250m``."""

from __future__ import annotations

import re

CPU = re.compile(r"^(\d+(\.\d+)?|\d+m)$")


def millicores(cpu: str) -> float:
    """``250m`` or ``0.25`` as 250 (``cpu`` matches :data:`CPU`)."""
    return float(cpu[:-1]) if cpu.endswith("m") else float(cpu) * 1000


def cpu_text(millis: float) -> str:
    """A CPU quantity for ``millis`` millicores, in millicores (``1500m``)."""
    return f"{max(1, round(millis))}m"
