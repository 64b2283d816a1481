"""A module's settings, from environment variables (the platform sets them when deploying)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ModuleSettings:
    """What a module needs to know about the platform it runs behind."""

    signing_secret: str
    max_skew_s: float = 300.0
    platform_url: str = "http://127.0.0.1:58000"
    otel_exporter: str = "none"
    otel_file: str | None = None

    @classmethod
    def from_env(cls) -> ModuleSettings:
        """``TAAS_SIGNING_SECRET`` (required), ``TAAS_MAX_SKEW_S``, ``TAAS_PLATFORM_URL``
        (where storage credentials are minted), ``TAAS_OTEL_EXPORTER`` (none, console,
        jsonl) and ``TAAS_OTEL_FILE``."""
        return cls(
            signing_secret=os.environ.get("TAAS_SIGNING_SECRET", ""),
            max_skew_s=float(os.environ.get("TAAS_MAX_SKEW_S", "300")),
            platform_url=os.environ.get("TAAS_PLATFORM_URL", "http://127.0.0.1:58000"),
            otel_exporter=os.environ.get("TAAS_OTEL_EXPORTER", "none"),
            otel_file=os.environ.get("TAAS_OTEL_FILE"),
        )
