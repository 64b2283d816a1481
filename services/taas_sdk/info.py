"""What a module says about itself: the parts of its manifest that are not its API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModuleInfo:
    """What the module says about itself in its manifest."""

    name: str
    version: str
    capability: str
    summary: str
    scopes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    pricing: dict[str, Any] = field(default_factory=dict)
    timeout_s: float = 30.0
    operation_scopes: list[str] = field(default_factory=list)
    """Scopes only some operations need (checked with ``require_scopes``)."""
