"""The route table's snapshot: built from the rows of the gateway views (pure logic)."""

from __future__ import annotations

import uuid

from taas.gateway.routes import EMPTY, apply_changes, build_snapshot, parse_changes, psycopg_dsn
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


def full_route_row(
    tenant: str,
    tenant_id: uuid.UUID,
    subscription_id: uuid.UUID,
    module: str,
    version_id: str,
    *,
    version: str = "1.0.0",
    upstream: str = "http://v1.local",
    status: str = "published",
) -> tuple[object, ...]:
    return (
        tenant,
        tenant_id,
        subscription_id,
        module,
        20,
        None,
        upstream,
        version,
        status,
        [],
        5.0,
        "acme",
        "s3cret",
        ["read"],
        version_id,
        "vendor-1",
    )


def test_notifications_name_what_changed_and_unknown_ones_mean_reload_all() -> None:
    sub, tenant, version = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    changes = parse_changes(
        [
            f"subscription {sub} {tenant} risk",
            f"tenant {tenant}",
            f"version {version} ocr",
            "vendor v-1",
            "sync abc",
            "sync def",
        ],
        limit=10,
    )
    assert not changes.full
    assert changes.subscriptions == {str(sub)}
    assert changes.tenants == {str(tenant)}
    assert changes.versions == {str(version)}
    assert changes.vendors == {"v-1"}
    assert changes.modules == {"risk", "ocr"}
    assert changes.synced == "def"
    assert parse_changes(["subscriptions"], limit=10).full  # the old, table-name payload
    assert parse_changes(["tenant"], limit=10).full
    many = [f"subscription {uuid.uuid4()} {tenant} risk" for _ in range(11)]
    assert parse_changes(many, limit=10).full  # too many: one full reload is cheaper
    assert parse_changes(["sync only"], limit=10).empty


def test_an_incremental_change_replaces_only_the_rows_named() -> None:
    other_tenant, other_sub = uuid.uuid4(), uuid.uuid4()
    before = build_snapshot(
        [
            (TENANT_ID, "rural-7", "pool", "active", 50),
            (other_tenant, "city-2", "pool", "active", 9),
        ],
        [
            full_route_row("rural-7", TENANT_ID, SUBSCRIPTION_ID, "risk", "ver-1"),
            full_route_row("city-2", other_tenant, other_sub, "risk", "ver-1"),
        ],
        [("risk",)],
        generation=1,
    )
    # The bank's subscription moved to version 2 (its own upstream).
    moved = full_route_row(
        "rural-7",
        TENANT_ID,
        SUBSCRIPTION_ID,
        "risk",
        "ver-2",
        version="2.0.0",
        upstream="http://v2.local/",
    )
    changes = parse_changes([f"subscription {SUBSCRIPTION_ID} {TENANT_ID} risk"], limit=10)
    after = apply_changes(
        before, changes, tenant_rows=[], route_rows=[moved], module_rows=[("risk",)], generation=2
    )
    route = after.routes[("rural-7", "risk")]
    assert (route.version, route.upstream_url, route.plugin_version_id) == (
        "2.0.0",
        "http://v2.local",
        "ver-2",
    )
    assert after.routes[("city-2", "risk")] is before.routes[("city-2", "risk")]
    assert before.routes[("rural-7", "risk")].version == "1.0.0"  # never changed in place
    assert after.generation == 2

    # Version 1 revoked: only its routes are re-read (city-2's, now revoked).
    revoked = full_route_row("city-2", other_tenant, other_sub, "risk", "ver-1", status="revoked")
    changes = parse_changes(["version ver-1 risk"], limit=10)
    later = apply_changes(
        after, changes, tenant_rows=[], route_rows=[revoked], module_rows=[("risk",)], generation=3
    )
    assert not later.routes[("city-2", "risk")].live
    assert later.routes[("rural-7", "risk")].live

    # Unsubscribed: the row is gone from the view, so the route goes.
    changes = parse_changes([f"subscription {other_sub} {other_tenant} risk"], limit=10)
    gone = apply_changes(
        later, changes, tenant_rows=[], route_rows=[], module_rows=[], generation=4
    )
    assert ("city-2", "risk") not in gone.routes
    assert "risk" not in gone.modules  # re-read for the module named, and not found

    # A tenant offboarded leaves the tenants view.
    changes = parse_changes([f"tenant {other_tenant}"], limit=10)
    left = apply_changes(gone, changes, tenant_rows=[], route_rows=[], module_rows=[], generation=5)
    assert "city-2" not in left.tenants
    assert "rural-7" in left.tenants
