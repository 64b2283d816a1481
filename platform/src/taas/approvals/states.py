"""The approval request lifecycle: pending until a second operator decides it, its
requester withdraws it, or it expires; every decision is final."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from taas.kit.states import Lifecycle


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


S = ApprovalStatus

APPROVAL: Final = Lifecycle(
    "approval request",
    ApprovalStatus,
    {
        S.PENDING: {S.APPROVED, S.REJECTED, S.CANCELLED, S.EXPIRED},
        S.APPROVED: set(),
        S.REJECTED: set(),
        S.EXPIRED: set(),
        S.CANCELLED: set(),
    },
    initial=S.PENDING,
)
