"""Helpers shared by tests (importable as ``support``; pytest puts tests/ on the path)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest


def unique_slug(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def wait_for(check: Callable[[], Any], *, timeout: float = 90, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def wait_operation(
    api: Any, headers: dict[str, str], tenant_id: str, operation_id: str, timeout: float = 120
) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        ops = api.get(f"/v1/tenants/{tenant_id}/operations", headers=headers).json()
        op = next(o for o in ops if o["id"] == operation_id)
        return op if op["status"] in ("succeeded", "failed") else None

    result: dict[str, Any] = wait_for(finished, timeout=timeout, what=f"operation {operation_id}")
    return result


def spec_of_json(tenant: dict[str, Any]) -> Any:
    """The adapters' view of a tenant returned by the API."""
    from taas.integrations.spec import Quotas, TenantSpec

    return TenantSpec(
        id=tenant["id"],
        slug=tenant["slug"],
        tier=tenant["tier"],
        region=tenant["region"],
        quotas=Quotas(**tenant["quotas"]),
    )


def local_stack_ctx() -> Any:
    """The local stack's context (paths, certificates) for direct Kubernetes access."""
    from taas.kit.settings import StackSettings
    from taas.localstack.context import StackContext

    return StackContext(StackSettings())
