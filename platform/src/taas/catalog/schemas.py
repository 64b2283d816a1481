"""What the open-platform API accepts and returns."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from taas.catalog.states import PluginStatus, SubscriptionStatus

VENDOR_SLUG = r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$"


class VendorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Annotated[str, Field(pattern=VENDOR_SLUG, description="Short unique vendor name.")]
    display_name: Annotated[str, Field(min_length=1, max_length=200)]
    contact_email: EmailStr


class VendorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    display_name: str
    contact_email: str
    client_id: str
    status: str
    created_at: dt.datetime


class VendorCredentials(BaseModel):
    """How the vendor logs in, and the key its modules check gateway signatures with."""

    client_id: str
    client_secret: str
    token_url: str
    signing_secret: Annotated[
        str,
        Field(
            description="HMAC-SHA256 key of the X-TaaS-Signature header the gateways add "
            "to every request they forward to this vendor's plugins."
        ),
    ]


class VendorCreated(BaseModel):
    vendor: VendorOut
    credentials: VendorCredentials


class CheckOut(BaseModel):
    name: str
    ok: bool
    detail: str


class ValidationReport(BaseModel):
    """What the validation operation checked, and what it found."""

    passed: bool | None = None
    platform_plugin_api: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    checks: list[CheckOut] = []


class PluginVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    vendor: str
    name: str
    version: str
    capability: str
    status: PluginStatus
    status_reason: str | None
    manifest: dict[str, Any]
    validation: ValidationReport
    submitted_by: str
    reviewed_by: str | None
    review_reason: str | None
    published_at: dt.datetime | None
    revoked_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=1000)] = "reviewed"
    publish: Annotated[
        bool, Field(description="Approve and publish in one step (approve only).")
    ] = True


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class CatalogVersion(BaseModel):
    version: str
    status: PluginStatus
    published_at: dt.datetime | None
    plugin_api: str
    scopes: list[str]
    operation_scopes: list[str] = []
    data: dict[str, Any]
    pricing: dict[str, Any]


class CatalogModule(BaseModel):
    name: str
    capability: str
    summary: str
    vendor: str
    channels: Annotated[
        dict[str, str], Field(description="Channel name to the version it follows now.")
    ]
    versions: list[CatalogVersion]


class SubscriptionCreate(BaseModel):
    """Subscribe to a module: a pinned ``version``, or a ``channel`` that follows releases."""

    model_config = ConfigDict(extra="forbid")

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


class SubscriptionUpdate(BaseModel):
    """Fields to change; limits apply at once, a version change runs as an operation."""

    model_config = ConfigDict(extra="forbid")

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
    kind: str
    status: str


class SubscriptionAccepted(BaseModel):
    subscription: SubscriptionOut
    operation: OperationRef | None


class UsageRow(BaseModel):
    day: dt.date
    module: str
    version: str
    calls: int
    errors: Annotated[int, Field(description="Calls answered 4xx or 5xx.")]
    bytes_in: int
    bytes_out: int
    latency_ms_avg: float
    latency_ms_max: float
    tenants: Annotated[int | None, Field(description="Distinct tenants (vendor view only).")] = None


class UsageReport(BaseModel):
    start: dt.date
    end: dt.date
    rows: list[UsageRow]


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
