"""What the approvals API accepts and returns."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from taas.approvals.states import ApprovalStatus

__all__ = ["ApprovalAction", "ApprovalOut", "ApprovalStatus", "Decision"]


class ApprovalAction(StrEnum):
    """The actions that run only once a second operator approves them."""

    TENANT_OFFBOARD = "tenant.offboard"
    PLUGIN_REVOKE = "plugin.revoke"
    VENDOR_DELETE = "vendor.delete"


class Decision(BaseModel):
    """A second operator's decision on a request."""

    model_config = ConfigDict(extra="forbid", strict=True)

    reason: Annotated[str, Field(min_length=1, max_length=500)] = "approved"


class ApprovalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    action: ApprovalAction
    target: Annotated[str, Field(description="Tenant id, `<module>@<version>`, or vendor slug.")]
    summary: Annotated[str, Field(description="What approving it will do, in words.")]
    params: dict[str, Any]
    reason: str
    status: ApprovalStatus
    requested_by: str
    requested_at: dt.datetime
    expires_at: Annotated[
        dt.datetime, Field(description="A request still pending then becomes `expired`.")
    ]
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_reason: str | None
    result: Annotated[
        dict[str, Any] | None, Field(description="What the approved action returned.")
    ]
