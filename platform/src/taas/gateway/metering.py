"""Usage metering: calls, bytes and latency per day, tenant, module, version, status class
and refusal.

A call the module answered is metered with ``refusal`` empty: that is a billable call. A
call the gateway answered itself after it knew the bank (the token was the bank's) is
metered with ``refusal`` set to the reason (the problem type's last part, for example
``rate-limited``, ``missing-scopes``, ``tenant-suspended``, ``upstream-unreachable``): it
shows in the bank's usage as a refusal and is never billed. Calls refused before the
gateway knew whose they were (no token, a token of another bank, an unknown module) are not
metered for any bank.

Calls are added up in memory and written every ``interval_s`` (and at shutdown) with one
upsert that adds to what other gateways already wrote. A failed write keeps its figures
for the next attempt, so a database outage delays metering but loses nothing (unless the
process dies meanwhile).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

import psycopg

from taas.gateway.background import cancel
from taas.gateway.routes import Route, psycopg_dsn

log = logging.getLogger("taas.gateway.metering")

Key = tuple[dt.date, str, str, str, str, str]
_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")

UPSERT = """
INSERT INTO usage_daily AS u
    (day, tenant_id, module, version, status_class, refusal,
     calls, bytes_in, bytes_out, latency_ms_sum, latency_ms_max)
SELECT * FROM unnest(
    %s::date[], %s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[],
    %s::bigint[], %s::bigint[], %s::bigint[], %s::float8[], %s::float8[])
ON CONFLICT (day, tenant_id, module, version, status_class, refusal) DO UPDATE SET
    calls = u.calls + EXCLUDED.calls,
    bytes_in = u.bytes_in + EXCLUDED.bytes_in,
    bytes_out = u.bytes_out + EXCLUDED.bytes_out,
    latency_ms_sum = u.latency_ms_sum + EXCLUDED.latency_ms_sum,
    latency_ms_max = GREATEST(u.latency_ms_max, EXCLUDED.latency_ms_max)
"""


def status_class(status: int) -> str:
    """``2xx`` for 200..299 and so on."""
    return _CLASSES[min(max(status // 100, 1), 5) - 1]


def merge(into: dict[Key, list[float]], more: dict[Key, list[float]]) -> None:
    """Add the figures of ``more`` to ``into``."""
    for key, (calls, bytes_in, bytes_out, latency_sum, latency_max) in more.items():
        row = into.get(key)
        if row is None:
            into[key] = [calls, bytes_in, bytes_out, latency_sum, latency_max]
        else:
            row[0] += calls
            row[1] += bytes_in
            row[2] += bytes_out
            row[3] += latency_sum
            row[4] = max(row[4], latency_max)


def columns(pending: dict[Key, list[float]]) -> list[list[Any]]:
    """The upsert's eleven arrays, rows sorted by key (concurrent gateways lock rows in order)."""
    keys = sorted(pending)
    rows = [pending[key] for key in keys]
    return [
        [key[0] for key in keys],
        [key[1] for key in keys],
        [key[2] for key in keys],
        [key[3] for key in keys],
        [key[4] for key in keys],
        [key[5] for key in keys],
        [int(row[0]) for row in rows],
        [int(row[1]) for row in rows],
        [int(row[2]) for row in rows],
        [row[3] for row in rows],
        [row[4] for row in rows],
    ]


class Meter:
    """Adds up calls in memory and flushes them to ``usage_daily`` in the background."""

    def __init__(self, database_url: str, *, interval_s: float = 1.0) -> None:
        self.dsn = psycopg_dsn(database_url)
        self.interval_s = interval_s
        self.pending: dict[Key, list[float]] = {}
        self._day = dt.date(1970, 1, 1)
        self._day_ends_at = 0.0
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._task: asyncio.Task[None] | None = None

    def record(
        self, route: Route, status: int, bytes_in: int, bytes_out: int, latency_ms: float
    ) -> None:
        """Count one call that reached ``route`` and that its module answered (billable)."""
        self._add(
            (route.tenant_id, route.module, route.version, status_class(status), ""),
            bytes_in,
            bytes_out,
            latency_ms,
        )

    def record_refusal(
        self,
        tenant_id: str,
        module: str,
        version: str,
        *,
        status: int,
        reason: str,
        bytes_in: int,
        latency_ms: float,
    ) -> None:
        """Count one call of a known bank that the gateway answered itself (not billable)."""
        self._add(
            (tenant_id, module, version, status_class(status), reason), bytes_in, 0, latency_ms
        )

    def _add(
        self,
        what: tuple[str, str, str, str, str],
        bytes_in: int,
        bytes_out: int,
        latency_ms: float,
    ) -> None:
        now = time.time()
        if now >= self._day_ends_at:
            day = dt.datetime.fromtimestamp(now, dt.UTC).date()
            self._day = day
            self._day_ends_at = dt.datetime.combine(
                day + dt.timedelta(days=1), dt.time(), dt.UTC
            ).timestamp()
        key = (self._day, *what)
        row = self.pending.get(key)
        if row is None:
            self.pending[key] = [1, bytes_in, bytes_out, latency_ms, latency_ms]
        else:
            row[0] += 1
            row[1] += bytes_in
            row[2] += bytes_out
            row[3] += latency_ms
            row[4] = max(row[4], latency_ms)

    async def flush(self) -> None:
        """Write what was counted since the last flush; keep it for later if that fails."""
        if not self.pending:
            return
        batch, self.pending = self.pending, {}
        try:
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, application_name="taas-gateway-metering"
                )
            await self._conn.execute(UPSERT, columns(batch))
        except (psycopg.Error, OSError) as exc:
            log.warning("metering write failed (%s); retrying with the next flush", exc)
            merge(batch, self.pending)
            self.pending = batch
            if self._conn is not None:
                await self._conn.close()
                self._conn = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.flush()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="metering")

    async def stop(self) -> None:
        """Stop the background flushes and write what is left."""
        await cancel(self._task)
        self._task = None
        await self.flush()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
