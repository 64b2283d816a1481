"""The route table: an immutable snapshot of the gateway views, kept current by LISTEN/NOTIFY.

At start (and after every reconnect) the table loads ``gateway_tenants``,
``gateway_routes`` and ``gateway_modules`` in one read-only transaction. After that each
change arrives as a notification on ``taas_routes`` that names what changed (a
subscription, a tenant, a plugin version or a vendor, see migration 0004); the table
re-reads only those rows and swaps in a new snapshot built from the old one plus the
changes, so the cost of a change does not grow with the table. A burst of notifications is
applied together, in one read; a burst naming more than ``MAX_INCREMENTAL`` things, or a
notification the table does not understand, makes it reload everything instead. A call in
flight keeps the snapshot it started with.

``sync <token>`` notifications are barriers: once the table has applied everything before
one, it reports the token (``synced``), so a test or an operator can tell that a change
committed earlier is now routed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from taas.gateway.background import cancel
from taas.kit.db import scoped_sql
from taas.kit.signing import signer

log = logging.getLogger("taas.gateway.routes")

CHANNEL = "taas_routes"
LIVE_VERSIONS = frozenset({"published", "deprecated"})
_IDLE_CHECK_S = 30.0  # with no notification for this long, check that the connection lives
_BACKOFF_MAX_S = 5.0
MAX_INCREMENTAL = 500  # a burst naming more things than this is applied by a full reload


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
    plugin_version_id: str = ""
    vendor_id: str = ""

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
        *more,
    ) = row
    storage, plugin_version_id, vendor_id = (*more, None, None, None)[:3]
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
        storage=frozenset(str(access) for access in storage or ()),
        plugin_version_id="" if plugin_version_id is None else str(plugin_version_id),
        vendor_id="" if vendor_id is None else str(vendor_id),
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


@dataclass(slots=True)
class Changes:
    """What a burst of notifications says changed."""

    full: bool = False
    subscriptions: set[str] = field(default_factory=set)
    tenants: set[str] = field(default_factory=set)
    subscription_tenants: set[str] = field(default_factory=set)  # re-read, nothing dropped
    versions: set[str] = field(default_factory=set)
    vendors: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)
    synced: str | None = None

    @property
    def size(self) -> int:
        return len(self.subscriptions) + len(self.tenants) + len(self.versions) + len(self.vendors)

    @property
    def empty(self) -> bool:
        return not self.full and self.size == 0 and not self.modules

    def add(self, payload: str) -> None:
        """Read one notification; one this table does not understand means "reload all"."""
        kind, _, rest = payload.partition(" ")
        parts = rest.split()
        if kind == "subscription" and len(parts) == 3:
            self.subscriptions.add(parts[0])
            self.subscription_tenants.add(parts[1])
            self.modules.add(parts[2])
        elif kind == "tenant" and len(parts) == 1:
            self.tenants.add(parts[0])
        elif kind == "version" and len(parts) == 2:
            self.versions.add(parts[0])
            self.modules.add(parts[1])
        elif kind == "vendor" and len(parts) == 1:
            self.vendors.add(parts[0])
        elif kind == "sync" and len(parts) == 1:
            self.synced = parts[0]
        else:
            self.full = True


def parse_changes(payloads: list[str], limit: int) -> Changes:
    """The changes of a burst; more than ``limit`` named things make it a full reload."""
    changes = Changes()
    for payload in payloads:
        changes.add(payload)
    if changes.size > limit:
        changes.full = True
    return changes


def apply_changes(
    snapshot: Snapshot,
    changes: Changes,
    *,
    tenant_rows: list[tuple[Any, ...]],
    route_rows: list[tuple[Any, ...]],
    module_rows: list[tuple[Any, ...]],
    generation: int,
) -> Snapshot:
    """A new snapshot: ``snapshot`` with the changed things replaced by their rows re-read.

    Everything ``changes`` names is first dropped (a thing gone from the views has no row
    to re-read), then the re-read rows are put in.
    """
    tenants = dict(snapshot.tenants)
    if changes.tenants:
        for slug in [s for s, t in tenants.items() if t.id in changes.tenants]:
            del tenants[slug]
    for tenant in map(tenant_of_row, tenant_rows):
        tenants[tenant.slug] = tenant
    routes = dict(snapshot.routes)
    if changes.size:
        gone = [
            key
            for key, route in routes.items()
            if route.subscription_id in changes.subscriptions
            or route.tenant_id in changes.tenants
            or route.plugin_version_id in changes.versions
            or route.vendor_id in changes.vendors
        ]
        for key in gone:
            del routes[key]
    for route in map(route_of_row, route_rows):
        routes[(route.tenant, route.module)] = route
    modules = (snapshot.modules - changes.modules) | {str(row[0]) for row in module_rows}
    return Snapshot(
        tenants=tenants,
        routes=routes,
        modules=frozenset(modules),
        generation=generation,
        loaded_at=time.time(),
    )


TENANTS_SQL = "SELECT id, slug, tier, status, rate_limit_rps FROM gateway_tenants"
ROUTES_SQL = (
    "SELECT tenant, tenant_id, subscription_id, module, rate_limit_rps, monthly_quota,"
    " upstream_url, version, version_status, scopes, timeout_s, vendor, signing_secret,"
    " storage, plugin_version_id, vendor_id FROM gateway_routes"
)
MODULES_SQL = "SELECT module FROM gateway_modules"
# One query per kind of change, each on an indexed column (an OR across them would not be).
_ROUTES_BY = {
    "subscriptions": ROUTES_SQL + " WHERE subscription_id = ANY(%s::uuid[])",
    "tenants": scoped_sql(ROUTES_SQL, many=True),
    "versions": ROUTES_SQL + " WHERE plugin_version_id = ANY(%s::uuid[])",
    "vendors": ROUTES_SQL + " WHERE vendor_id = ANY(%s::uuid[])",
}


def psycopg_dsn(database_url: str) -> str:
    """``database_url`` as libpq wants it (no SQLAlchemy driver suffix)."""
    scheme, rest = database_url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


class RouteTable:
    """Holds the current snapshot and keeps it up to date in a background task."""

    def __init__(
        self,
        database_url: str,
        *,
        coalesce_s: float = 0.01,
        max_incremental: int = MAX_INCREMENTAL,
    ) -> None:
        self.dsn = psycopg_dsn(database_url)
        self.coalesce_s = coalesce_s
        self.max_incremental = max_incremental
        self.snapshot = EMPTY
        self.listening = False
        self.synced: str | None = None
        self.full_reloads = 0
        self.incremental_updates = 0
        self._generation = 0
        self._task: asyncio.Task[None] | None = None

    async def _load(self, conn: psycopg.AsyncConnection[Any]) -> None:
        async with conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            tenants = await (await conn.execute(TENANTS_SQL)).fetchall()
            routes = await (await conn.execute(ROUTES_SQL)).fetchall()
            modules = await (await conn.execute(MODULES_SQL)).fetchall()
        self._generation += 1
        self.full_reloads += 1
        self.snapshot = build_snapshot(tenants, routes, modules, self._generation)

    async def _apply(self, conn: psycopg.AsyncConnection[Any], changes: Changes) -> None:
        """Re-read what ``changes`` names, in one read-only transaction, and swap."""
        tenants: list[tuple[Any, ...]] = []
        routes: list[tuple[Any, ...]] = []
        modules: list[tuple[Any, ...]] = []
        async with conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            tenant_ids = changes.tenants | changes.subscription_tenants
            if tenant_ids:
                query = TENANTS_SQL + " WHERE id = ANY(%s::uuid[])"
                tenants = await (await conn.execute(query, [sorted(tenant_ids)])).fetchall()
            seen: set[Any] = set()
            for kind, query in _ROUTES_BY.items():
                ids: set[str] = getattr(changes, kind)
                if ids:
                    for row in await (await conn.execute(query, [sorted(ids)])).fetchall():
                        if row[2] not in seen:  # a route named twice is read twice
                            seen.add(row[2])
                            routes.append(row)
            if changes.modules:
                query = MODULES_SQL + " WHERE module = ANY(%s::text[])"
                modules = await (await conn.execute(query, [sorted(changes.modules)])).fetchall()
        self._generation += 1
        self.incremental_updates += 1
        self.snapshot = apply_changes(
            self.snapshot,
            changes,
            tenant_rows=tenants,
            route_rows=routes,
            module_rows=modules,
            generation=self._generation,
        )

    async def _follow(self) -> None:
        """One connection's life: LISTEN, load everything, then apply each burst."""
        async with await psycopg.AsyncConnection.connect(
            self.dsn, autocommit=True, application_name="taas-gateway-routes"
        ) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            await self._load(conn)  # after LISTEN: no change can fall in between
            self.listening = True
            log.info("route table loaded (generation %d)", self._generation)
            while True:
                payloads: list[str] = []
                async for notify in conn.notifies(timeout=_IDLE_CHECK_S, stop_after=1):
                    payloads.append(notify.payload)
                if not payloads:
                    await conn.execute("SELECT 1")
                    continue
                if self.coalesce_s:
                    await asyncio.sleep(self.coalesce_s)
                async for notify in conn.notifies(timeout=0):
                    payloads.append(notify.payload)  # the rest of the burst, applied together
                changes = parse_changes(payloads, self.max_incremental)
                if changes.full:
                    await self._load(conn)
                elif not changes.empty:
                    await self._apply(conn, changes)
                if changes.synced is not None:
                    self.synced = changes.synced

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
        await cancel(self._task)
        self._task = None
