"""Metering: figures add up in memory and land in usage_daily with one upsert."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from gateway_support import sql
from taas.gateway.metering import Meter, columns, merge, status_class
from taas.gateway.routes import Route


def a_route(tenant_id: str, module: str = "risk") -> Route:
    return Route(
        tenant="rural-7",
        tenant_id=tenant_id,
        subscription_id=str(uuid.uuid4()),
        module=module,
        rate_limit_rps=10,
        monthly_quota=None,
        upstream_url="http://x",
        version="1.0.0",
        version_status="published",
        scopes=frozenset(),
        timeout_s=1.0,
        vendor="acme",
        sign=lambda text: text,
    )


def test_status_classes() -> None:
    assert [status_class(s) for s in (101, 200, 204, 302, 429, 499, 502, 504)] == [
        "1xx",
        "2xx",
        "2xx",
        "3xx",
        "4xx",
        "4xx",
        "5xx",
        "5xx",
    ]


def test_merging_adds_counts_and_keeps_the_largest_latency() -> None:
    day = dt.date(2026, 1, 1)
    key = (day, "t", "m", "1", "2xx", "")
    into = {key: [1.0, 10.0, 20.0, 5.0, 5.0]}
    merge(into, {key: [2.0, 1.0, 2.0, 9.0, 7.0], (day, "t", "m", "1", "5xx", ""): [1, 0, 0, 1, 1]})
    assert into[key] == [3.0, 11.0, 22.0, 14.0, 7.0]
    assert len(into) == 2


def test_upsert_columns_are_sorted_by_key() -> None:
    day = dt.date(2026, 1, 1)
    pending: dict[Any, list[float]] = {
        (day, "t", "m", "1", "5xx", ""): [1, 2, 3, 4.0, 4.0],
        (day, "t", "m", "1", "2xx", ""): [5, 6, 7, 8.0, 8.0],
    }
    cols = columns(pending)
    assert cols[4] == ["2xx", "5xx"]
    assert cols[5] == ["", ""]
    assert cols[6] == [5, 1]


def test_a_meter_writes_and_adds_to_usage_daily(control_plane: Any) -> None:
    tenant_id = str(uuid.uuid4())
    route = a_route(tenant_id)

    async def run() -> None:
        meter = Meter(control_plane.database_url, interval_s=3600)
        meter.record(route, 200, 10, 100, 3.0)
        meter.record(route, 201, 5, 50, 9.0)
        meter.record(route, 503, 0, 80, 1.0)
        await meter.flush()
        meter.record(route, 200, 1, 1, 2.0)
        meter.record_refusal(
            tenant_id,
            "risk",
            "1.0.0",
            status=429,
            reason="rate-limited",
            bytes_in=7,
            latency_ms=0.5,
        )
        meter.record_refusal(
            tenant_id,
            "risk",
            "1.0.0",
            status=429,
            reason="rate-limited",
            bytes_in=0,
            latency_ms=0.5,
        )
        await meter.stop()  # writes the rest

    asyncio.run(run())
    rows = sql(
        "SELECT status_class, refusal, calls, bytes_in, bytes_out, latency_ms_sum,"
        " latency_ms_max FROM usage_daily WHERE tenant_id = %s ORDER BY status_class, refusal",
        tenant_id,
    )
    assert rows == [
        ("2xx", "", 3, 16, 151, 14.0, 9.0),
        ("4xx", "rate-limited", 2, 7, 0, 1.0, 0.5),
        ("5xx", "", 1, 0, 80, 1.0, 1.0),
    ]
    sql("DELETE FROM usage_daily WHERE tenant_id = %s", tenant_id)


def test_a_failed_write_keeps_the_figures_for_the_next_one() -> None:
    route = a_route(str(uuid.uuid4()))

    async def run() -> Meter:
        meter = Meter("postgresql://nobody:x@127.0.0.1:1/none", interval_s=3600)
        meter.record(route, 200, 1, 2, 3.0)
        await meter.flush()
        meter.record(route, 200, 1, 2, 4.0)
        return meter

    meter = asyncio.run(run())
    [row] = meter.pending.values()
    assert row == [2, 2, 4, 7.0, 4.0]
