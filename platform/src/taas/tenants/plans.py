"""The tenant's operations as plans for the engine: provision, update, suspend, resume,
offboard and purge, each a sequence of idempotent steps over the outside systems.

A step returns what it had to change. Running a step twice is safe ("already exists" means
done). A failed provisioning undoes its finished steps, newest first, so nothing is left
behind. The hooks move the tenant's status as its operation starts, succeeds or fails.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from taas.integrations.identity import new_password
from taas.integrations.spec import Quotas, TenantSpec
from taas.integrations.systems import Systems, systems
from taas.kit.db import utcnow
from taas.kit.scope import Scope
from taas.operations.models import Operation
from taas.operations.plans import Plan, Step, When, on, register
from taas.operations.repository import lane
from taas.tenants.models import Tenant
from taas.tenants.repository import TenantRepository
from taas.tenants.states import TenantStatus


class TenantOperation(StrEnum):
    PROVISION = "provision"
    UPDATE = "update"
    SUSPEND = "suspend"
    RESUME = "resume"
    OFFBOARD = "offboard"
    PURGE = "purge"


def tenant_lane(tenant_id: uuid.UUID) -> str:
    return lane("tenant", tenant_id)


def spec_of(tenant: Tenant) -> TenantSpec:
    return TenantSpec(
        id=tenant.id,
        slug=tenant.slug,
        tier=tenant.tier,
        region=tenant.region,
        quotas=Quotas(**tenant.quotas),
        object_lock=tenant.object_lock,
        display_name=tenant.display_name,
    )


@dataclass
class TenantContext:
    """What a tenant's step works with."""

    spec: TenantSpec
    systems: Systems
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.spec.slug

    def credential(self, key: str, make: Callable[[], str]) -> str:
        """A credential from the tenant's Secret, created (and stored) on first use."""
        existing = self.systems.kubernetes.read_credentials(self.spec).get(key)
        if existing:
            return existing
        value = make()
        self.systems.kubernetes.write_credentials(self.spec, {key: value})
        return value


def tenant_of(session: Session, operation: Operation) -> Tenant:
    """The tenant an operation works on (the engine acts for the platform: any tenant)."""
    scope = Scope.platform(f"operation:{operation.id}")
    tenant_id = operation.tenant_id
    tenant = TenantRepository(session).get(scope, tenant_id) if tenant_id else None
    if tenant is None:
        raise LookupError(f"operation {operation.id} refers to a missing tenant")
    return tenant


def context_of(session: Session, operation: Operation) -> TenantContext:
    return TenantContext(spec_of(tenant_of(session, operation)), systems(), operation.params)


TenantStep = Step[TenantContext]


# ---------------------------------------------------------------------- provisioning


def _namespace(ctx: TenantContext) -> list[str]:
    return ctx.systems.kubernetes.ensure(ctx.spec)


def _database(ctx: TenantContext) -> list[str]:
    password = ctx.credential("postgres_password", new_password)
    changes = ctx.systems.postgres.ensure(ctx.spec, password)
    ctx.systems.kubernetes.write_credentials(
        ctx.spec,
        {
            "postgres_user": ctx.spec.db_name,
            "postgres_database": ctx.systems.postgres.database_of(ctx.spec),
            "postgres_schema": ctx.spec.db_name,
        },
    )
    return changes


def _storage(ctx: TenantContext) -> list[str]:
    secret = ctx.credential("storage_secret_key", new_password)
    changes = ctx.systems.storage.ensure(ctx.spec, secret)
    ctx.systems.kubernetes.write_credentials(
        ctx.spec, {"storage_access_key": ctx.spec.storage_user, "storage_bucket": ctx.spec.bucket}
    )
    return changes


def _identity(ctx: TenantContext) -> list[str]:
    password = ctx.credential("admin_temporary_password", new_password)
    changes, credentials = ctx.systems.identity.ensure(ctx.spec, password)
    ctx.systems.kubernetes.write_credentials(
        ctx.spec,
        {
            "admin_username": credentials.admin_username,
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "issuer": credentials.issuer,
        },
    )
    return changes


def _remove_namespace(ctx: TenantContext) -> list[str]:
    return ctx.systems.kubernetes.remove(ctx.spec)


def _remove_database(ctx: TenantContext) -> list[str]:
    return ctx.systems.postgres.remove(ctx.spec)


def _remove_storage(ctx: TenantContext) -> list[str]:
    return ctx.systems.storage.remove_identity(ctx.spec) + ctx.systems.storage.remove_bucket(
        ctx.spec
    )


def _remove_identity(ctx: TenantContext) -> list[str]:
    return ctx.systems.identity.remove(ctx.spec)


NAMESPACE = TenantStep("kubernetes.namespace", _namespace, _remove_namespace)
DATABASE = TenantStep("postgres.schema", _database, _remove_database)
STORAGE = TenantStep("minio.bucket", _storage, _remove_storage)
IDENTITY = TenantStep("keycloak.identity", _identity, _remove_identity)

# The namespace comes first: it holds the Secret every later step writes credentials to.
PROVISION = (NAMESPACE, DATABASE, STORAGE, IDENTITY)


# ---------------------------------------------------------------------- suspend / resume


