"""Approval requests: one row per destructive action waiting for (or given) a second operator."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import DateTime, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from taas.approvals.states import APPROVAL
from taas.kit.db import Base, Timestamped, new_id


class Approval(Timestamped, Base):
    """A request to run ``action`` on ``target``; a different operator decides it."""

    __tablename__ = "approvals"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_by_subject: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column()

    __table_args__ = (
        # At most one open request per action and target.
        Index(
            "uq_approvals_pending_per_target",
            "action",
            "target",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_approvals_status_requested_at", "status", "requested_at"),
    )


APPROVAL.guard(Approval.status)
