"""Storage grants are signed for the route's tenant and module and re-used while fresh."""

from __future__ import annotations

import time

from taas.gateway.routes import Route
from taas.gateway.storage_grants import StorageGrants
from taas.kit import grants

SECRET = "grant-secret-for-tests-0123456789"


def _route(version: str = "1.0.0") -> Route:
    return Route(
        tenant="bank-a",
        tenant_id="t-1",
        subscription_id="s-1",
        module="risk",
        rate_limit_rps=10,
        monthly_quota=None,
        upstream_url="http://127.0.0.1:1",
        version=version,
        version_status="published",
        scopes=frozenset(),
        timeout_s=5.0,
        vendor="acme",
        sign=lambda text: text,
        storage=frozenset({"read"}),
    )


def test_a_grant_names_the_route_and_is_reused_until_half_its_life() -> None:
    now = [time.time()]
    issuer = StorageGrants(SECRET, ttl_s=300, clock=lambda: now[0])
    first = issuer.grant(_route())
    grant = grants.verify(SECRET, first)
    assert (grant.tenant, grant.tenant_id, grant.module, grant.version, grant.access) == (
        "bank-a",
        "t-1",
        "risk",
        "1.0.0",
        frozenset({"read"}),
    )
    now[0] += 149
    assert issuer.grant(_route()) == first
    assert issuer.grant(_route("2.0.0")) != first  # another version, another grant
    now[0] += 2
    assert issuer.grant(_route()) != first  # past half its life: a new one
