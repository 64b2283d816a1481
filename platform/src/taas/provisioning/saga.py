"""The steps of each operation, in order, each idempotent and each with its undo.

A step returns what it had to change in the outside world. Running a step twice is safe:
"already exists" means done, so a redelivered task or a resumed operation simply goes
on. When a step fails for good, the steps already done are undone in reverse order so
that nothing is left behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from taas.integrations.identity import new_password
from taas.integrations.spec import ModuleSpec, TenantSpec
from taas.integrations.systems import Systems
from taas.provisioning.models import OperationKind


@dataclass
class StepContext:
    """What a step works with."""

    spec: TenantSpec
    systems: Systems
    params: dict[str, Any] = field(default_factory=dict)

    def credential(self, key: str, make: Callable[[], str]) -> str:
        """A credential from the tenant's Secret, created (and stored) on first use."""
        existing = self.systems.kubernetes.read_credentials(self.spec).get(key)
        if existing:
            return existing
        value = make()
        self.systems.kubernetes.write_credentials(self.spec, {key: value})
        return value


Action = Callable[[StepContext], list[str]]


@dataclass(frozen=True)
class Step:
    """One named, idempotent step and the action that undoes it."""

    name: str
    run: Action
    undo: Action | None = None


# ---------------------------------------------------------------------- provisioning


def _namespace(ctx: StepContext) -> list[str]:
    return ctx.systems.kubernetes.ensure(ctx.spec)


def _database(ctx: StepContext) -> list[str]:
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


def _storage(ctx: StepContext) -> list[str]:
    secret = ctx.credential("storage_secret_key", new_password)
    changes = ctx.systems.storage.ensure(ctx.spec, secret)
    ctx.systems.kubernetes.write_credentials(
        ctx.spec, {"storage_access_key": ctx.spec.storage_user, "storage_bucket": ctx.spec.bucket}
    )
    return changes


def _identity(ctx: StepContext) -> list[str]:
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


def _remove_namespace(ctx: StepContext) -> list[str]:
    return ctx.systems.kubernetes.remove(ctx.spec)


def _remove_database(ctx: StepContext) -> list[str]:
    return ctx.systems.postgres.remove(ctx.spec)


def _remove_storage(ctx: StepContext) -> list[str]:
    return ctx.systems.storage.remove_identity(ctx.spec) + ctx.systems.storage.remove_bucket(
        ctx.spec
    )


def _remove_identity(ctx: StepContext) -> list[str]:
    return ctx.systems.identity.remove(ctx.spec)


NAMESPACE = Step("kubernetes.namespace", _namespace, _remove_namespace)
DATABASE = Step("postgres.schema", _database, _remove_database)
STORAGE = Step("minio.bucket", _storage, _remove_storage)
IDENTITY = Step("keycloak.identity", _identity, _remove_identity)

# The namespace comes first: it holds the Secret every later step writes credentials to.
PROVISION = (NAMESPACE, DATABASE, STORAGE, IDENTITY)


# ---------------------------------------------------------------------- suspend / resume


def _toggle(enabled: bool) -> tuple[Step, ...]:
    verb = "enable" if enabled else "disable"
    return (
        Step(
            f"keycloak.{verb}_logins",
            lambda ctx: ctx.systems.identity.set_enabled(ctx.spec, enabled=enabled),
        ),
        Step(
            f"minio.{verb}_identity",
            lambda ctx: ctx.systems.storage.set_enabled(ctx.spec, enabled=enabled),
        ),
        Step(
            f"postgres.{verb}_login",
            lambda ctx: ctx.systems.postgres.set_login(ctx.spec, allowed=enabled),
        ),
        Step(
            "kubernetes.restore_workloads" if enabled else "kubernetes.scale_to_zero",
            (lambda ctx: ctx.systems.kubernetes.resume(ctx.spec))
            if enabled
            else (lambda ctx: ctx.systems.kubernetes.suspend(ctx.spec)),
        ),
    )


# ---------------------------------------------------------------------- offboarding


def _retain_or_remove_storage(ctx: StepContext) -> list[str]:
    changes = ctx.systems.storage.remove_identity(ctx.spec)
    until = ctx.params.get("retain_until")
    if until:
        return changes + ctx.systems.storage.retain(ctx.spec, until)
    return changes + ctx.systems.storage.remove_bucket(ctx.spec)


def _retain_or_remove_database(ctx: StepContext) -> list[str]:
    if ctx.params.get("retain_until"):
        changes = ctx.systems.postgres.set_login(ctx.spec, allowed=False)
        return [*changes, f"kept {ctx.spec.db_name} read-only until {ctx.params['retain_until']}"]
    return ctx.systems.postgres.remove(ctx.spec)


