"""Operators disable, enable and delete vendors; the real Keycloak and database follow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from catalog_support import VendorAccount, delete_vendor, subscribe, wait_version
from plugin_app import PluginServer, manifest
from support import unique_slug, wait_operation

PROBLEM = "application/problem+json"


def token_status(vendor: VendorAccount) -> int:
    """What the vendor realm answers to the vendor's client-credentials login."""
    response = httpx.post(
        vendor.credentials["token_url"],
        data={
            "grant_type": "client_credentials",
            "client_id": vendor.credentials["client_id"],
            "client_secret": vendor.credentials["client_secret"],
        },
        timeout=15,
    )
    return response.status_code


def audit_events(api: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The whole trail, page by page."""
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = api.get("/v1/audit", params={"after": after, "limit": 500}, headers=headers).json()
        events += page["items"]
        if not page["next_after"]:
            return events
        after = page["next_after"]


def published(
    api: Any, operator: dict[str, str], vendor: VendorAccount, server: PluginServer
) -> str:
    server.behaviour.signing_secret = vendor.credentials["signing_secret"]
    name = unique_slug("p")
    submitted = api.post(
        f"/v1/vendors/{vendor.slug}/plugins",
        json=manifest(name, "1.0.0", server.url),
        headers=vendor.headers(),
    )
    assert submitted.status_code == 202, submitted.text
    assert wait_version(api, operator, name, "1.0.0", {"validated", "invalid"})["status"] == (
        "validated"
    )
    approved = api.post(f"/v1/plugins/{name}/versions/1.0.0/approve", json={}, headers=operator)
    assert approved.status_code == 200, approved.text
    return name


def test_a_disabled_vendor_gets_no_token_and_its_calls_are_refused(
    api: Any,
    operator: dict[str, str],
    auditor: dict[str, str],
    make_vendor: Callable[[], VendorAccount],
    plugin: PluginServer,
) -> None:
    vendor = make_vendor()
    name = published(api, operator, vendor, plugin)
    held = vendor.headers()  # a token it got before being disabled

    for headers in (held, auditor):
        refused = api.post(
            f"/v1/vendors/{vendor.slug}/disable", json={"reason": "mine"}, headers=headers
        )
        assert refused.status_code == 403, refused.text
    disabled = api.post(
        f"/v1/vendors/{vendor.slug}/disable", json={"reason": "contract ended"}, headers=operator
    )
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["status"] == "disabled"
    assert token_status(vendor) in (400, 401)

    submitted = api.post(
        f"/v1/vendors/{vendor.slug}/plugins",
        json=manifest(name, "1.1.0", plugin.url),
        headers=held,
    )
    assert submitted.status_code == 403, submitted.text
    assert submitted.headers["content-type"] == PROBLEM
    assert "disabled" in submitted.json()["detail"]
    revoke = api.post(
        f"/v1/plugins/{name}/versions/1.0.0/revoke", json={"reason": "x"}, headers=held
    )
    assert revoke.status_code == 403
    # Banks keep the module: it stays in the catalog.
    catalog = api.get("/v1/catalog", headers=operator).json()
    assert name in {module["name"] for module in catalog}

    again = api.post(f"/v1/vendors/{vendor.slug}/disable", headers=operator)
    assert again.status_code == 200
    enabled = api.post(f"/v1/vendors/{vendor.slug}/enable", headers=operator)
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["status"] == "active"
    assert token_status(vendor) == 200
    resubmitted = api.post(
        f"/v1/vendors/{vendor.slug}/plugins",
        json=manifest(name, "1.1.0", plugin.url),
        headers=vendor.headers(),
    )
    assert resubmitted.status_code == 202, resubmitted.text

    events = audit_events(api, operator)
    actions = [(e["action"], e["detail"].get("vendor")) for e in events]
    assert ("vendor.disable", vendor.slug) in actions
    assert ("vendor.enable", vendor.slug) in actions


def test_a_vendor_is_deleted_only_when_no_bank_subscribes(
    api: Any,
    operator: dict[str, str],
    operator2: dict[str, str],
    make_vendor: Callable[[], VendorAccount],
    make_tenant: Callable[..., dict[str, Any]],
    plugin: PluginServer,
) -> None:
    vendor = make_vendor()
    name = published(api, operator, vendor, plugin)
    held = vendor.headers()
    tenant = make_tenant()["tenant"]
    subscribe(api, operator, tenant, name)

    refused = api.delete(f"/v1/vendors/{vendor.slug}", headers=operator)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert f"{name} 1.0.0 (1)" in refused.json()["detail"]
    assert "taas plugins revoke" in refused.json()["hint"]
    assert api.delete(f"/v1/vendors/{vendor.slug}", headers=held).status_code == 403
    assert not pending_for(api, operator, vendor.slug)  # nothing was asked for

    removed = api.delete(f"/v1/tenants/{tenant['id']}/subscriptions/{name}", headers=operator)
    assert removed.status_code == 202, removed.text
    wait_operation(api, operator, tenant["id"], removed.json()["operation"]["id"])

    # One operator's call alone deletes nothing: it is a request for a second operator.
    asked = api.delete(
        f"/v1/vendors/{vendor.slug}", params={"reason": "contract ended"}, headers=operator
    )
    assert asked.status_code == 202, asked.text
    request = asked.json()
    assert request["status"] == "pending"
    assert request["action"] == "vendor.delete"
    assert request["target"] == vendor.slug
    assert request["reason"] == "contract ended"
    assert api.get(f"/v1/vendors/{vendor.slug}", headers=operator).json()["status"] == "active"
    version = api.get(f"/v1/plugins/{name}/versions/1.0.0", headers=operator).json()
    assert version["status"] == "published"
    assert token_status(vendor) == 200  # its client is still there
    twice = api.delete(f"/v1/vendors/{vendor.slug}", headers=operator2)
    assert twice.status_code == 409, twice.text
    assert request["id"] in twice.json()["hint"]

    own = api.post(f"/v1/approvals/{request['id']}/approve", json={}, headers=operator)
    assert own.status_code == 409, own.text
    assert own.headers["content-type"] == PROBLEM
    assert "four eyes" in own.json()["detail"]
    assert api.get(f"/v1/vendors/{vendor.slug}", headers=operator).json()["status"] == "active"

    approved = api.post(f"/v1/approvals/{request['id']}/approve", json={}, headers=operator2)
    assert approved.status_code == 200, approved.text
    decided = approved.json()
    assert decided["status"] == "approved"
    assert decided["result"]["vendor"]["status"] == "deleted"
    assert decided["result"]["versions_ended"] == [f"{name} 1.0.0"]
    assert_deleted(api, operator, vendor, name, held, plugin)
    events = audit_events(api, operator)
    delete = [e for e in events if e["action"] == "vendor.delete"]
    assert delete[-1]["detail"]["versions_ended"] == [f"{name} 1.0.0"]
    assert delete[-1]["detail"]["approval"] == request["id"]
    assert delete[-1]["actor"] != request["requested_by"]  # run as the approver


def assert_deleted(
    api: Any,
    operator: dict[str, str],
    vendor: VendorAccount,
    name: str,
    held: dict[str, str],
    plugin: PluginServer,
) -> None:
    """Deleted for good: revoked version, no client, no submissions, no way back."""
    row = api.get(f"/v1/vendors/{vendor.slug}", headers=operator).json()
    assert row["status"] == "deleted"
    version = api.get(f"/v1/plugins/{name}/versions/1.0.0", headers=operator).json()
    assert version["status"] == "revoked"
    assert version["status_reason"] == f"vendor {vendor.slug} deleted"
    assert name not in {m["name"] for m in api.get("/v1/catalog", headers=operator).json()}
    assert token_status(vendor) in (400, 401)  # its client is gone
    late = api.post(
        f"/v1/vendors/{vendor.slug}/plugins",
        json=manifest(unique_slug("p"), "1.0.0", plugin.url),
        headers=held,
    )
    assert late.status_code == 403
    assert api.delete(f"/v1/vendors/{vendor.slug}", headers=operator).status_code == 204
    back = api.post(f"/v1/vendors/{vendor.slug}/enable", headers=operator)
    assert back.status_code == 409
    assert back.headers["content-type"] == PROBLEM


def pending_for(api: Any, operator: dict[str, str], slug: str) -> list[dict[str, Any]]:
    rows = api.get("/v1/approvals", params={"status": "pending"}, headers=operator).json()
    return [r for r in rows if r["action"] == "vendor.delete" and r["target"] == slug]


def test_a_bank_subscribing_after_the_request_stops_the_deletion_on_approval(
    api: Any,
    operator: dict[str, str],
    operator2: dict[str, str],
    make_vendor: Callable[[], VendorAccount],
    make_tenant: Callable[..., dict[str, Any]],
    plugin: PluginServer,
) -> None:
    vendor = make_vendor()
    name = published(api, operator, vendor, plugin)
    asked = api.delete(f"/v1/vendors/{vendor.slug}", headers=operator)
    assert asked.status_code == 202, asked.text
    tenant = make_tenant()["tenant"]
    subscribe(api, operator, tenant, name)  # while the request waits

    stopped = api.post(f"/v1/approvals/{asked.json()['id']}/approve", json={}, headers=operator2)
    assert stopped.status_code == 409, stopped.text
    assert stopped.headers["content-type"] == PROBLEM
    assert f"{name} 1.0.0 (1)" in stopped.json()["detail"]
    assert api.get(f"/v1/vendors/{vendor.slug}", headers=operator).json()["status"] == "active"
    version = api.get(f"/v1/plugins/{name}/versions/1.0.0", headers=operator).json()
    assert version["status"] == "published"
    assert token_status(vendor) == 200
    still = api.get(f"/v1/approvals/{asked.json()['id']}", headers=operator).json()
    assert still["status"] == "pending"  # nothing ran; it can be rejected or cancelled

    rejected = api.post(
        f"/v1/approvals/{asked.json()['id']}/reject", json={"reason": "in use"}, headers=operator2
    )
    assert rejected.status_code == 200, rejected.text
    assert api.get(f"/v1/vendors/{vendor.slug}", headers=operator).json()["status"] == "active"


def test_deleting_ends_unpublished_versions_and_waits_for_validation(
    api: Any,
    operator: dict[str, str],
    operator2: dict[str, str],
    make_vendor: Callable[[], VendorAccount],
    plugin: PluginServer,
) -> None:
    vendor = make_vendor()
    plugin.behaviour.signing_secret = vendor.credentials["signing_secret"]
    plugin.behaviour.delay_s = 2.0  # each contract call: validation outlasts the next call
    name = unique_slug("p")
    submitted = api.post(
        f"/v1/vendors/{vendor.slug}/plugins",
        json=manifest(name, "1.0.0", plugin.url),
        headers=vendor.headers(),
    )
    assert submitted.status_code == 202
    early = api.delete(f"/v1/vendors/{vendor.slug}", headers=operator)
    assert early.status_code == 409, early.text
    assert "being validated" in early.json()["detail"]
    assert f"{name} 1.0.0" in early.json()["detail"]
    plugin.behaviour.delay_s = 0.0
    validated = wait_version(api, operator, name, "1.0.0", {"validated", "invalid"})
    assert validated["status"] == "validated", validated["validation"]

    decided = delete_vendor(api, operator, operator2, vendor.slug)
    assert decided["result"]["versions_ended"] == [f"{name} 1.0.0"]
    version = api.get(f"/v1/plugins/{name}/versions/1.0.0", headers=operator).json()
    assert version["status"] == "rejected"
    assert api.get(f"/v1/vendors/{vendor.slug}", headers=operator).json()["status"] == "deleted"


def test_unknown_vendors_and_bad_bodies(api: Any, operator: dict[str, str]) -> None:
    assert api.post("/v1/vendors/nobody-here/disable", headers=operator).status_code == 404
    assert api.delete("/v1/vendors/nobody-here", headers=operator).status_code == 404
    empty = api.delete("/v1/vendors/nobody-here", params={"reason": ""}, headers=operator)
    assert empty.status_code == 422
    assert empty.headers["content-type"] == PROBLEM
    bad = api.post("/v1/vendors/nobody-here/disable", json={"reason": 5}, headers=operator)
    assert bad.status_code == 422
    extra = api.post("/v1/vendors/x/enable", json={"reason": "r", "x": 1}, headers=operator)
    assert extra.status_code == 422
