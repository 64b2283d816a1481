"""The audit trail is a hash chain: any altered, removed or truncated record is detected."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from conftest import ControlPlane
from taas.audit.repository import GENESIS, event_hash

Headers = dict[str, str]


def test_event_hash_covers_every_field() -> None:
    base: dict[str, Any] = {
        "seq": 7,
        "occurred_at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "actor": "taas-platform/op",
        "action": "tenant.create",
        "tenant_id": uuid.UUID(int=1),
        "request_id": "r1",
        "outcome": "accepted",
        "detail": {"slug": "bank"},
        "prev_hash": GENESIS,
    }
    reference = event_hash(**base)
    assert len(reference) == 64
    assert event_hash(**base) == reference
    for field, other in [
        ("seq", 8),
        ("actor", "someone-else"),
        ("action", "tenant.offboard"),
        ("tenant_id", uuid.UUID(int=2)),
        ("request_id", "r2"),
        ("outcome", "rejected"),
        ("detail", {"slug": "other"}),
        ("prev_hash", "1" * 64),
        ("occurred_at", dt.datetime(2026, 1, 2, 3, 4, 6, tzinfo=dt.UTC)),
    ]:
        assert event_hash(**{**base, field: other}) != reference, field


def _reinsert(conn: psycopg.Connection[Any], row: tuple[Any, ...]) -> None:
    values = [psycopg.types.json.Jsonb(v) if isinstance(v, dict) else v for v in row]
    placeholders = ", ".join(["%s"] * len(values))
    conn.execute(
        f"INSERT INTO audit_events VALUES ({placeholders}) ON CONFLICT DO NOTHING",  # noqa: S608
        values,
    )


def _verify(api: Any, headers: Headers) -> dict[str, Any]:
    response = api.get("/v1/audit/verify", headers=headers)
    assert response.status_code == 200
    report: dict[str, Any] = response.json()
    return report


def test_tampering_is_detected_and_the_intact_chain_verifies(
    api: Any,
    auditor: Headers,
    control_plane: ControlPlane,
    make_tenant: Callable[..., dict[str, Any]],
) -> None:
    make_tenant()
    assert _verify(api, auditor)["ok"] is True
    with psycopg.connect(control_plane.database_url, autocommit=True) as conn:
        first, last = conn.execute("SELECT min(seq), max(seq) FROM audit_events").fetchone()
        middle = (first + last) // 2
        original = conn.execute(
            "SELECT detail FROM audit_events WHERE seq = %s", (middle,)
        ).fetchone()[0]
        row = conn.execute("SELECT * FROM audit_events WHERE seq = %s", (last,)).fetchone()
        try:
            # 1. an altered record
            conn.execute(
                "UPDATE audit_events SET detail = '{\"forged\": true}' WHERE seq = %s", (middle,)
            )
            report = _verify(api, auditor)
            assert report["ok"] is False
            assert f"event {middle} was altered" in " ".join(report["problems"])
            conn.execute(
                "UPDATE audit_events SET detail = %s WHERE seq = %s",
                (psycopg.types.json.Jsonb(original), middle),
            )
            assert _verify(api, auditor)["ok"] is True

            # 2. the newest record removed
            conn.execute("DELETE FROM audit_events WHERE seq = %s", (last,))
            report = _verify(api, auditor)
            assert report["ok"] is False
            assert "newest events were removed" in " ".join(report["problems"])
        finally:
            _reinsert(conn, row)
        assert _verify(api, auditor)["ok"] is True

        # 3. a record removed from the middle
        row = conn.execute("SELECT * FROM audit_events WHERE seq = %s", (middle,)).fetchone()
        conn.execute("DELETE FROM audit_events WHERE seq = %s", (middle,))
        try:
            report = _verify(api, auditor)
            assert report["ok"] is False
            assert f"events {middle}..{middle} are missing" in " ".join(report["problems"])
        finally:
            _reinsert(conn, row)
    assert _verify(api, auditor)["ok"] is True


def test_every_saga_step_and_mutating_call_is_audited(
    api: Any, operator: Headers, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    tenant = make_tenant()["tenant"]
    events = api.get(f"/v1/tenants/{tenant['id']}/audit", headers=operator).json()["items"]
    actions = [e["action"] for e in events]
    assert actions[0] == "tenant.create"
    assert actions[0:1] + [a for a in actions if a.startswith("saga.")] == [
        "tenant.create",
        "saga.kubernetes.namespace",
        "saga.postgres.schema",
        "saga.minio.bucket",
        "saga.keycloak.identity",
    ]
    create = events[0]
    assert create["actor"] == "taas-platform/test-operator"
    assert create["request_id"]
    assert all(e["tenant_id"] == tenant["id"] for e in events)


def test_the_whole_trail_is_for_platform_roles_only(api: Any, auditor: Headers) -> None:
    assert api.get("/v1/audit", params={"limit": 5}, headers=auditor).status_code == 200
    assert api.get("/v1/audit", params={"limit": 0}, headers=auditor).status_code == 422


@pytest.mark.parametrize("path", ["/v1/audit", "/v1/audit/verify"])
def test_audit_endpoints_need_a_token(api: Any, path: str) -> None:
    assert api.get(path).status_code == 401
