"""Helpers of the open-platform tests: vendor accounts and waiting on plugin versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from support import wait_for, wait_operation


@dataclass
class VendorAccount:
    slug: str
    credentials: dict[str, str]

    def headers(self) -> dict[str, str]:
        response = httpx.post(
            self.credentials["token_url"],
            data={
                "grant_type": "client_credentials",
                "client_id": self.credentials["client_id"],
                "client_secret": self.credentials["client_secret"],
            },
            timeout=15,
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


def wait_version(
    api: Any,
    headers: dict[str, str],
    name: str,
    version: str,
    until: set[str],
    timeout: float = 60,
) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(
            f"/v1/plugins/{name}/versions/{version}", headers=headers
        ).json()
        return body if body.get("status") in until else None

    result: dict[str, Any] = wait_for(done, timeout=timeout, what=f"{name} {version} to be {until}")
    return result


def subscribe(api: Any, headers: dict[str, str], tenant: dict[str, Any], module: str) -> None:
    """Subscribe ``tenant`` to ``module`` and wait for the operation to succeed."""
    accepted = api.post(
        f"/v1/tenants/{tenant['id']}/subscriptions", json={"module": module}, headers=headers
    )
    assert accepted.status_code == 202, accepted.text
    op = wait_operation(api, headers, tenant["id"], accepted.json()["operation"]["id"])
    assert op["status"] == "succeeded", op


def revoke(
    api: Any,
    requester: dict[str, str],
    approver: dict[str, str],
    name: str,
    version: str,
    reason: str = "test",
) -> dict[str, Any]:
    """Revoke through maker-checker: ``requester`` asks, ``approver`` (another operator)
    approves; returns the decided approval (its ``result`` says what was done)."""
    asked = api.post(
        f"/v1/plugins/{name}/versions/{version}/revoke", json={"reason": reason}, headers=requester
    )
    assert asked.status_code == 202, asked.text
    assert asked.json()["status"] == "pending"
    approved = api.post(f"/v1/approvals/{asked.json()['id']}/approve", json={}, headers=approver)
    assert approved.status_code == 200, approved.text
    body: dict[str, Any] = approved.json()
    return body


def delete_vendor(
    api: Any, requester: dict[str, str], approver: dict[str, str], slug: str
) -> dict[str, Any]:
    """Delete a vendor through maker-checker: ``requester`` asks, ``approver`` (another
    operator) approves; returns the decided approval (its ``result`` says what was done)."""
    asked = api.delete(f"/v1/vendors/{slug}", headers=requester)
    assert asked.status_code == 202, asked.text
    assert asked.json()["status"] == "pending"
    approved = api.post(f"/v1/approvals/{asked.json()['id']}/approve", json={}, headers=approver)
    assert approved.status_code == 200, approved.text
    body: dict[str, Any] = approved.json()
    return body
