"""The risk module's tenant state on the real platform: kept in the tenant's own bucket.

The module app is served with uvicorn and called through a real gateway, with storage
credentials minted by the real platform for the calling tenant and module. Bank A sets
rules and a blacklist entry; the module is restarted (a new app instance on the same
port, nothing kept in memory); A's decisions still follow its rules and blacklist, bank
B's do not, and the state objects are in A's bucket under the module's prefix only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
from taas_risk import examples
from taas_risk.app import ADMIN_SCOPE, create_risk_app
from taas_sdk import ModuleSettings

from gateway_support import RouteMaker, Upstream, sql
from module_support import free_port, serve_app
from support import spec_of_json, systems_token, unique_slug, wait_for
from taas.integrations.systems import systems

SECRET = uuid.uuid4().hex
APPLICATION = examples.DECISION_REQUESTS["approve"]["value"]
STRICT = examples.RULES_REQUESTS["strict"]["value"]


def objects(tenant: dict[str, Any], prefix: str) -> set[str]:
    """What the tenant's bucket holds under ``prefix`` (read as root)."""
    bucket = spec_of_json(tenant).bucket
    listed = systems().storage.s3.list_objects(bucket, prefix=prefix, recursive=True)
    return {str(o.object_name) for o in listed}


class Bank:
    """A bank's systems calling the module through the gateway."""

    def __init__(self, gateway_url: str, tenant: dict[str, Any], module: str) -> None:
        self.base = f"{gateway_url}/t/{tenant['slug']}/{module}"
        # The routes are written straight into the tables, so the subscription saga that
        # would create the module's admin scope for the bank is done here by hand.
        systems().identity.ensure_module_scopes(spec_of_json(tenant), [ADMIN_SCOPE])
        token = systems_token(tenant, ADMIN_SCOPE)
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, f"{self.base}{path}", headers=self.headers, timeout=30, **kwargs
        )

    def decide(self) -> dict[str, Any]:
        # The route may take a moment to reach the gateway after the rows are written.
        answer: httpx.Response = wait_for(
            lambda: (
                (r := self.call("POST", "/decisions", json=APPLICATION)).status_code != 404 and r
            ),
            timeout=10,
            what="the risk route",
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


def test_a_tenants_rules_and_blacklist_survive_a_restart_in_its_own_bucket(
    gateway: Any, api_server: str, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    bank_a, bank_b = make_tenant()["tenant"], make_tenant()["tenant"]
    settings = ModuleSettings(signing_secret=SECRET, platform_url=api_server)
    port = free_port()
    # Plugin names are platform-wide and tests run many times: a unique name, so the
    # module's prefix in the banks' buckets is "<module>/" (it is "risk/" when deployed).
    module = unique_slug("risk")
    maker = RouteMaker(Upstream())
    try:
        route = maker(
            bank_a,
            module=module,
            upstream_url=f"http://127.0.0.1:{port}",
            storage=["read", "write"],
            secret=SECRET,
        )
        sql(
            "INSERT INTO subscriptions (id, tenant_id, module, plugin_version_id, upstream_url,"
            " status, rate_limit_rps, requested_by)"
            " VALUES (%s, %s, %s, %s, %s, 'active', 1000, 'test')",
            uuid.uuid4(),
            bank_b["id"],
            module,
            route.version_id,
            f"http://127.0.0.1:{port}",
        )
        mine, theirs = Bank(gateway.url, bank_a, module), Bank(gateway.url, bank_b, module)
        with serve_app(create_risk_app(settings=settings), port):
            assert mine.decide()["decision"] == "approve"
            assert mine.call("PUT", "/rules", json=STRICT).status_code == 200
            added = mine.call(
                "POST",
                "/blacklist",
                json={"kind": "phone", "value": APPLICATION["phone"], "reason": "fraud ring"},
            )
            assert added.status_code == 201, added.text

        with serve_app(create_risk_app(settings=settings), port):  # restarted: nothing in memory
            assert mine.call("GET", "/rules").json() == STRICT
            listed = mine.call("GET", "/blacklist").json()
            assert [e["value"] for e in listed["entries"]] == [APPLICATION["phone"]]
            decision = mine.decide()
            assert decision["decision"] == "reject"
            assert decision["reasons"][0]["code"] == "blacklist.phone"
            assert decision["reasons"][0]["message"].endswith("(fraud ring)")
            other = theirs.decide()
            assert other["decision"] == "approve"
            assert [r for r in other["reasons"] if r["kind"] == "rule"] == []
            assert theirs.call("GET", "/blacklist").json()["count"] == 0
            assert theirs.call("GET", "/rules").json() != STRICT

        assert {
            f"{module}/state/rules.json",
            f"{module}/state/blacklist.json",
            f"{module}/state/revision.json",
        } <= objects(bank_a, f"{module}/state/")
        assert objects(bank_b, f"{module}/") == set()
    finally:
        maker.remove_all()
