"""Maker-checker on the real stack: destructive actions wait for a second operator."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg

from conftest import ControlPlane
from support import wait_operation

Headers = dict[str, str]
PROBLEM = "application/problem+json"


def _ask_offboard(api: Any, headers: Headers, tenant_id: str, days: int = 0, **extra: str) -> Any:
    return api.post(
        f"/v1/tenants/{tenant_id}/offboard",
        json={"reason": "contract ended", "retention": {"keep_data_days": days}},
        headers=headers | extra,
    )


def test_offboarding_that_destroys_data_waits_for_a_second_operator(
    api: Any,
    operator: Headers,
    operator2: Headers,
    auditor: Headers,
    control_plane: ControlPlane,
    make_tenant: Callable[..., dict[str, Any]],
) -> None:
    tenant = make_tenant()["tenant"]
    asked = _ask_offboard(api, operator, tenant["id"], days=0)
    assert asked.status_code == 202, asked.text
    body = asked.json()
    assert body["operation"] is None
    approval = body["approval"]
    assert approval["status"] == "pending"
    assert approval["action"] == "tenant.offboard"
    assert approval["target"] == tenant["id"]
    assert approval["requested_by"].endswith("/test-operator")
    # nothing happened yet
    assert api.get(f"/v1/tenants/{tenant['id']}", headers=operator).json()["status"] == "active"
    kinds = [
        o["kind"]
        for o in api.get(f"/v1/tenants/{tenant['id']}/operations", headers=operator).json()
    ]
    assert kinds == ["provision"]

    # the requester cannot approve their own request; an auditor cannot approve at all
    own = api.post(f"/v1/approvals/{approval['id']}/approve", json={}, headers=operator)
    assert own.status_code == 409
    assert own.headers["content-type"] == PROBLEM
    assert "another operator" in own.json()["detail"]
    assert api.post(f"/v1/approvals/{approval['id']}/approve", headers=auditor).status_code == 403
    # a second identical request is refused while the first is pending, naming it
    twice = _ask_offboard(api, operator2, tenant["id"], days=0)
    assert twice.status_code == 409
    assert twice.json()["approval_id"] == approval["id"]
    listed = api.get("/v1/approvals", params={"status": "pending"}, headers=auditor).json()
    assert approval["id"] in [row["id"] for row in listed]

    # the second operator approves: the offboarding runs, as them
    approved = api.post(
        f"/v1/approvals/{approval['id']}/approve", json={"reason": "checked"}, headers=operator2
    )
    assert approved.status_code == 200, approved.text
    decided = approved.json()
    assert decided["status"] == "approved"
    assert decided["decided_by"].endswith("/test-operator-2")
    operation = decided["result"]["operation"]
    assert operation["kind"] == "offboard"
    assert operation["params"]["approval"] == approval["id"]
    assert wait_operation(api, operator, tenant["id"], operation["id"])["status"] == "succeeded"
    assert api.get(f"/v1/tenants/{tenant['id']}", headers=operator).json()["status"] == "offboarded"

    # decided is decided; unknown is 404
    again = api.post(f"/v1/approvals/{approval['id']}/approve", json={}, headers=operator2)
    assert again.status_code == 409
    assert again.json()["current_status"] == "approved"
    assert again.headers["content-type"] == PROBLEM
    unknown = api.post(f"/v1/approvals/{uuid.uuid4()}/approve", json={}, headers=operator2)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM

    # audited: who asked, who approved, and the offboarding itself names the approval
    with psycopg.connect(control_plane.database_url) as conn:
        rows = conn.execute(
            "SELECT action, actor FROM audit_events WHERE detail ->> 'approval' = %s",
            (approval["id"],),
        ).fetchall()
    actions: dict[str, str] = dict(rows)
    assert actions["approval.request"].endswith("/test-operator")
    assert actions["approval.approved"].endswith("/test-operator-2")
    assert actions["tenant.offboard"].endswith("/test-operator-2")


def test_offboarding_that_keeps_data_long_enough_runs_on_one_call(
    api: Any, operator: Headers, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    tenant = make_tenant()["tenant"]
    asked = _ask_offboard(api, operator, tenant["id"], days=30)
    assert asked.status_code == 202
    assert asked.json()["approval"] is None
    operation = asked.json()["operation"]
    assert wait_operation(api, operator, tenant["id"], operation["id"])["status"] == "succeeded"


def test_rejected_cancelled_and_expired_requests_do_nothing(
    api: Any,
    operator: Headers,
    operator2: Headers,
    control_plane: ControlPlane,
    make_tenant: Callable[..., dict[str, Any]],
) -> None:
    tenant = make_tenant()["tenant"]

    # rejected by the second operator (the requester withdraws with cancel instead)
    first = _ask_offboard(api, operator, tenant["id"]).json()["approval"]
    assert api.post(f"/v1/approvals/{first['id']}/reject", headers=operator).status_code == 409
    rejected = api.post(
        f"/v1/approvals/{first['id']}/reject", json={"reason": "wrong bank"}, headers=operator2
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    late = api.post(f"/v1/approvals/{first['id']}/approve", json={}, headers=operator2)
    assert late.status_code == 409

    # cancelled by the requester (nobody else may cancel it)
    second = _ask_offboard(api, operator, tenant["id"]).json()["approval"]
    assert api.post(f"/v1/approvals/{second['id']}/cancel", headers=operator2).status_code == 403
    cancelled = api.post(f"/v1/approvals/{second['id']}/cancel", headers=operator)
    assert cancelled.json()["status"] == "cancelled"

    # expired: a request nobody decided in time cannot be approved any more
    third = _ask_offboard(api, operator, tenant["id"]).json()["approval"]
    with psycopg.connect(control_plane.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE approvals SET expires_at = now() - interval '1 second' WHERE id = %s",
            (third["id"],),
        )
    expired = api.post(f"/v1/approvals/{third['id']}/approve", json={}, headers=operator2)
    assert expired.status_code == 409
    assert expired.json()["current_status"] == "expired"
    assert api.get(f"/v1/approvals/{third['id']}", headers=operator).json()["status"] == "expired"

    assert api.get(f"/v1/tenants/{tenant['id']}", headers=operator).json()["status"] == "active"
    kinds = [
        o["kind"]
        for o in api.get(f"/v1/tenants/{tenant['id']}/operations", headers=operator).json()
    ]
    assert kinds == ["provision"]


def test_a_retried_request_or_approval_with_one_key_happens_once(
    api: Any,
    operator: Headers,
    operator2: Headers,
    make_tenant: Callable[..., dict[str, Any]],
) -> None:
    tenant = make_tenant()["tenant"]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = _ask_offboard(api, operator, tenant["id"], **key)
    second = _ask_offboard(api, operator, tenant["id"], **key)
    assert first.status_code == second.status_code == 202
    assert first.json()["approval"]["id"] == second.json()["approval"]["id"]
    approval_id = first.json()["approval"]["id"]

    key = {"Idempotency-Key": str(uuid.uuid4())}
    approved = api.post(f"/v1/approvals/{approval_id}/approve", json={}, headers=operator2 | key)
    replayed = api.post(f"/v1/approvals/{approval_id}/approve", json={}, headers=operator2 | key)
    assert approved.status_code == replayed.status_code == 200
    assert approved.json() == replayed.json()
    operation = approved.json()["result"]["operation"]
    wait_operation(api, operator, tenant["id"], operation["id"])
    offboards = [
        o
        for o in api.get(f"/v1/tenants/{tenant['id']}/operations", headers=operator).json()
        if o["kind"] == "offboard"
    ]
    assert len(offboards) == 1


def test_bank_admins_and_strangers_cannot_see_or_decide_requests(
    api: Any,
    operator: Headers,
    control_plane: ControlPlane,
    make_tenant: Callable[..., dict[str, Any]],
) -> None:
    from support import bank_admin_headers

    tenant = make_tenant()["tenant"]
    admin = bank_admin_headers(control_plane.token, tenant)
    approval = _ask_offboard(api, operator, tenant["id"]).json()["approval"]
    assert api.get("/v1/approvals", headers=admin).status_code == 403
    assert api.get(f"/v1/approvals/{approval['id']}", headers=admin).status_code == 404
    assert api.post(f"/v1/approvals/{approval['id']}/approve", headers=admin).status_code == 403
    nobody = control_plane.headers("test-nobody")
    assert api.post(f"/v1/approvals/{approval['id']}/approve", headers=nobody).status_code == 403
    # the bank's admin cannot ask for its own offboarding either
    assert _ask_offboard(api, admin, tenant["id"]).status_code == 403
    cancelled = api.post(f"/v1/approvals/{approval['id']}/cancel", headers=operator)
    assert cancelled.status_code == 200
