"""The route table: an immutable snapshot of the gateway views, kept current by LISTEN/NOTIFY.

The table loads ``gateway_tenants``, ``gateway_routes`` and ``gateway_modules`` in one
read-only transaction and swaps the whole snapshot at once; a call in flight keeps the
snapshot it started with. Triggers send ``NOTIFY taas_routes`` on every change; a burst
of notifications causes one reload. After a lost connection the table reconnects with
backoff and reloads everything (a change made while it was away is not missed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from taas.kit.signing import signer

log = logging.getLogger("taas.gateway.routes")

CHANNEL = "taas_routes"
LIVE_VERSIONS = frozenset({"published", "deprecated"})
_IDLE_CHECK_S = 30.0  # with no notification for this long, check that the connection lives
_BACKOFF_MAX_S = 5.0


@dataclass(frozen=True, slots=True)
class Tenant:
    """A bank as the gateway sees it."""

    id: str
    slug: str
    tier: str
    status: str
    rate_limit_rps: int | None


@dataclass(frozen=True, slots=True)
class Route:
    """Where one tenant's calls to one module go, and the limits that apply."""

    tenant: str
    tenant_id: str
    subscription_id: str
    module: str
    rate_limit_rps: int
    monthly_quota: int | None
    upstream_url: str
    version: str
    version_status: str
    scopes: frozenset[str]
    timeout_s: float
    vendor: str
    sign: Callable[[str], str] = field(repr=False, compare=False)
    storage: frozenset[str] = frozenset()  # "read", "write": the module gets storage grants

    @property
    def live(self) -> bool:
        """False once the version is revoked (the kill switch) or otherwise not servable."""
        return self.version_status in LIVE_VERSIONS


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one call needs to know about tenants and routes, never changed in place."""

    tenants: Mapping[str, Tenant]
    routes: Mapping[tuple[str, str], Route]
    modules: frozenset[str]
    generation: int
    loaded_at: float

    @property
    def ready(self) -> bool:
        return self.generation > 0


EMPTY = Snapshot(tenants={}, routes={}, modules=frozenset(), generation=0, loaded_at=0.0)


def tenant_of_row(row: tuple[Any, ...]) -> Tenant:
    tenant_id, slug, tier, status, rps = row
    return Tenant(
        id=str(tenant_id),
        slug=slug,
        tier=tier,
        status=status,
        rate_limit_rps=None if rps is None else int(rps),
    )


def route_of_row(row: tuple[Any, ...]) -> Route:
    (
        tenant,
        tenant_id,
        subscription_id,
        module,
        rps,
        quota,
        upstream,
        version,
        version_status,
        scopes,
        timeout_s,
        vendor,
        secret,
        *storage,
    ) = row
    return Route(
        tenant=tenant,
        tenant_id=str(tenant_id),
        subscription_id=str(subscription_id),
        module=module,
        rate_limit_rps=int(rps),
        monthly_quota=None if quota is None else int(quota),
        upstream_url=str(upstream).rstrip("/"),
        version=version,
        version_status=version_status,
        scopes=frozenset(str(scope) for scope in scopes or ()),
        timeout_s=float(timeout_s),
        vendor=vendor,
        sign=signer(secret),
        storage=frozenset(str(access) for access in (storage[0] if storage else ()) or ()),
    )


def build_snapshot(
    tenant_rows: list[tuple[Any, ...]],
    route_rows: list[tuple[Any, ...]],
    module_rows: list[tuple[Any, ...]],
    generation: int,
) -> Snapshot:
    """A snapshot from the rows of the three views."""
    tenants = {tenant.slug: tenant for tenant in map(tenant_of_row, tenant_rows)}
    routes = {(route.tenant, route.module): route for route in map(route_of_row, route_rows)}
    return Snapshot(
        tenants=tenants,
        routes=routes,
        modules=frozenset(str(row[0]) for row in module_rows),
        generation=generation,
        loaded_at=time.time(),
    )


TENANTS_SQL = "SELECT id, slug, tier, status, rate_limit_rps FROM gateway_tenants"
ROUTES_SQL = (
    "SELECT tenant, tenant_id, subscription_id, module, rate_limit_rps, monthly_quota,"
    " upstream_url, version, version_status, scopes, timeout_s, vendor, signing_secret,"
    " storage FROM gateway_routes"
)
MODULES_SQL = "SELECT module FROM gateway_modules"


def psycopg_dsn(database_url: str) -> str:
    """``database_url`` as libpq wants it (no SQLAlchemy driver suffix)."""
    scheme, rest = database_url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


class RouteTable:
    """Holds the current snapshot and keeps it up to date in a background task."""

    def __init__(self, database_url: str, *, coalesce_s: float = 0.01) -> None:
        self.dsn = psycopg_dsn(database_url)
        self.coalesce_s = coalesce_s
        self.snapshot = EMPTY
        self.listening = False
        self._generation = 0
        self._task: asyncio.Task[None] | None = None

    async def _load(self, conn: psycopg.AsyncConnection[Any]) -> None:
        async with conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            tenants = await (await conn.execute(TENANTS_SQL)).fetchall()
            routes = await (await conn.execute(ROUTES_SQL)).fetchall()
            modules = await (await conn.execute(MODULES_SQL)).fetchall()
        self._generation += 1
        self.snapshot = build_snapshot(tenants, routes, modules, self._generation)

    async def _follow(self) -> None:
        """One connection's life: LISTEN, load everything, then reload on each burst."""
        async with await psycopg.AsyncConnection.connect(
            self.dsn, autocommit=True, application_name="taas-gateway-routes"
        ) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            await self._load(conn)  # after LISTEN: no change can fall in between
            self.listening = True
            log.info("route table loaded (generation %d)", self._generation)
            while True:
                notified = False
                async for _ in conn.notifies(timeout=_IDLE_CHECK_S, stop_after=1):
                    notified = True
                if not notified:
                    await conn.execute("SELECT 1")
                    continue
                await asyncio.sleep(self.coalesce_s)
                async for _ in conn.notifies(timeout=0):
                    pass  # the rest of the burst: one reload covers it
                await self._load(conn)

    async def run(self) -> None:
        """Follow route changes until cancelled, reconnecting with backoff."""
        delay = 0.1
        while True:
            try:
                await self._follow()
            except Exception as exc:
                if self.listening:
                    delay = 0.1  # it had been working: start the backoff again
                self.listening = False
                log.warning("route table connection lost (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF_MAX_S)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="route-table")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
