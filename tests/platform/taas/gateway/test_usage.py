"""Usage: calls a module answered are billable; the gateway's own refusals are apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from gateway_support import GatewayProcess, RouteMaker
from support import systems_token, wait_for

MakeTenant = Callable[..., dict[str, Any]]


def test_refusals_are_not_billed_but_show_in_usage_by_reason(
    api: Any,
    operator: dict[str, str],
    gateway: GatewayProcess,
    routes: RouteMaker,
    make_tenant: MakeTenant,
) -> None:
    bank = make_tenant()["tenant"]
    other = make_tenant()["tenant"]
    quota = routes(bank, monthly_quota=2)
    scoped = routes(bank, scopes=["not-granted.use"])
    gateway.sync()
    token = systems_token(bank)
    auth = {"Authorization": f"Bearer {token}"}
    statuses = [
        httpx.post(f"{gateway.url}{quota.path}/score", json={}, headers=auth, timeout=10)
        for _ in range(5)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429, 429, 429]
    refused = httpx.get(f"{gateway.url}{scoped.path}/x", headers=auth, timeout=10)
    assert refused.status_code == 403
    # Refusals of callers who are not the bank are nobody's usage.
    stranger = {"Authorization": f"Bearer {systems_token(other)}"}
    assert (
        httpx.get(f"{gateway.url}{quota.path}/x", headers=stranger, timeout=10).status_code == 403
    )
    assert httpx.get(f"{gateway.url}{quota.path}/x", timeout=10).status_code == 401

    def usage() -> dict[str, dict[str, Any]] | None:
        response = api.get(f"/v1/tenants/{bank['id']}/usage", headers=operator)
        assert response.status_code == 200, response.text
        rows = {row["module"]: row for row in response.json()["rows"]}
        mine = {m: rows[m] for m in (quota.module, scoped.module) if m in rows}
        done = mine.get(quota.module, {}).get("refusals") == 3 and scoped.module in mine
        return mine if done else None

    rows = wait_for(usage, timeout=15, what="the gateway to write usage")
    billed = rows[quota.module]
    assert billed["calls"] == 2  # billable: the two calls the module answered
    assert billed["errors"] == 0
    assert billed["refusals"] == 3
    assert billed["refusals_by_reason"] == {"monthly-quota-exceeded": 3}
    assert rows[scoped.module]["calls"] == 0
    assert rows[scoped.module]["refusals_by_reason"] == {"missing-scopes": 1}
    # The other bank's refused attempt is in nobody's usage.
    others = api.get(f"/v1/tenants/{other['id']}/usage", headers=operator).json()["rows"]
    assert not [row for row in others if row["module"] == quota.module]
