"""What the tenant API accepts and returns."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, computed_field, field_validator

from taas.approvals.schemas import ApprovalOut
from taas.kit.quantities import CPU, millicores
from taas.kit.schemas import JsonEnum, StrictInput
from taas.operations.plans import OperationKind
from taas.operations.states import OperationStatus, StepStatus
from taas.tenants.states import TenantStatus

SLUG = r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$"
_MEMORY = re.compile(r"^\d+(Mi|Gi|Ti)$")


class Tier(StrEnum):
    POOL = "pool"
    SILO = "silo"
    DEDICATED = "dedicated"


class Contact(StrictInput):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: EmailStr
    role: Annotated[str, Field(max_length=50)] = "admin"


class Quotas(StrictInput):
    """Resource limits; every field has a default."""

    cpu: Annotated[str, Field(description="CPU cores, e.g. `2` or `500m`.")] = "2"
    memory: Annotated[str, Field(description="Memory, e.g. `4Gi`.")] = "4Gi"
    storage_gb: Annotated[int, Field(ge=1, le=100_000, description="Bucket quota in GiB.")] = 10
    requests_per_second: Annotated[
        int, Field(ge=1, le=100_000, description="Gateway rate limit.")
    ] = 50

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: str) -> str:
        if not CPU.match(value) or millicores(value) < 1:
            raise ValueError(
                "cpu must be a positive number of cores (`2`, `0.5`) or millicores (`500m`)"
            )
        return value

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        if not _MEMORY.match(value) or int(re.sub(r"\D", "", value)) == 0:
            raise ValueError("memory must be a positive size in Mi, Gi or Ti (`512Mi`, `4Gi`)")
        return value


class Retention(StrictInput):
    """What offboarding keeps, and for how long."""

    keep_data_days: Annotated[
        int,
        Field(
            ge=0,
            le=3650,
            description="Days the bucket and database are kept read-only (platform access "
            "only) before they are purged. 0 destroys everything at once. Identity, "
            "workloads and credentials are always removed at once.",
        ),
    ] = 30


class RetentionOut(BaseModel):
    """What an offboarded tenant keeps, and until when."""

    keep_data_days: Annotated[int, Field(description="Days of retention asked for.")]
    retain_until: Annotated[
        dt.datetime | None,
        Field(description="When the kept data is purged; null when nothing was kept."),
    ] = None


class TenantCreate(StrictInput):
    slug: Annotated[str, Field(pattern=SLUG, description="Short unique name, DNS-safe.")]
    display_name: Annotated[str, Field(min_length=1, max_length=200)]
    tier: Annotated[Tier, JsonEnum] = Tier.POOL
    region: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]
    contacts: Annotated[list[Contact], Field(max_length=20)] = Field(default_factory=list)
    quotas: Quotas = Quotas()
    object_lock: Annotated[
        bool, Field(description="Create the bucket with object lock (cannot be changed later).")
    ] = False


class TenantUpdate(StrictInput):
    """Fields to change; omitted fields stay as they are."""

    display_name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    tier: Annotated[Tier, JsonEnum] | None = None
    contacts: Annotated[list[Contact] | None, Field(max_length=20)] = None
    quotas: Quotas | None = None


class StatusChange(StrictInput):
    reason: Annotated[str, Field(min_length=1, max_length=500)] = "requested by operator"


class OffboardRequest(StrictInput):
    reason: Annotated[str, Field(min_length=1, max_length=500)] = "requested by operator"
    retention: Retention = Retention()


class TenantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    display_name: str
    tier: Tier
    region: str
    contacts: list[Contact]
    quotas: Quotas
    object_lock: bool
    status: TenantStatus
    status_reason: str | None
    retention: RetentionOut | None
    drift: list[Any]
    reconciled_at: dt.datetime | None
    offboarded_at: dt.datetime | None
    purge_after: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class TenantPage(BaseModel):
    items: list[TenantOut]
    next_cursor: Annotated[
        str | None, Field(description="Pass as `after` to get the next page; null at the end.")
    ]


class StepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    status: StepStatus
    attempts: int
    error: str | None
    detail: dict[str, Any]
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class OperationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tenant_id: uuid.UUID
    kind: OperationKind
    status: OperationStatus
    error: str | None
    requested_by: str
    params: dict[str, Any]
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    steps: list[StepOut]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def subscription_id(self) -> uuid.UUID | None:
        """The subscription a subscribe, change or unsubscribe operation works on."""
        value = self.params.get("subscription_id")
        return uuid.UUID(value) if value else None


class TenantAccepted(BaseModel):
    """A change was accepted; ``operation`` carries it out in the background, or, for an
    action that needs a second operator, ``approval`` is the request waiting for them."""

    tenant: TenantOut
    operation: OperationOut | None
    approval: Annotated[
        ApprovalOut | None,
        Field(description="Set when the change waits for a second operator's approval."),
    ] = None
