"""Calls metered by the gateways, summed per day."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Date, String, text
from sqlalchemy.orm import Mapped, mapped_column

from taas.kit.db import Base


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
