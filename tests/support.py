"""Helpers shared by tests (importable as ``support``; pytest puts tests/ on the path)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
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


def start_offboard(
    api: Any,
    requester: dict[str, str],
    approver: dict[str, str],
    tenant_id: str,
    keep_data_days: int = 0,
) -> httpx.Response | dict[str, Any]:
    """Offboard through maker-checker: ``requester`` asks, ``approver`` (a second operator)
    approves when the retention needs it. Returns the started operation, or the refusal."""
    response: httpx.Response = api.post(
        f"/v1/tenants/{tenant_id}/offboard",
        json={"retention": {"keep_data_days": keep_data_days}},
        headers=requester,
    )
    operation: dict[str, Any]
    if response.status_code == 409 and response.json().get("approval_id"):
        approval_id = response.json()["approval_id"]  # a request left pending: approve it
    elif response.status_code != 202:
        return response
    elif response.json().get("approval") is None:
        operation = response.json()["operation"]
        return operation
    else:
        approval_id = response.json()["approval"]["id"]
    approved = api.post(f"/v1/approvals/{approval_id}/approve", json={}, headers=approver)
    assert approved.status_code == 200, approved.text
    operation = approved.json()["result"]["operation"]
    return operation


def offboard(
    api: Any,
    requester: dict[str, str],
    approver: dict[str, str],
    tenant_id: str,
    keep_data_days: int = 0,
) -> dict[str, Any]:
    """Offboard (approved by the second operator) and wait for the operation to end."""
    started = start_offboard(api, requester, approver, tenant_id, keep_data_days)
    assert isinstance(started, dict), started.text
    return wait_operation(api, requester, tenant_id, started["id"])


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


def bank_admin_headers(
    keycloak_token: Callable[..., str], tenant: dict[str, Any]
) -> dict[str, str]:
    """Log in as the tenant's first admin (after setting its password, as the bank would)."""
    username, realm, password = set_bank_admin_password(tenant)
    return {"Authorization": f"Bearer {keycloak_token(username, realm, password)}"}


def set_bank_admin_password(tenant: dict[str, Any]) -> tuple[str, str, str]:
    """Give the tenant's first admin a password of its own, as the bank would: its user
    name, realm and that password."""
    from taas.integrations.systems import systems

    spec = spec_of_json(tenant)
    identity = systems().identity
    realm = identity.realm_of(spec)
    admin = identity.admin(realm)
    password = "Bank-admin-1-" + uuid.uuid4().hex[:8]
    admin.set_user_password(admin.get_user_id(spec.admin_username), password, temporary=False)
    return spec.admin_username, realm, password


def systems_token(tenant: dict[str, Any], scope: str | None = None) -> str:
    """A client-credentials token of the tenant's systems client (optionally with scopes)."""
    from taas.integrations.systems import systems

    spec = spec_of_json(tenant)
    identity = systems().identity
    secret = systems().kubernetes.read_credentials(spec)
    data = {
        "grant_type": "client_credentials",
        "client_id": secret["client_id"],
        "client_secret": secret["client_secret"],
    }
    if scope:
        data["scope"] = scope
    response = httpx.post(
        f"{identity.url}/realms/{identity.realm_of(spec)}/protocol/openid-connect/token",
        data=data,
        timeout=15,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def run_cli(api_server: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``taas`` command against an API served over HTTP, as a given caller."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("taas")), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TAAS_API_URL": api_server, "TAAS_TOKEN": token, "COLUMNS": "200"},
        timeout=300,
        check=False,
    )
