"""The route table's snapshot: built from the rows of the gateway views (pure logic)."""

from __future__ import annotations

import uuid

from taas.gateway.routes import EMPTY, build_snapshot, psycopg_dsn
from taas.kit.signing import sign

TENANT_ID = uuid.uuid4()
SUBSCRIPTION_ID = uuid.uuid4()


def route_row(module: str, status: str = "published") -> tuple[object, ...]:
    return (
        "rural-7",
        TENANT_ID,
        SUBSCRIPTION_ID,
        module,
        20,
        None,
        "http://risk.local:8080/",
        "1.2.0",
        status,
        ["risk:read"],
        2.5,
        "acme",
        "s3cret",
    )


def test_a_snapshot_is_looked_up_by_tenant_and_by_tenant_and_module() -> None:
    snapshot = build_snapshot(
        [
            (TENANT_ID, "rural-7", "pool", "active", 50),
            (uuid.uuid4(), "city-2", "silo", "suspended", None),
        ],
        [route_row("risk"), route_row("ocr", status="revoked")],
        [("risk",), ("ocr",), ("marketing",)],
        generation=3,
    )
    assert snapshot.ready
    assert snapshot.generation == 3
    assert snapshot.tenants["rural-7"].id == str(TENANT_ID)
    assert snapshot.tenants["rural-7"].rate_limit_rps == 50
    assert snapshot.tenants["city-2"].rate_limit_rps is None
    risk = snapshot.routes[("rural-7", "risk")]
    assert risk.upstream_url == "http://risk.local:8080"  # joined with a rest that starts with /
    assert risk.scopes == frozenset({"risk:read"})
    assert risk.timeout_s == 2.5
    assert risk.subscription_id == str(SUBSCRIPTION_ID)
    assert risk.live
    assert not snapshot.routes[("rural-7", "ocr")].live
    assert ("city-2", "risk") not in snapshot.routes
    assert "marketing" in snapshot.modules
    assert risk.sign("abc") == sign("s3cret", "abc")


def test_the_empty_snapshot_is_not_ready() -> None:
    assert not EMPTY.ready
    assert EMPTY.routes == {}


def test_database_urls_lose_the_sqlalchemy_driver() -> None:
    assert psycopg_dsn("postgresql+psycopg://u:p@h:1/db") == "postgresql://u:p@h:1/db"
    assert psycopg_dsn("postgresql://u:p@h:1/db") == "postgresql://u:p@h:1/db"
