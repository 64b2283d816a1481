"""A tenant's subscriptions to modules."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from taas.kit.db import Base, Timestamped, new_id
from taas.subscriptions.states import SUBSCRIPTION


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


SUBSCRIPTION.guard(Subscription.status)
