"""Rate limits and monthly quotas, shared by every gateway through Redis, one round trip a call.

Rates use GCRA (the generic cell rate algorithm): a limit of ``r`` per second lets a
burst of ``r`` calls through at once, then one call every ``1/r`` seconds; Redis keeps one
number per limit (the theoretical arrival time) and its own clock (``TIME``) decides, so
gateways on hosts with skewed clocks agree. The monthly quota is a counter per
subscription and calendar month (UTC). A Lua script (run by its SHA, EVALSHA) checks the
tenant rate, the subscription rate and the quota together and counts the call against all
three only when all allow it: a refused call uses up nothing.

When Redis cannot be reached the call is refused with 503 (fail closed): calls are billed
and quotas are contracts, so the gateway does not let through calls it cannot count.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from taas.gateway.errors import Rejection
from taas.gateway.routes import Route, Tenant

# KEYS: tenant rate, subscription rate, month counter.
# ARGV: tenant rps, subscription rps (0 = no limit), quota (-1 = none), seconds to month end.
# Returns {0, 0} when allowed, else {reason, wait in ms}: 1 tenant rate, 2 subscription
# rate, 3 monthly quota.
SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function gcra(key, rate)
  if rate <= 0 then return nil, 0 end
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local new_tat = tat + 1000000 / rate
  local wait = new_tat - now - 1000000
  if wait > 0 then return nil, wait end
  return new_tat, 0
end
local tenant_tat, tenant_wait = gcra(KEYS[1], tonumber(ARGV[1]))
if tenant_wait > 0 then return {1, math.ceil(tenant_wait / 1000)} end
local sub_tat, sub_wait = gcra(KEYS[2], tonumber(ARGV[2]))
if sub_wait > 0 then return {2, math.ceil(sub_wait / 1000)} end
local quota = tonumber(ARGV[3])
if quota >= 0 and (tonumber(redis.call('GET', KEYS[3])) or 0) >= quota then
  return {3, tonumber(ARGV[4]) * 1000}
end
if tenant_tat then
  redis.call('SET', KEYS[1], string.format('%.0f', tenant_tat),
             'PX', math.ceil((tenant_tat - now) / 1000) + 1000)
end
if sub_tat then
  redis.call('SET', KEYS[2], string.format('%.0f', sub_tat),
             'PX', math.ceil((sub_tat - now) / 1000) + 1000)
end
if redis.call('INCR', KEYS[3]) == 1 then
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]) + 40 * 86400)
end
return {0, 0}
"""

_REASONS = {
    1: ("tenant-rate-limited", "the bank's rate limit of {rps} calls per second is reached"),
    2: (
        "subscription-rate-limited",
        "the rate limit of {rps} calls per second for this module is reached",
    ),
    3: ("monthly-quota-exceeded", "this month's quota of {quota} calls to this module is used up"),
}


PREFIX = "taas:gw"


def tenant_rate_key(tenant_id: str, prefix: str = PREFIX) -> str:
    """Redis key of a tenant's rate (its theoretical arrival time)."""
    return f"{prefix}:rate:tenant:{tenant_id}"


def rate_key(subscription_id: str, prefix: str = PREFIX) -> str:
    """Redis key of a subscription's rate."""
    return f"{prefix}:rate:sub:{subscription_id}"


def quota_key(subscription_id: str, month: str, prefix: str = PREFIX) -> str:
    """Redis key of a subscription's call count in a month (``YYYYMM``)."""
    return f"{prefix}:calls:{subscription_id}:{month}"


@dataclass(frozen=True, slots=True)
class Month:
    """The calendar month (UTC) a call falls in."""

    key: str
    ends_at: float


def month_of(now: float) -> Month:
    """The UTC calendar month containing the unix time ``now``."""
    moment = time.gmtime(now)
    year, month = (
        (moment.tm_year + 1, 1) if moment.tm_mon == 12 else (moment.tm_year, moment.tm_mon + 1)
    )
    return Month(
        f"{moment.tm_year:04d}{moment.tm_mon:02d}",
        float(calendar.timegm((year, month, 1, 0, 0, 0))),
    )


