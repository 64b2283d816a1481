"""Kubernetes CPU and memory quantities as manifests and quotas write them (``2``, ``0.5``,
``250m``; ``512Mi``, ``4Gi``)."""

from __future__ import annotations

import re

CPU = re.compile(r"^(\d+(\.\d+)?|\d+m)$")


def millicores(cpu: str) -> float:
    """``250m`` or ``0.25`` as 250 (``cpu`` matches :data:`CPU`)."""
    return float(cpu[:-1]) if cpu.endswith("m") else float(cpu) * 1000


def cpu_text(millis: float) -> str:
    """A CPU quantity for ``millis`` millicores as the API server writes it back: whole
    cores as cores (``1``), anything else in millicores (``1500m``), so that a manifest
    compares equal to the object it made."""
    whole = max(1, round(millis))
    return str(whole // 1000) if whole % 1000 == 0 else f"{whole}m"


def memory_text(memory: str) -> str:
    """``Mi`` or ``Gi`` memory as the API server writes it back (``2048Mi`` is ``2Gi``)."""
    if memory.endswith("Mi") and int(memory[:-2]) % 1024 == 0 and int(memory[:-2]):
        return f"{int(memory[:-2]) // 1024}Gi"
    return memory
