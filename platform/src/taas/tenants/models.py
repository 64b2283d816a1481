"""The tenants table."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import DateTime, Enum, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taas.kit.db import Base, Timestamped, new_id
from taas.tenants.states import TENANT, TenantStatus


class Tenant(Timestamped, Base):
    """One bank: its desired state (quotas, tier, status) and what the reconciler saw."""

    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(64))
    contacts: Mapped[list[Any]] = mapped_column(default=list)
    quotas: Mapped[dict[str, Any]] = mapped_column()
    object_lock: Mapped[bool] = mapped_column(default=False)
    status: Mapped[TenantStatus] = mapped_column(
        Enum(TenantStatus, name="tenant_status", values_callable=lambda e: [m.value for m in e])
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
    retention: Mapped[dict[str, Any] | None] = mapped_column()
    drift: Mapped[list[Any]] = mapped_column(default=list)
    reconciled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    offboarded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    purge_after: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 - SQLAlchemy's API


TENANT.guard(Tenant.status)