class RateLimiter:
    """Checks and counts one call against its tenant's and subscription's limits.

    Checks made in the same turn of the event loop go to Redis together in one pipeline:
    each call still costs one round trip (shared with its neighbours), never a wait for a
    batch to fill, and under load the per-call cost of the client drops severalfold.
    """

    def __init__(self, redis: Redis, *, prefix: str = PREFIX, timeout_s: float = 0.5) -> None:
        self.redis = redis
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.sha = hashlib.sha1(SCRIPT.encode()).hexdigest()  # noqa: S324 - how Redis names scripts
        self._month = month_of(time.time())
        self._queue: list[tuple[list[str], list[int], asyncio.Future[Any]]] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def load(self) -> None:
        """Load the script into Redis (calls run it by its SHA; it is reloaded if Redis lost it)."""
        await self.redis.script_load(SCRIPT)

    def _current_month(self, now: float) -> Month:
        if now >= self._month.ends_at:
            self._month = month_of(now)
        return self._month

    async def _evaluate(self, keys: list[str], args: list[int]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._queue:
            loop.call_soon(self._flush)  # after the calls already ready in this turn
        self._queue.append((keys, args, future))
        return await future

    def _flush(self) -> None:
        batch, self._queue = self._queue, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _pipeline(self, batch: list[tuple[list[str], list[int], asyncio.Future[Any]]]) -> Any:
        pipe = self.redis.pipeline(transaction=False)
        for keys, args, _ in batch:
            pipe.evalsha(self.sha, len(keys), *keys, *args)
        return await pipe.execute(raise_on_error=False)

    async def _send(self, batch: list[tuple[list[str], list[int], asyncio.Future[Any]]]) -> None:
        try:
            async with asyncio.timeout(self.timeout_s):
                results = list(await self._pipeline(batch))
                unknown = [
                    i for i, result in enumerate(results) if isinstance(result, NoScriptError)
                ]
                if unknown:  # Redis restarted or its scripts were flushed: load, send those again
                    await self.load()
                    again = await self._pipeline([batch[i] for i in unknown])
                    for index, result in zip(unknown, again, strict=True):
                        results[index] = result
        except (RedisError, OSError, TimeoutError) as exc:
            results = [exc] * len(batch)
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():  # the call was cancelled meanwhile
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def check(self, tenant: Tenant, route: Route) -> None:
        """Count the call, or raise a 429 (limit reached) or 503 (Redis unreachable)."""
        now = time.time()
        month = self._current_month(now)
        to_month_end = max(1, math.ceil(month.ends_at - now))
        prefix = self.prefix
        try:
            reason, wait_ms = await self._evaluate(
                [
                    tenant_rate_key(tenant.id, prefix),
                    rate_key(route.subscription_id, prefix),
                    quota_key(route.subscription_id, month.key, prefix),
                ],
                [
                    tenant.rate_limit_rps or 0,
                    route.rate_limit_rps,
                    -1 if route.monthly_quota is None else route.monthly_quota,
                    to_month_end,
                ],
            )
        except (RedisError, OSError, TimeoutError) as exc:
            raise Rejection(
                503,
                "limiter-unavailable",
                f"calls cannot be counted right now ({type(exc).__name__})",
                hint="retry in a few seconds; the gateway refuses calls it cannot count "
                "against limits and quotas",
            ) from exc
        if reason == 0:
            return
        code, text = _REASONS[int(reason)]
        raise Rejection(
            429,
            code,
            text.format(
                rps=tenant.rate_limit_rps if reason == 1 else route.rate_limit_rps,
                quota=route.monthly_quota,
            ),
            hint="retry after the number of seconds in Retry-After"
            + ("; ask the bank's admin to raise the quota" if reason == 3 else ""),
            retry_after=max(1, math.ceil(int(wait_ms) / 1000)),
        )
