"""What the open-platform API accepts and returns."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from taas.catalog.manifest import PluginManifest
from taas.catalog.states import PluginStatus, SubscriptionStatus, VendorStatus
from taas.kit.schemas import StrictInput
from taas.operations.plans import registered_kinds
from taas.operations.states import OperationStatus

VENDOR_SLUG = r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$"


class VendorCreate(StrictInput):
    slug: Annotated[str, Field(pattern=VENDOR_SLUG, description="Short unique vendor name.")]
    display_name: Annotated[str, Field(min_length=1, max_length=200)]
    contact_email: EmailStr


class _DocumentedAsManifest:
    """Documents a JSON object as a ``PluginManifest`` (a ``$ref`` to its schema) without
    validating it as one: the submit endpoint validates the manifest itself, to answer
    with a 422 that lists every bad field in the manifest's own terms."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, _schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        manifest = PluginManifest.__pydantic_core_schema__
        definitions: list[CoreSchema] = []
        if manifest["type"] == "definitions":
            definitions = list(manifest["definitions"])
            manifest = manifest["schema"]
        reference = core_schema.definition_reference_schema(manifest["ref"])
        return handler(core_schema.definitions_schema(reference, [manifest, *definitions]))


ManifestBody = Annotated[dict[str, Any], _DocumentedAsManifest]
"""A plugin submission: any JSON object, documented as the manifest it must be."""


class VendorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    display_name: str
    contact_email: str
    client_id: str
    status: VendorStatus
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
    hint: str | None = Field(
        default=None, description="What to do about the failed checks (absent when passed)."
    )
    attempts: int | None = Field(
        default=None,
        description="Validation runs started for this version (a run whose worker died is "
        "started again, a bounded number of times).",
    )


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


class Review(StrictInput):
    reason: Annotated[str, Field(min_length=1, max_length=1000)] = "reviewed"
    publish: Annotated[
        bool, Field(description="Approve and publish in one step (approve only).")
    ] = True


class Reason(StrictInput):
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
    kind: Annotated[
        str,
        Field(
            description="What the operation does (provision, subscribe, ...).",
            json_schema_extra=registered_kinds,
        ),
    ]
    status: OperationStatus


class SubscriptionAccepted(BaseModel):
    subscription: SubscriptionOut
    operation: OperationRef | None


class UsageRow(BaseModel):
    day: dt.date
    module: str
    version: str
    calls: Annotated[
        int,
        Field(description="Billable calls: forwarded to the module, which answered (any status)."),
    ]
    errors: Annotated[int, Field(description="Billable calls the module answered with 4xx or 5xx.")]
    refusals: Annotated[
        int,
        Field(
            description="Calls the gateway answered itself (rate limit, quota, scopes, a "
            "suspended bank, a withdrawn version, an unreachable module); never billed."
        ),
    ] = 0
    refusals_by_reason: Annotated[
        dict[str, int],
        Field(description="Refusals per reason (the last part of the problem type)."),
    ] = {}
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
