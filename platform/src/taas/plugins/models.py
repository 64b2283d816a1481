"""Vendors and the versions of their plugins."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    DateTime,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from taas.kit.db import Base, Timestamped, new_id
from taas.plugins.states import PLUGIN_VERSION, VENDOR


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


VENDOR.guard(Vendor.status)
PLUGIN_VERSION.guard(PluginVersion.status)
