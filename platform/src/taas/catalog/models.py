"""Vendors, plugin versions, subscriptions and metered usage."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from taas.catalog.states import PLUGIN_VERSION, SUBSCRIPTION, VENDOR
from taas.kit.db import Base, Timestamped, new_id


class Vendor(Timestamped, Base):
    """A third party that sells plugins; it logs in as its own client in the vendor realm."""

    __tablename__ = "vendors"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320))
    client_id: Mapped[str] = mapped_column(String(100))
    # Key the gateways sign forwarded identity headers with; the vendor's modules verify them.
    signing_secret: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="active")


class PluginVersion(Timestamped, Base):
    """One submitted version of a plugin, its manifest, validation report and review."""

    __tablename__ = "plugin_versions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    vendor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendors.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(64))
    capability: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    manifest: Mapped[dict[str, Any]] = mapped_column()
    validation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    submitted_by: Mapped[str] = mapped_column(String(200))
    submitted_by_subject: Mapped[str] = mapped_column(String(100))
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    review_reason: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status_reason: Mapped[str | None] = mapped_column(Text)
    # While suspended: the status ``resume`` returns to (published or deprecated).
    suspended_from: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (UniqueConstraint("name", "version"),)


class Subscription(Timestamped, Base):
    """A tenant's use of a module: which version it is on, its limits and its state."""

    __tablename__ = "subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    module: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(16))
    pinned_version: Mapped[str | None] = mapped_column(String(64))
    plugin_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plugin_versions.id"))
    # Where the gateways send this tenant's calls (the plugin's URL, or its in-cluster Service).
    upstream_url: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    rate_limit_rps: Mapped[int] = mapped_column(Integer)
    monthly_quota: Mapped[int | None] = mapped_column(BigInteger)
    requested_by: Mapped[str] = mapped_column(String(200))
    # What the platform last did to this subscription on its own (a revoked version moved,
    # a suspended version): shown to the bank in GET subscriptions.
    notice: Mapped[str | None] = mapped_column(Text)
    notice_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # One live subscription per tenant and module.
        Index(
            "uq_subscriptions_live_per_tenant_module",
            "tenant_id",
            "module",
            unique=True,
            postgresql_where=text("status <> 'removed'"),
        ),
    )


class UsageDaily(Base):
    """Calls metered by the gateways, summed per day, tenant, module, version, status class
    and refusal reason."""

    __tablename__ = "usage_daily"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    module: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    status_class: Mapped[str] = mapped_column(String(3), primary_key=True)
    # Empty for a call the module answered (billable); else why the gateway refused it.
    refusal: Mapped[str] = mapped_column(
        String(40), primary_key=True, default="", server_default=text("''")
    )
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_in: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_out: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_ms_sum: Mapped[float] = mapped_column(default=0.0)
    latency_ms_max: Mapped[float] = mapped_column(default=0.0)


VENDOR.guard(Vendor.status)
PLUGIN_VERSION.guard(PluginVersion.status)
SUBSCRIPTION.guard(Subscription.status)