def _toggle(enabled: bool) -> tuple[TenantStep, ...]:
    verb = "enable" if enabled else "disable"
    return (
        TenantStep(
            f"keycloak.{verb}_logins",
            lambda ctx: ctx.systems.identity.set_enabled(ctx.spec, enabled=enabled),
        ),
        TenantStep(
            f"minio.{verb}_identity",
            lambda ctx: ctx.systems.storage.set_enabled(ctx.spec, enabled=enabled),
        ),
        TenantStep(
            f"postgres.{verb}_login",
            lambda ctx: ctx.systems.postgres.set_login(ctx.spec, allowed=enabled),
        ),
        TenantStep(
            "kubernetes.restore_workloads" if enabled else "kubernetes.scale_to_zero",
            (lambda ctx: ctx.systems.kubernetes.resume(ctx.spec))
            if enabled
            else (lambda ctx: ctx.systems.kubernetes.suspend(ctx.spec)),
        ),
    )


# ---------------------------------------------------------------------- offboarding


def _retain_or_remove_storage(ctx: TenantContext) -> list[str]:
    changes = ctx.systems.storage.remove_identity(ctx.spec)
    until = ctx.params.get("retain_until")
    if until:
        return changes + ctx.systems.storage.retain(ctx.spec, until)
    return changes + ctx.systems.storage.remove_bucket(ctx.spec)


def _retain_or_remove_database(ctx: TenantContext) -> list[str]:
    if ctx.params.get("retain_until"):
        changes = ctx.systems.postgres.set_login(ctx.spec, allowed=False)
        return [*changes, f"kept {ctx.spec.db_name} read-only until {ctx.params['retain_until']}"]
    return ctx.systems.postgres.remove(ctx.spec)


OFFBOARD = (
    TenantStep(
        "kubernetes.close_module_paths",
        lambda ctx: ctx.systems.modules.remove_tenant_paths(ctx.spec),
    ),
    TenantStep("keycloak.remove_identity", _remove_identity),
    TenantStep("minio.retain_or_remove", _retain_or_remove_storage),
    TenantStep("postgres.retain_or_remove", _retain_or_remove_database),
    TenantStep("kubernetes.remove_namespace", _remove_namespace),
)

PURGE = (
    TenantStep("minio.remove_bucket", lambda ctx: ctx.systems.storage.remove_bucket(ctx.spec)),
    TenantStep("postgres.remove", _remove_database),
)


def retain_until(keep_days: int, now: dt.datetime | None = None) -> str | None:
    """ISO deadline of the retention period, or None to destroy everything now."""
    if keep_days <= 0:
        return None
    return ((now or dt.datetime.now(dt.UTC)) + dt.timedelta(days=keep_days)).isoformat(
        timespec="seconds"
    )


# ---------------------------------------------------------------------- status hooks


def _provisioning(session: Session, operation: Operation) -> None:
    tenant = tenant_of(session, operation)
    tenant.status, tenant.status_reason = TenantStatus.PROVISIONING, None


def _provisioned(session: Session, operation: Operation) -> None:
    tenant = tenant_of(session, operation)
    tenant.status, tenant.status_reason = TenantStatus.ACTIVE, None


def _offboarded(session: Session, operation: Operation) -> None:
    tenant = tenant_of(session, operation)
    tenant.status, tenant.status_reason = TenantStatus.OFFBOARDED, None
    tenant.offboarded_at = utcnow()
    until = operation.params.get("retain_until")
    tenant.purge_after = dt.datetime.fromisoformat(until) if until else None


def _purged(session: Session, operation: Operation) -> None:
    tenant_of(session, operation).purge_after = None


def _failed(session: Session, operation: Operation) -> None:
    """A failed provisioning or offboarding leaves the tenant ``failed`` (retry or
    offboard it); any failure says why on the tenant."""
    tenant = tenant_of(session, operation)
    if operation.kind in (TenantOperation.PROVISION, TenantOperation.OFFBOARD):
        tenant.status = TenantStatus.FAILED
    tenant.status_reason = f"{operation.kind} failed at {operation.error}"


def register_plans() -> None:
    """Register the tenant's plans and status hooks with the engine."""
    steps: dict[TenantOperation, tuple[TenantStep, ...]] = {
        TenantOperation.PROVISION: PROVISION,
        TenantOperation.UPDATE: PROVISION,
        TenantOperation.SUSPEND: _toggle(enabled=False),
        TenantOperation.RESUME: _toggle(enabled=True),
        TenantOperation.OFFBOARD: OFFBOARD,
        TenantOperation.PURGE: PURGE,
    }
    for kind, plan_steps in steps.items():
        register(
            Plan(
                kind=kind,
                steps=plan_steps,
                context=context_of,
                compensate=kind == TenantOperation.PROVISION,
            )
        )
        on(kind, When.FAILURE, _failed)
    on(TenantOperation.PROVISION, When.START, _provisioning)
    on(TenantOperation.PROVISION, When.SUCCESS, _provisioned)
    on(TenantOperation.OFFBOARD, When.SUCCESS, _offboarded)
    on(TenantOperation.PURGE, When.SUCCESS, _purged)
