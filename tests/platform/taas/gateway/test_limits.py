"""Rate limits and quotas in Redis (the Lua script run against the stack's Redis)."""

from __future__ import annotations

import asyncio
import calendar
import os
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from taas.gateway.errors import Rejection
from taas.gateway.limits import RateLimiter, month_of
from taas.gateway.routes import Route, Tenant


def test_the_month_ends_at_the_first_of_the_next_month_utc() -> None:
    june = month_of(calendar.timegm((2026, 6, 30, 23, 59, 59)))
    assert june.key == "202606"
    assert june.ends_at == calendar.timegm((2026, 7, 1, 0, 0, 0))
    december = month_of(calendar.timegm((2026, 12, 15, 0, 0, 0)))
    assert december.key == "202612"
    assert december.ends_at == calendar.timegm((2027, 1, 1, 0, 0, 0))


def tenant(rps: int | None) -> Tenant:
    return Tenant(id=str(uuid.uuid4()), slug="t", tier="pool", status="active", rate_limit_rps=rps)


def route(rps: int, quota: int | None = None) -> Route:
    return Route(
        tenant="t",
        tenant_id=str(uuid.uuid4()),
        subscription_id=str(uuid.uuid4()),
        module="m",
        rate_limit_rps=rps,
        monthly_quota=quota,
        upstream_url="http://x",
        version="1",
        version_status="published",
        scopes=frozenset(),
        timeout_s=1,
        vendor="v",
        sign=lambda text: text,
    )


async def outcomes(bank: Tenant, module: Route, calls: int, url: str | None = None) -> list[Any]:
    """``None`` for each allowed call, the Rejection for each refused one."""
    redis = Redis.from_url(url or os.environ["TAAS_REDIS_URL"], socket_timeout=0.5)
    limiter = RateLimiter(redis, prefix=f"test:{uuid.uuid4().hex}")
    results: list[Any] = []
    try:
        await limiter.load()
        for _ in range(calls):
            try:
                await limiter.check(bank, module)
                results.append(None)
            except Rejection as rejection:
                results.append(rejection)
    finally:
        await redis.aclose()
    return results


def test_a_burst_of_the_rate_is_allowed_then_calls_wait(stack: Any) -> None:
    results = asyncio.run(outcomes(tenant(None), route(rps=5), 8))
    allowed = results.count(None)
    assert 5 <= allowed <= 6  # one more if a fifth of a second passed during the burst
    refused = [r for r in results if r is not None]
    assert refused
    assert {r.status for r in refused} == {429}
    assert {r.code for r in refused} == {"subscription-rate-limited"}
    assert all(r.retry_after == 1 for r in refused)


def test_the_tenant_rate_applies_across_its_modules(stack: Any) -> None:
    results = asyncio.run(outcomes(tenant(3), route(rps=100), 6))
    assert 3 <= results.count(None) <= 4
    assert {r.code for r in results if r is not None} == {"tenant-rate-limited"}


def test_the_monthly_quota_refuses_until_next_month(stack: Any) -> None:
    results = asyncio.run(outcomes(tenant(None), route(rps=100, quota=2), 4))
    assert results[:2] == [None, None]
    for refused in results[2:]:
        assert refused.code == "monthly-quota-exceeded"
        assert 1 <= refused.retry_after <= 31 * 86400


def test_without_redis_calls_are_refused_with_503() -> None:
    with_no_redis = "redis://127.0.0.1:1/0"

    async def run() -> Rejection:
        redis = Redis.from_url(with_no_redis, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            with pytest.raises(Rejection) as refused:
                await RateLimiter(redis).check(tenant(None), route(rps=5))
        finally:
            await redis.aclose()
        return refused.value

    refused = asyncio.run(run())
    assert refused.status == 503
    assert refused.code == "limiter-unavailable"
    assert "retry" in refused.hint


def test_concurrent_checks_share_a_pipeline_and_count_exactly(stack: Any) -> None:
    async def run() -> list[Any]:
        redis = Redis.from_url(os.environ["TAAS_REDIS_URL"], socket_timeout=0.5)
        limiter = RateLimiter(redis, prefix=f"test:{uuid.uuid4().hex}")
        bank, module = tenant(None), route(rps=100, quota=7)

        async def one() -> Any:
            try:
                await limiter.check(bank, module)
            except Rejection as rejection:
                return rejection
            return None

        try:
            await limiter.load()
            return await asyncio.gather(*(one() for _ in range(12)))
        finally:
            await redis.aclose()

    results = asyncio.run(run())
    assert results.count(None) == 7
    assert {r.code for r in results if r is not None} == {"monthly-quota-exceeded"}


def test_a_script_redis_does_not_know_is_loaded_on_first_use(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As after a Redis restart: the first calls find no script, load it and go through."""
    from taas.gateway import limits

    monkeypatch.setattr(limits, "SCRIPT", f"{limits.SCRIPT}-- {uuid.uuid4().hex}\n")

    async def run() -> tuple[list[Any], Rejection]:
        redis = Redis.from_url(os.environ["TAAS_REDIS_URL"], socket_timeout=0.5)
        limiter = RateLimiter(redis, prefix=f"test:{uuid.uuid4().hex}")  # load() not called
        bank, module = tenant(None), route(rps=100, quota=3)
        try:
            first = await asyncio.gather(
                *(limiter.check(bank, module) for _ in range(3)), return_exceptions=True
            )
            with pytest.raises(Rejection) as fourth:
                await limiter.check(bank, module)
        finally:
            await redis.aclose()
        return first, fourth.value

    first, fourth = asyncio.run(run())
    assert first == [None, None, None]
    assert fourth.code == "monthly-quota-exceeded"  # each call was counted once
