"""Operations and their steps, as recorded while a plan runs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taas.kit.db import Base, Timestamped, new_id
from taas.operations.states import OPERATION, STEP, OperationStatus, StepStatus


class Operation(Timestamped, Base):
    """One change to the outside world, run as a plan of steps in one lane.

    A lane (``tenant:<id>``, ``subscription:<id>``, ``plugin-version:<id>``) holds at most
    one unfinished operation: the database enforces it. ``tenant_id`` is set for the
    operations a bank may see (its tenant's and its subscriptions').
    """

    __tablename__ = "operations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    lane: Mapped[str] = mapped_column(String(120))
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default=OperationStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(100))
    traceparent: Mapped[str | None] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Set once the operation was handed to the workers (the outbox relay sends the rest).
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    steps: Mapped[list[OperationStep]] = relationship(
        back_populates="operation", order_by="OperationStep.position", lazy="selectin"
    )

    __table_args__ = (
        Index(
            "uq_operations_one_open_per_lane",
            "lane",
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


OPERATION.guard(Operation.status)
STEP.guard(OperationStep.status)
