"""Forwarding, end to end: what crosses to the module (signed identity, no credentials),
bodies streamed both ways, and the answers when the module is unreachable or slow."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jwt

from gateway_support import (
    GatewayProcess,
    MakeTenant,
    RouteMaker,
    bearer,
    eventually,
    free_port,
    sql,
)
from support import systems_token, wait_for
from taas.kit import signing


def test_a_call_reaches_the_module_with_signed_identity_and_without_credentials(
    gateway: GatewayProcess, routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    tenant = make_tenant()["tenant"]
    route = routes(tenant, scopes=["profile"])
    token = systems_token(tenant)
    claims = jwt.decode(token, options={"verify_signature": False})
    sent = {
        **bearer(token),
        "Cookie": "session=bank-secret",
        "X-TaaS-Tenant": "another-bank",
        "X-TaaS-Signature": "v1=forged",
        "X-Forwarded-For": "6.6.6.6",
        "Forwarded": "for=6.6.6.6",
        "Proxy-Authorization": "Basic eDp5",
        "X-Request-Id": "req-happy-1",
        "X-Custom": "kept",
    }
    url = f"{gateway.url}{route.path}/score/a%20b?q=1&r=2"
    response = eventually(
        lambda: httpx.post(url, headers=sent, json={"amount": 5}, timeout=10), 200, "the route"
    )
    assert response.headers["x-request-id"] == "req-happy-1"
    assert response.headers["x-module"] == "echo"
    assert "server" not in response.headers  # the vendor's server header stays behind
    echo = response.json()
    assert echo["method"] == "POST"
    assert echo["path"] == f"/m/{route.module}/score/a%20b"
    assert echo["query"] == "q=1&r=2"
    assert echo["received"] == len(json.dumps({"amount": 5}, separators=(",", ":")))
    seen = echo["headers"]
    for name in ("authorization", "cookie", "x-forwarded-for", "forwarded", "proxy-authorization"):
        assert name not in seen, name
    assert seen["x-custom"] == "kept"
    assert seen["host"] == f"127.0.0.1:{routes.upstream.port}"
    assert seen["x-taas-tenant"] == tenant["slug"]
    assert seen["x-taas-tenant-id"] == tenant["id"]
    assert seen["x-taas-caller"] == claims["sub"]
    assert seen["x-taas-caller-client"] == claims["azp"]
    assert seen["x-taas-scopes"] == " ".join(sorted(claims["scope"].split()))
    assert seen["x-taas-module"] == route.module
    assert seen["x-taas-plugin-version"] == "1.0.0"
    assert seen["x-taas-request-id"] == "req-happy-1"
    assert abs(int(seen["x-taas-timestamp"]) - time.time()) < 60
    assert echo["signed"] is True
    assert signing.verify_signature(seen, route.secret, 60, method="POST", path="/score/a%20b")
    assert not signing.verify_signature(
        seen, "another-secret", 60, method="POST", path="/score/a%20b"
    )

    # Without (or with an unusable) X-Request-Id the gateway makes one up.
    response = httpx.get(
        f"{gateway.url}{route.path}/x", headers={**bearer(token), "X-Request-Id": "a b"}, timeout=10
    )
    assert response.status_code == 200
    made = response.headers["x-request-id"]
    assert made != "a b"
    assert response.json()["headers"]["x-taas-request-id"] == made


def test_big_bodies_stream_both_ways_and_calls_are_metered(
    gateway: GatewayProcess, routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    tenant = make_tenant()["tenant"]
    route = routes(tenant)
    refused = routes(tenant, monthly_quota=0)
    headers = bearer(systems_token(tenant))
    eventually(lambda: httpx.get(f"{gateway.url}{route.path}/x", headers=headers), 200, "route")
    size = 5 * 1024 * 1024

    def chunks() -> Any:
        for _ in range(size // 65536):
            yield b"u" * 65536

    with httpx.Client(timeout=60) as client:
        upload = client.post(f"{gateway.url}{route.path}/upload", headers=headers, content=chunks())
        assert upload.status_code == 200, upload.text
        assert upload.json()["received"] == size
        assert "content-length" not in upload.json()["headers"]  # streamed, chunked
        fixed = client.put(
            f"{gateway.url}{route.path}/upload", headers=headers, content=b"f" * size
        )
        assert fixed.json()["received"] == size
        assert fixed.json()["headers"]["content-length"] == str(size)
        with client.stream(
            "GET", f"{gateway.url}{route.path}/download?n={size}", headers=headers
        ) as download:
            assert download.status_code == 200
            assert sum(len(part) for part in download.iter_bytes()) == size
    eventually(
        lambda: httpx.get(f"{gateway.url}{refused.path}/x", headers=headers),
        429,
        "the quota of 0",
    )

    def usage() -> dict[tuple[str, str], tuple[int, int, int]] | None:
        rows = sql(
            "SELECT module, status_class, calls, bytes_in, bytes_out FROM usage_daily"
            " WHERE tenant_id = %s AND day = (now() AT TIME ZONE 'UTC')::date",
            tenant["id"],
        )
        found = {(m, c): (calls, bytes_in, bytes_out) for m, c, calls, bytes_in, bytes_out in rows}
        return (
            found if (route.module, "2xx") in found and (refused.module, "4xx") in found else None
        )

    found = wait_for(usage, timeout=15, what="usage rows")
    calls, bytes_in, bytes_out = found[(route.module, "2xx")]
    assert calls >= 4
    assert bytes_in == 2 * size
    assert bytes_out >= size
    assert found[(refused.module, "4xx")][0] >= 1


def test_an_unreachable_module_is_502_and_a_slow_one_504(
    gateway: GatewayProcess, routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    tenant = make_tenant()["tenant"]
    down = routes(tenant, upstream_url=f"http://127.0.0.1:{free_port()}")
    slow = routes(tenant, timeout_s=0.5)
    headers = bearer(systems_token(tenant))
    eventually(
        lambda: httpx.get(f"{gateway.url}{down.path}/x", headers=headers, timeout=10),
        502,
        "the unreachable module",
        code="upstream-unreachable",
    )
    eventually(
        lambda: httpx.get(f"{gateway.url}{slow.path}/sleep?s=5", headers=headers, timeout=10),
        504,
        "the slow module",
        code="upstream-timeout",
    )
