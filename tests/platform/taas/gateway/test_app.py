"""The gateway end to end: real tenants and Keycloak tokens, a real upstream, gateway processes.

Routes are made by inserting rows (vendor, plugin version, subscription) for tenants
provisioned through the API; the gateway picks them up through LISTEN/NOTIFY. What is
checked here needs the whole gateway: shared rate limits, Redis down, routes changing under
calls in flight, traces, and the resync after a lost database connection."""

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
import redis

from conftest import SPANS
from gateway_support import (
    GatewayProcess,
    MakeTenant,
    RouteMaker,
    bearer,
    eventually,
    free_port,
    problem_code,
    sql,
)
from support import systems_token, wait_for
from taas.gateway.limits import month_of, rate_key


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
