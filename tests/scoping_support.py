"""The rows ``test_repository_scoping`` walks (importable as ``scoping_support``): two
tenants, each with rows in every scoped table, and how to tell whose a returned row is.

Each tenant has a module of its own (its vendor, version, subscription and metered calls),
so a read that sums or groups rows (usage per module, subscriptions per version) shows
another tenant's rows as a module of that tenant.
"""

from __future__ import annotations

import datetime as dt
import typing
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from taas.audit.repository import AuditRepository
from taas.kit.auth import BANK_ADMIN, Principal
from taas.operations.models import Operation
from taas.operations.states import OperationStatus
from taas.plugins.models import PluginVersion, Vendor
from taas.plugins.states import PluginStatus
from taas.subscriptions.models import Subscription
from taas.subscriptions.repository import SubscriptionRepository
from taas.subscriptions.states import SubscriptionStatus
from taas.tenants.models import Tenant
from taas.tenants.states import TenantStatus
from taas.usage.models import UsageDaily

LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
# The day the tenants' calls are metered on (far from the days other tests meter).
METERED_ON = LONG_AGO.date()


@dataclass
class Rows:
    """What was written for one tenant."""

    tenant: Tenant
    version: PluginVersion
    operations: list[Operation] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)

    @property
    def module(self) -> str:
        """The module only this tenant subscribes to and calls."""
        return self.version.name


@dataclass
class World:
    session: Session
    a: Rows
    b: Rows

    @property
    def both(self) -> list[Rows]:
        return [self.a, self.b]

    def owner(self, row: Any) -> uuid.UUID | None:
        """The tenant a row belongs to: a module's name stands for the tenant that calls
        it (None: a module of neither), and the parts of a tuple must all be one tenant's."""
        if isinstance(row, Tenant):
            return row.id
        if isinstance(row, str):
            return next((rows.tenant.id for rows in self.both if rows.module == row), None)
        if isinstance(row, tuple):
            owners = {self.owner(part) for part in row}
            assert len(owners) == 1, f"a row of several tenants: {row}"
            return owners.pop()
        if hasattr(row, "tenant_id"):
            return typing.cast("uuid.UUID | None", row.tenant_id)
        raise AssertionError(f"teach World.owner() whose a {type(row).__name__} is")


def rows_of(result: Iterable[Any] | Any) -> list[Any]:
    """The rows a walk returned, without the Nones of reads that found nothing."""
    if result is None:
        return []
    if isinstance(result, (list, Iterator)):
        return [row for row in result if row is not None]
    return [result]


def bank(slug: str) -> Principal:
    """An administrator of the bank ``slug``."""
    return Principal(
        subject=f"{slug}-admin",
        username="admin",
        realm=f"bank-{slug}",
        roles=frozenset({BANK_ADMIN}),
        tenant=slug,
    )


def seed(session: Session, slug: str) -> Rows:
    """A tenant with rows in every scoped table (its retention over, so every read finds it)."""
    tenant = Tenant(
        slug=slug,
        display_name=f"Bank {slug}",
        tier="pool",
        region="local",
        quotas={},
        status=TenantStatus.OFFBOARDED,
        purge_after=LONG_AGO,
    )
    session.add(tenant)
    session.flush()
    rows = Rows(tenant, published_module(session, slug))
    for kind in ("provision", "offboard"):
        operation = Operation(
            lane=f"tenant:{tenant.id}",
            tenant_id=tenant.id,
            kind=kind,
            status=OperationStatus.SUCCEEDED,
            requested_by="test",
            params={},
        )
        session.add(operation)
        rows.operations.append(operation)
    audit = AuditRepository(session)
    for action in ("tenant.create", "tenant.offboard"):
        audit.append(actor="test", action=action, outcome="accepted", tenant_id=tenant.id)
    rows.subscriptions.append(subscribe(session, tenant, rows.version))
    for status_class, refusal in (("2xx", ""), ("4xx", ""), ("4xx", "rate-limited")):
        session.add(
            UsageDaily(
                day=METERED_ON,
                tenant_id=tenant.id,
                module=rows.module,
                version=rows.version.version,
                status_class=status_class,
                refusal=refusal,
                calls=3,
                bytes_in=30,
                bytes_out=60,
                latency_ms_sum=4.5,
                latency_ms_max=2.0,
            )
        )
    session.flush()
    return rows


def published_module(session: Session, slug: str) -> PluginVersion:
    """A published version of a module of a vendor, both made for the tenant ``slug``."""
    vendor = Vendor(
        slug=f"v-{slug}",
        display_name=f"Vendor of {slug}",
        contact_email="dev@example.com",
        client_id=f"v-{slug}",
        signing_secret="s",
        status="active",
    )
    session.add(vendor)
    session.flush()
    version = PluginVersion(
        vendor_id=vendor.id,
        name=f"m-{slug}",
        version="1.0.0",
        capability="risk",
        status=PluginStatus.PUBLISHED,
        manifest={},
        submitted_by="test",
        submitted_by_subject="test",
    )
    session.add(version)
    session.flush()
    return version


def subscribe(session: Session, tenant: Tenant, version: PluginVersion) -> Subscription:
    row = Subscription(
        tenant_id=tenant.id,
        module=version.name,
        channel="stable",
        plugin_version_id=version.id,
        upstream_url="http://127.0.0.1:1",
        status=SubscriptionStatus.ACTIVE,
        rate_limit_rps=10,
        requested_by="test",
    )
    assert SubscriptionRepository(session).add(row)
    return row