OFFBOARD = (
    Step(
        "kubernetes.close_module_paths",
        lambda ctx: ctx.systems.modules.remove_tenant_paths(ctx.spec),
    ),
    Step("keycloak.remove_identity", _remove_identity),
    Step("minio.retain_or_remove", _retain_or_remove_storage),
    Step("postgres.retain_or_remove", _retain_or_remove_database),
    Step("kubernetes.remove_namespace", _remove_namespace),
)

PURGE = (
    Step("minio.remove_bucket", lambda ctx: ctx.systems.storage.remove_bucket(ctx.spec)),
    Step("postgres.remove", _remove_database),
)

# ---------------------------------------------------------------------- subscriptions


def module_of(params: dict[str, Any] | None) -> ModuleSpec | None:
    """The module a subscription operation deploys (``params["module"]``)."""
    if not params:
        return None
    return ModuleSpec(
        name=params["name"],
        version=params["version"],
        image=params.get("image"),
        port=int(params.get("port", 8080)),
        upstream_url=params.get("upstream_url"),
        cpu=params.get("cpu", "100m"),
        memory=params.get("memory", "128Mi"),
        replicas=int(params.get("replicas", 1)),
        scopes=tuple(params.get("scopes", ())),
    )


def _module(ctx: StepContext, key: str = "module") -> ModuleSpec:
    module = module_of(ctx.params.get(key))
    if module is None:
        raise LookupError(f"operation has no {key} parameters")
    return module


def _deploy_module(ctx: StepContext) -> list[str]:
    return ctx.systems.modules.ensure(ctx.spec, _module(ctx))


def _remove_module(ctx: StepContext) -> list[str]:
    return ctx.systems.modules.remove(ctx.spec, _module(ctx))


def _grant_scopes(ctx: StepContext) -> list[str]:
    module = _module(ctx)
    changes = ctx.systems.identity.ensure_module_scopes(ctx.spec, list(module.scopes))
    previous = module_of(ctx.params.get("previous"))
    if previous is not None:
        dropped = sorted(set(previous.scopes) - set(module.scopes))
        changes += ctx.systems.identity.remove_module_scopes(ctx.spec, dropped)
    return changes


def _revoke_scopes(ctx: StepContext) -> list[str]:
    return ctx.systems.identity.remove_module_scopes(ctx.spec, list(_module(ctx).scopes))


def _retire_previous(ctx: StepContext) -> list[str]:
    """After a version change: the shared workload of the old version, if nobody uses it."""
    previous = module_of(ctx.params.get("previous"))
    if previous is None or ctx.spec.isolated:
        return []
    return [c for c in ctx.systems.modules.prune_shared(previous) if c]


MODULE_WORKLOAD = Step("kubernetes.module_workload", _deploy_module, _remove_module)
MODULE_SCOPES = Step("keycloak.module_scopes", _grant_scopes, _revoke_scopes)
SUBSCRIBE = (MODULE_WORKLOAD, MODULE_SCOPES)
CHANGE_SUBSCRIPTION = (
    MODULE_WORKLOAD,
    MODULE_SCOPES,
    Step("kubernetes.retire_previous_version", _retire_previous),
)
UNSUBSCRIBE = (
    Step("keycloak.remove_module_scopes", _revoke_scopes),
    Step("kubernetes.remove_module_workload", _remove_module),
)

PLANS: dict[str, tuple[Step, ...]] = {
    OperationKind.PROVISION: PROVISION,
    OperationKind.UPDATE: (NAMESPACE, DATABASE, STORAGE, IDENTITY),
    OperationKind.SUSPEND: _toggle(enabled=False),
    OperationKind.RESUME: _toggle(enabled=True),
    OperationKind.OFFBOARD: OFFBOARD,
    OperationKind.PURGE: PURGE,
    OperationKind.SUBSCRIBE: SUBSCRIBE,
    OperationKind.CHANGE_SUBSCRIPTION: CHANGE_SUBSCRIPTION,
    OperationKind.UNSUBSCRIBE: UNSUBSCRIBE,
}


def retain_until(keep_days: int, now: dt.datetime | None = None) -> str | None:
    """ISO deadline of the retention period, or None to destroy everything now."""
    if keep_days <= 0:
        return None
    return ((now or dt.datetime.now(dt.UTC)) + dt.timedelta(days=keep_days)).isoformat(
        timespec="seconds"
    )
