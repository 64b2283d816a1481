"""Module storage credentials on the real MinIO: they live the documented 15 minutes, and
unsubscribing, revoking the version or suspending the tenant ends them at once (issue 10,
item 8)."""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from minio import Minio
from minio.error import S3Error

from catalog_support import revoke
from gateway_support import RouteMaker, RouteRows, Upstream, sql
from support import wait_operation
from taas.kit import grants
from taas.kit.settings import app_settings

MakeTenant = Callable[..., dict[str, Any]]


@pytest.fixture
def route_maker(make_tenant: MakeTenant) -> Iterator[RouteMaker]:
    maker = RouteMaker(Upstream())
    yield maker
    for rows in maker.made:  # operations of an unsubscribe name the subscription
        sql(
            "DELETE FROM operation_steps WHERE operation_id IN"
            " (SELECT id FROM operations WHERE lane = 'subscription:' || %s)",
            rows.subscription_id,
        )
        sql("DELETE FROM operations WHERE lane = 'subscription:' || %s", rows.subscription_id)
    maker.remove_all()


def _ask_credentials(api: Any, tenant: dict[str, Any], route: RouteRows) -> Any:
    grant = grants.issue(
        app_settings().storage_grant_secret,
        grants.Grant(
            tenant=tenant["slug"],
            tenant_id=tenant["id"],
            module=route.module,
            version=route.version,
            access=frozenset({"read", "write"}),
            expires_at=time.time() + 60,
        ),
    )
    return api.post("/v1/storage/credentials", headers={"Authorization": f"Bearer {grant}"})


def _credentials(api: Any, tenant: dict[str, Any], route: RouteRows) -> dict[str, Any]:
    response = _ask_credentials(api, tenant, route)
    assert response.status_code == 200, response.text
    minted: dict[str, Any] = response.json()
    return minted


def _client(minted: dict[str, Any]) -> Minio:
    return Minio(
        minted["endpoint"],
        access_key=minted["access_key"],
        secret_key=minted["secret_key"],
        session_token=minted["session_token"],
        secure=minted["secure"],
        region=minted["region"],
    )


def _put(minted: dict[str, Any], name: str) -> str:
    try:
        _client(minted).put_object(
            minted["bucket"], f"{minted['prefix']}{name}", io.BytesIO(b"x"), 1
        )
    except S3Error as exc:
        return str(exc.code)
    return "allowed"


def _get(minted: dict[str, Any], name: str) -> str:
    try:
        _client(minted).get_object(minted["bucket"], f"{minted['prefix']}{name}").read()
    except S3Error as exc:
        return str(exc.code)
    return "allowed"


def test_credentials_live_fifteen_minutes(
    api: Any, make_tenant: MakeTenant, route_maker: RouteMaker
) -> None:
    tenant = make_tenant()["tenant"]
    route = route_maker(tenant, storage=["read", "write"])
    asked = dt.datetime.now(dt.UTC)
    minted = _credentials(api, tenant, route)
    lifetime = (dt.datetime.fromisoformat(minted["expires_at"]) - asked).total_seconds()
    assert app_settings().storage_credentials_ttl_s == 900
    assert 840 < lifetime <= 905, lifetime  # MinIO's Expiration, not the 3,600 s of minio-py
    assert _put(minted, "a.txt") == "allowed"


def test_unsubscribing_ends_issued_credentials_at_once(
    api: Any, operator: dict[str, str], make_tenant: MakeTenant, route_maker: RouteMaker
) -> None:
    tenant = make_tenant()["tenant"]
    route = route_maker(tenant, storage=["read", "write"])
    minted = _credentials(api, tenant, route)
    assert _put(minted, "kept.txt") == "allowed"
    assert _get(minted, "kept.txt") == "allowed"

    removed = api.delete(
        f"/v1/tenants/{tenant['id']}/subscriptions/{route.module}", headers=operator
    )
    assert removed.status_code == 202, removed.text
    assert _get(minted, "kept.txt") == "AccessDenied"
    assert _put(minted, "after.txt") == "AccessDenied"
    wait_operation(api, operator, tenant["id"], removed.json()["operation"]["id"])
    # and no new credentials for a subscription that is gone
    grant_refused = api.post(
        "/v1/storage/credentials",
        headers={
            "Authorization": "Bearer "
            + grants.issue(
                app_settings().storage_grant_secret,
                grants.Grant(
                    tenant["slug"],
                    tenant["id"],
                    route.module,
                    "1.0.0",
                    frozenset({"read"}),
                    time.time() + 60,
                ),
            )
        },
    )
    assert grant_refused.status_code == 403


def test_revoking_the_version_ends_issued_credentials(
    api: Any,
    operator: dict[str, str],
    operator2: dict[str, str],
    make_tenant: MakeTenant,
    route_maker: RouteMaker,
) -> None:
    tenant = make_tenant()["tenant"]
    route = route_maker(tenant, storage=["read", "write"])
    minted = _credentials(api, tenant, route)
    assert _put(minted, "a.txt") == "allowed"
    approval = revoke(api, operator, operator2, route.module, route.version, "leaks data")
    assert approval["status"] == "approved", approval
    assert _put(minted, "b.txt") == "AccessDenied"


def test_suspending_the_version_ends_issued_credentials_and_refuses_new_ones(
    api: Any, operator: dict[str, str], make_tenant: MakeTenant, route_maker: RouteMaker
) -> None:
    tenant = make_tenant()["tenant"]
    route = route_maker(tenant, storage=["read", "write"])
    minted = _credentials(api, tenant, route)
    assert _put(minted, "a.txt") == "allowed"
    path = f"/v1/plugins/{route.module}/versions/{route.version}"
    suspended = api.post(f"{path}/suspend", json={"reason": "incident"}, headers=operator)
    assert suspended.status_code == 200, suspended.text
    assert _put(minted, "b.txt") == "AccessDenied"
    refused = _ask_credentials(api, tenant, route)
    assert refused.status_code == 403, refused.text
    assert "not served (suspended)" in refused.json()["detail"]


def test_suspending_the_tenant_ends_issued_credentials(
    api: Any, operator: dict[str, str], make_tenant: MakeTenant, route_maker: RouteMaker
) -> None:
    tenant = make_tenant()["tenant"]
    route = route_maker(tenant, storage=["read", "write"])
    minted = _credentials(api, tenant, route)
    assert _put(minted, "a.txt") == "allowed"
    suspended = api.post(f"/v1/tenants/{tenant['id']}/suspend", headers=operator)
    assert suspended.status_code == 202, suspended.text
    op = wait_operation(api, operator, tenant["id"], suspended.json()["operation"]["id"])
    assert op["status"] == "succeeded", op
    assert _put(minted, "b.txt") == "AccessDenied"
    resumed = api.post(f"/v1/tenants/{tenant['id']}/resume", headers=operator)
    wait_operation(api, operator, tenant["id"], resumed.json()["operation"]["id"])
    # a new identity once the tenant is active again; the old session stays dead
    fresh = _credentials(api, tenant, route)
    assert _put(fresh, "c.txt") == "allowed"
    assert _put(minted, "d.txt") == "AccessDenied"
