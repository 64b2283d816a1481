"""What the subscriptions API accepts and returns."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from taas.kit.schemas import StrictInput
from taas.operations.plans import OperationKind
from taas.operations.states import OperationStatus
from taas.subscriptions.states import SubscriptionStatus


class SubscriptionCreate(StrictInput):
    """Subscribe to a module: a pinned ``version``, or a ``channel`` that follows releases."""

    module: Annotated[str, Field(max_length=40, pattern=r"^[a-z][a-z0-9-]*$")]
    version: Annotated[str | None, Field(max_length=64)] = None
    channel: Literal["stable"] | None = None
    rate_limit_rps: Annotated[
        int | None,
        Field(ge=1, le=100_000, description="Calls per second; default the tenant's limit."),
    ] = None
    monthly_quota: Annotated[
        int | None, Field(ge=1, le=10**12, description="Calls per calendar month (UTC).")
    ] = None

    @model_validator(mode="after")
    def _version_or_channel(self) -> SubscriptionCreate:
        if self.version is not None and self.channel is not None:
            raise ValueError("give a version or a channel, not both")
        if self.version is None and self.channel is None:
            self.channel = "stable"
        return self


class SubscriptionUpdate(StrictInput):
    """Fields to change; limits apply at once, a version change runs as an operation."""

    version: Annotated[str | None, Field(max_length=64)] = None
    channel: Literal["stable"] | None = None
    rate_limit_rps: Annotated[int | None, Field(ge=1, le=100_000)] = None
    monthly_quota: Annotated[int | None, Field(ge=1, le=10**12)] = None

    @model_validator(mode="after")
    def _version_or_channel(self) -> SubscriptionUpdate:
        if self.version is not None and self.channel is not None:
            raise ValueError("give a version or a channel, not both")
        return self


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    module: str
    version: str
    channel: str | None
    pinned_version: str | None
    status: SubscriptionStatus
    status_reason: str | None
    notice: Annotated[
        str | None,
        Field(
            description="What the platform last did to this subscription on its own (its "
            "version revoked or suspended, a move on the stable channel) and what to do."
        ),
    ] = None
    notice_at: dt.datetime | None = None
    rate_limit_rps: int
    monthly_quota: int | None
    scopes: Annotated[
        list[str], Field(description="Scopes a token needs to call the module through the gateway.")
    ]
    operation_scopes: Annotated[
        list[str],
        Field(description="Scopes some of the module's operations need on top of `scopes`."),
    ] = []
    gateway_path: Annotated[str, Field(description="Where bank systems call the module.")]
    created_at: dt.datetime
    updated_at: dt.datetime


class OperationRef(BaseModel):
    id: uuid.UUID
    kind: OperationKind
    status: OperationStatus


class SubscriptionAccepted(BaseModel):
    subscription: SubscriptionOut
    operation: OperationRef | None


class StorageCredentialsOut(BaseModel):
    """Temporary S3 credentials for one tenant's bucket prefix (MinIO STS)."""

    endpoint: str
    secure: bool
    region: str
    bucket: str
    prefix: str
    access_key: str
    secret_key: str
    session_token: str
    expires_at: dt.datetime
