"""The gateway end to end: real tenants and Keycloak tokens, a real upstream, gateway processes.

Routes are made by inserting rows (vendor, plugin version, subscription) for tenants
provisioned through the API; the gateway picks them up through LISTEN/NOTIFY.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jwt
import redis

from conftest import SPANS
from gateway_support import GatewayProcess, RouteMaker, free_port, sql
from support import systems_token, wait_for
from taas.gateway.limits import month_of, rate_key
from taas.kit import signing

MakeTenant = Callable[..., dict[str, Any]]
PROBLEM = "application/problem+json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def eventually(
    request: Callable[[], httpx.Response], status: int, what: str, code: str | None = None
) -> httpx.Response:
    """Repeat ``request`` until it answers ``status`` (and problem ``code``): routes change
    asynchronously, within a second, and the test must not depend on exactly when."""

    def attempt() -> httpx.Response | None:
        response = request()
        if response.status_code != status:
            return None
        if code is not None and problem_code(response) != code:
            return None
        return response

    result: httpx.Response = wait_for(attempt, timeout=15, what=what)
    return result


def problem_code(response: httpx.Response) -> str:
    assert response.headers["content-type"] == PROBLEM, response.text
    body = response.json()
    assert {"type", "title", "status", "detail", "hint", "request_id"} <= body.keys(), body
    assert body["status"] == response.status_code
    assert body["hint"]
    return str(body["type"]).removeprefix("urn:taas:problem:")


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


def test_missing_malformed_and_foreign_tokens_are_401(
    gateway: GatewayProcess, control_plane: Any
) -> None:
    forged = jwt.encode(
        {
            "iss": f"{control_plane.keycloak_url}/realms/taas-banks",
            "sub": "x",
            "taas_tenant": "somebank",
            "exp": int(time.time()) + 300,
            "iat": int(time.time()),
        },
        _private_key_pem(),
        algorithm="RS256",
        headers={"kid": "not-a-keycloak-key"},
    )
    platform_token = control_plane.token("test-operator")  # valid, but not a bank's
    url = f"{gateway.url}/t/somebank/risk/score"
    cases = {
        "missing-token": {},
        "invalid-token": {"Authorization": "Bearer garbage"},
    }
    for expected, headers in cases.items():
        response = httpx.get(url, headers=headers, timeout=10)
        assert response.status_code == 401, response.text
        assert problem_code(response) == expected
    for token in (forged, platform_token):
        response = httpx.get(url, headers=bearer(token), timeout=10)
        assert response.status_code == 401, response.text
        assert problem_code(response) == "invalid-token"
    assert httpx.get(f"{gateway.url}/elsewhere", timeout=10).status_code == 404


def test_a_token_of_another_bank_is_403_and_a_silo_bank_uses_its_own_realm(
    gateway: GatewayProcess, routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    pool = make_tenant()["tenant"]
    silo = make_tenant(tier="silo")["tenant"]
    pool_route = routes(pool)
    silo_route = routes(silo)
    pool_token, silo_token = systems_token(pool), systems_token(silo)
    assert jwt.decode(silo_token, options={"verify_signature": False})["iss"].endswith(
        f"/realms/bank-{silo['slug']}"
    )
    response = eventually(
        lambda: httpx.get(f"{gateway.url}{silo_route.path}/x", headers=bearer(silo_token)),
        200,
        "the silo bank's route",
    )
    assert response.json()["headers"]["x-taas-tenant"] == silo["slug"]
    eventually(
        lambda: httpx.get(f"{gateway.url}{pool_route.path}/x", headers=bearer(pool_token)),
        200,
        "the pool bank's route",
    )
    for path, token in (
        (silo_route.path, pool_token),
        (pool_route.path, silo_token),
        (f"/t/nosuchbank/{pool_route.module}", pool_token),  # valid token: 403, not 404
    ):
        response = httpx.get(f"{gateway.url}{path}/x", headers=bearer(token), timeout=10)
        assert response.status_code == 403, (path, response.text)
        assert problem_code(response) == "wrong-tenant"
    response = httpx.get(
        f"{gateway.url}/t/nosuchbank/{pool_route.module}/x", headers=bearer("garbage")
    )
    assert response.status_code == 401  # cannot be checked: does not reveal which banks exist


def test_unknown_modules_are_404_and_missing_subscriptions_or_scopes_403(
    gateway: GatewayProcess, routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    tenant = make_tenant()["tenant"]
    token = systems_token(tenant)
    granted = routes(tenant, scopes=["profile"])
    not_subscribed = routes(tenant, subscribe=False)
    needs_more = routes(tenant, scopes=["profile", "loans:write"])

    def get(path: str) -> httpx.Response:
        return httpx.get(f"{gateway.url}{path}/x", headers=bearer(token), timeout=10)

    eventually(lambda: get(granted.path), 200, "the granted route")
    eventually(lambda: get(not_subscribed.path), 403, "not subscribed", code="not-subscribed")
    response = eventually(
        lambda: get(needs_more.path), 403, "missing scopes", code="missing-scopes"
    )
    assert response.json()["missing_scopes"] == ["loans:write"]
    response = get(f"/t/{tenant['slug']}/nosuchmodule")
    assert response.status_code == 404
    assert problem_code(response) == "unknown-module"


def test_revoking_a_version_and_suspending_a_bank_take_effect_without_restart(
    gateway: GatewayProcess, routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    tenant = make_tenant()["tenant"]
    route = routes(tenant)
    token = systems_token(tenant)

    def get() -> httpx.Response:
        return httpx.get(f"{gateway.url}{route.path}/x", headers=bearer(token), timeout=10)

    eventually(get, 200, "the route")
    sql("UPDATE plugin_versions SET status = 'revoked' WHERE id = %s", route.version_id)
    eventually(get, 503, "the kill switch", code="version-withdrawn")
    sql("UPDATE plugin_versions SET status = 'published' WHERE id = %s", route.version_id)
    eventually(get, 200, "the version back")
    sql("UPDATE tenants SET status = 'suspended' WHERE id = %s", tenant["id"])
    try:
        eventually(get, 503, "the suspension", code="tenant-suspended")
    finally:
        sql("UPDATE tenants SET status = 'active' WHERE id = %s", tenant["id"])
    eventually(get, 200, "the bank resumed")


def test_rate_limits_are_shared_by_two_gateways_and_quotas_refuse_until_next_month(
    gateway: GatewayProcess,
    gateway_factory: Callable[..., GatewayProcess],
    routes: RouteMaker,
    make_tenant: MakeTenant,
) -> None:
    second = gateway_factory()
    tenant = make_tenant()["tenant"]
    limited = routes(tenant, rate_limit_rps=5)
    quota = routes(tenant, monthly_quota=3)
    headers = bearer(systems_token(tenant))
    for each in (gateway, second):
        eventually(
            lambda g=each: httpx.get(f"{g.url}{limited.path}/x", headers=headers),
            200,
            f"the route on gateway {each.port}",
        )
    # Forget the calls made while waiting, so the burst below starts from a full bucket.
    counters = redis.Redis.from_url(os.environ["TAAS_REDIS_URL"])
    counters.delete(rate_key(str(limited.subscription_id)))
    counters.close()

    outcomes: list[tuple[int, int, httpx.Response]] = []
    with httpx.Client(timeout=10) as one, httpx.Client(timeout=10) as two:
        started = time.monotonic()
        for n in range(20):
            client, which = (one, gateway) if n % 2 == 0 else (two, second)
            response = client.get(f"{which.url}{limited.path}/x", headers=headers)
            outcomes.append((n % 2, response.status_code, response))
        elapsed = time.monotonic() - started
    statuses = [status for _, status, _ in outcomes]
    assert set(statuses) <= {200, 429}, statuses
    allowed = statuses.count(200)
    # A burst of 5, then one call per 0.2 s: what elapsed during the burst adds a few.
    assert 5 <= allowed <= 5 + int(elapsed * 5) + 1, (allowed, elapsed)
    refused = [(side, response) for side, status, response in outcomes if status == 429]
    assert {side for side, _ in refused} == {0, 1}  # both gateways refused: one shared count
    for _, response in refused:
        assert int(response.headers["retry-after"]) >= 1
        assert problem_code(response) == "subscription-rate-limited"

    # The quota: the first success (while waiting for the route) counts as the first call.
    eventually(lambda: httpx.get(f"{gateway.url}{quota.path}/x", headers=headers), 200, "quota")
    for _ in range(2):
        assert httpx.get(f"{second.url}{quota.path}/x", headers=headers).status_code == 200
    response = httpx.get(f"{gateway.url}{quota.path}/x", headers=headers)
    assert response.status_code == 429
    assert problem_code(response) == "monthly-quota-exceeded"
    to_next_month = month_of(time.time()).ends_at - time.time()
    assert abs(int(response.headers["retry-after"]) - to_next_month) < 60


def test_without_redis_calls_are_refused_with_503(
    gateway_factory: Callable[..., GatewayProcess], routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    blind = gateway_factory(TAAS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    tenant = make_tenant()["tenant"]
    route = routes(tenant)
    headers = bearer(systems_token(tenant))
    eventually(
        lambda: httpx.get(f"{blind.url}{route.path}/x", headers=headers, timeout=10),
        503,
        "the refusal",
        code="limiter-unavailable",
    )


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


def test_calls_in_flight_succeed_while_routes_keep_changing(
    gateway: GatewayProcess, routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    tenant = make_tenant(quotas={"requests_per_second": 10000})["tenant"]
    route = routes(tenant)
    headers = bearer(systems_token(tenant))
    eventually(lambda: httpx.get(f"{gateway.url}{route.path}/x", headers=headers), 200, "route")
    before = gateway.generation()
    done = threading.Event()
    changes = 0

    def churn() -> None:
        nonlocal changes
        deadline = time.monotonic() + 30
        while not done.is_set() and changes < 200 and time.monotonic() < deadline:
            sql(
                "UPDATE subscriptions SET rate_limit_rps = 1000 + (rate_limit_rps + 1) %% 7"
                " WHERE id = %s",
                route.subscription_id,
            )
            changes += 1
            time.sleep(0.02)

    changer = threading.Thread(target=churn)
    changer.start()
    try:
        with httpx.Client(timeout=20) as client, ThreadPoolExecutor(16) as pool:
            statuses = list(
                pool.map(
                    lambda _: (
                        client.get(
                            f"{gateway.url}{route.path}/sleep?s=0.05", headers=headers
                        ).status_code
                    ),
                    range(200),
                )
            )
    finally:
        done.set()
        changer.join(timeout=30)
    assert statuses == [200] * 200
    assert changes >= 2
    assert gateway.generation() > before + 1  # the table really was swapped under the calls


def test_the_trace_continues_from_caller_through_gateway_to_module(
    gateway: GatewayProcess, routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    tenant = make_tenant()["tenant"]
    route = routes(tenant)
    headers = bearer(systems_token(tenant))
    eventually(lambda: httpx.get(f"{gateway.url}{route.path}/x", headers=headers), 200, "route")
    trace_id, caller_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    response = httpx.get(
        f"{gateway.url}{route.path}/traced",
        headers={**headers, "traceparent": f"00-{trace_id}-{caller_span}-01"},
        timeout=10,
    )
    assert response.status_code == 200
    _, received_trace, gateway_span, _ = response.json()["headers"]["traceparent"].split("-")
    assert received_trace == trace_id
    assert gateway_span != caller_span

    def gateway_spans() -> list[dict[str, Any]]:
        spans = [json.loads(line) for line in SPANS.read_text().splitlines() if line.strip()]
        return [s for s in spans if s["trace_id"] == trace_id]

    [span] = wait_for(gateway_spans, timeout=10, what="the gateway's span")
    assert span["name"] == f"gateway {route.module}"
    assert span["service"] == "taas-gateway"
    assert span["span_id"] == gateway_span
    assert span["parent_id"] == caller_span
    assert span["attributes"]["tenant.id"] == tenant["id"]
    assert span["attributes"]["module"] == route.module
    assert span["attributes"]["plugin.version"] == "1.0.0"
    assert span["attributes"]["http.response.status_code"] == 200


def test_the_gateway_resyncs_after_losing_its_database_connection(
    gateway: GatewayProcess, routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    tenant = make_tenant()["tenant"]
    headers = bearer(systems_token(tenant))
    killed = sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'taas-gateway-routes' AND datname = current_database()"
    )
    assert killed
    route = routes(tenant)  # made while the gateways reconnect
    eventually(
        lambda: httpx.get(f"{gateway.url}{route.path}/x", headers=headers),
        200,
        "the route after the reconnect",
    )
    wait_for(
        lambda: httpx.get(f"{gateway.url}/_gateway/routes/version").json()["listening"],
        timeout=15,
        what="the gateway to listen again",
    )


def _private_key_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_only_access_tokens_of_the_banks_systems_client_reach_a_module(
    gateway: GatewayProcess, routes: RouteMaker, make_tenant: MakeTenant
) -> None:
    """An ID token, and an access token of another client of the bank's realm (the console
    its admins log in with), are refused with 401 before any routing."""
    from support import spec_of_json
    from taas.integrations.systems import systems

    tenant = make_tenant(tier="pool")["tenant"]
    route = routes(tenant)
    url = f"{gateway.url}{route.path}/x"
    eventually(
        lambda: httpx.get(url, headers=bearer(systems_token(tenant)), timeout=10), 200, "route"
    )

    spec = spec_of_json(tenant)
    identity = systems().identity
    realm = identity.realm_of(spec)
    admin = identity.admin(realm)
    password = "Bank-admin-1-" + uuid.uuid4().hex[:8]
    admin.set_user_password(admin.get_user_id(spec.admin_username), password, temporary=False)
    login = httpx.post(
        f"{identity.url}/realms/{realm}/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "taas-console",
            "username": spec.admin_username,
            "password": password,
            "scope": "openid organization",
        },
        timeout=15,
    ).json()
    id_token = jwt.decode(login["id_token"], options={"verify_signature": False})
    assert id_token["typ"] == "ID"
    assert tenant["slug"] in str(id_token.get("organization"))
    refused = httpx.get(url, headers=bearer(login["id_token"]), timeout=10)
    assert refused.status_code == 401
    assert problem_code(refused) == "wrong-token-type"
    console = httpx.get(url, headers=bearer(login["access_token"]), timeout=10)
    assert console.status_code == 401
    assert problem_code(console) == "wrong-client"
