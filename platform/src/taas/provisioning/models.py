"""Operations and their steps, as recorded while a saga runs."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taas.kit.db import Base, Timestamped, new_id


class OperationKind(StrEnum):
    PROVISION = "provision"
    UPDATE = "update"
    SUSPEND = "suspend"
    RESUME = "resume"
    OFFBOARD = "offboard"
    PURGE = "purge"
    SUBSCRIBE = "subscribe"
    CHANGE_SUBSCRIPTION = "change_subscription"
    UNSUBSCRIBE = "unsubscribe"


# Operations on one subscription run beside the tenant's own; each has its own lane.
SUBSCRIPTION_KINDS = frozenset(
    {OperationKind.SUBSCRIBE, OperationKind.CHANGE_SUBSCRIPTION, OperationKind.UNSUBSCRIBE}
)


NO_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


class OperationStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    UNDONE = "undone"


class Operation(Timestamped, Base):
    """One change to the outside world for one tenant, run as a saga."""

    __tablename__ = "operations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("subscriptions.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), default=OperationStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(100))
    traceparent: Mapped[str | None] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    steps: Mapped[list[OperationStep]] = relationship(
        back_populates="operation", order_by="OperationStep.position", lazy="selectin"
    )

    __table_args__ = (
        # At most one unfinished operation per tenant, and one per subscription: the
        # database enforces it.
        Index(
            "uq_operations_one_open_per_lane",
            "tenant_id",
            text(f"coalesce(subscription_id, '{NO_SUBSCRIPTION}'::uuid)"),
            unique=True,
            postgresql_where=text("status IN ('pending', 'running')"),
        ),
    )


class OperationStep(Base):
    """One idempotent step of an operation, with its attempts and last error."""

    __tablename__ = "operation_steps"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    operation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operations.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=StepStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    operation: Mapped[Operation] = relationship(back_populates="steps")

    __table_args__ = (UniqueConstraint("operation_id", "name"),)
