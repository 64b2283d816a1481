"""A subscription's operations as plans for the engine: subscribe, change version and
unsubscribe, each in the subscription's own lane (beside the tenant's operations).

On success the subscription's version and the address of its upstream change in the same
transaction as the operation's end: the gateways route to the version the subscription is
on, never to a mix of the two. When a tenant is offboarded, its subscriptions end.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taas.catalog.models import Subscription
from taas.catalog.states import SubscriptionStatus
from taas.integrations.spec import ModuleSpec
from taas.integrations.systems import systems
from taas.kit.db import scoped
from taas.operations.models import Operation
from taas.operations.plans import Plan, Step, When, on, register
from taas.operations.repository import lane
from taas.tenants.plans import TenantContext, TenantOperation, context_of, spec_of, tenant_of


class SubscriptionOperation(StrEnum):
    SUBSCRIBE = "subscribe"
    CHANGE_VERSION = "change_subscription"
    UNSUBSCRIBE = "unsubscribe"


def subscription_lane(subscription_id: uuid.UUID) -> str:
    return lane("subscription", subscription_id)


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


def _module(ctx: TenantContext, key: str = "module") -> ModuleSpec:
    module = module_of(ctx.params.get(key))
    if module is None:
        raise LookupError(f"operation has no {key} parameters")
    return module


def _deploy_module(ctx: TenantContext) -> list[str]:
    return ctx.systems.modules.ensure(ctx.spec, _module(ctx))


def _remove_module(ctx: TenantContext) -> list[str]:
    return ctx.systems.modules.remove(ctx.spec, _module(ctx))


def _grant_scopes(ctx: TenantContext) -> list[str]:
    module = _module(ctx)
    changes = ctx.systems.identity.ensure_module_scopes(ctx.spec, list(module.scopes))
    previous = module_of(ctx.params.get("previous"))
    if previous is not None:
        dropped = sorted(set(previous.scopes) - set(module.scopes))
        changes += ctx.systems.identity.remove_module_scopes(ctx.spec, dropped)
    return changes


def _revoke_scopes(ctx: TenantContext) -> list[str]:
    return ctx.systems.identity.remove_module_scopes(ctx.spec, list(_module(ctx).scopes))


def _retire_previous(ctx: TenantContext) -> list[str]:
    """After a version change: the shared workload of the old version, if nobody uses it."""
    previous = module_of(ctx.params.get("previous"))
    if previous is None or ctx.spec.isolated:
        return []
    return [c for c in ctx.systems.modules.prune_shared(previous) if c]


ModuleStep = Step[TenantContext]
MODULE_WORKLOAD = ModuleStep("kubernetes.module_workload", _deploy_module, _remove_module)
MODULE_SCOPES = ModuleStep("keycloak.module_scopes", _grant_scopes, _revoke_scopes)
STEPS: dict[SubscriptionOperation, tuple[ModuleStep, ...]] = {
    SubscriptionOperation.SUBSCRIBE: (MODULE_WORKLOAD, MODULE_SCOPES),
    SubscriptionOperation.CHANGE_VERSION: (
        MODULE_WORKLOAD,
        MODULE_SCOPES,
        ModuleStep("kubernetes.retire_previous_version", _retire_previous),
    ),
    SubscriptionOperation.UNSUBSCRIBE: (
        ModuleStep("keycloak.remove_module_scopes", _revoke_scopes),
        ModuleStep("kubernetes.remove_module_workload", _remove_module),
    ),
}


def _subscription(session: Session, operation: Operation) -> Subscription | None:
    return session.get(Subscription, uuid.UUID(operation.params["subscription_id"]))


def _settled(session: Session, operation: Operation) -> None:
    row = _subscription(session, operation)
    if row is None:
        return
    if operation.kind == SubscriptionOperation.UNSUBSCRIBE:
        row.status, row.status_reason = SubscriptionStatus.REMOVED, "unsubscribed"
        return
    row.status, row.status_reason = SubscriptionStatus.ACTIVE, None
    row.plugin_version_id = uuid.UUID(operation.params["module"]["plugin_version_id"])
    module = module_of(operation.params.get("module"))
    if module is not None:
        tenant = tenant_of(session, operation)
        row.upstream_url = module.upstream_url or systems().modules.service_url(
            spec_of(tenant), module
        )


def _unsettled(session: Session, operation: Operation) -> None:
    row = _subscription(session, operation)
    if row is None:
        return
    if operation.kind == SubscriptionOperation.CHANGE_VERSION:
        # Still deployed and routed on the version it had.
        row.status = SubscriptionStatus.ACTIVE
        row.status_reason = f"version change failed: {operation.error}"
    else:
        row.status, row.status_reason = SubscriptionStatus.FAILED, operation.error


def _tenant_offboarded(session: Session, operation: Operation) -> None:
    """An offboarded tenant's subscriptions end with it (its module paths closed first)."""
    assert operation.tenant_id is not None  # noqa: S101 - a tenant operation
    live = scoped(select(Subscription), Subscription, operation.tenant_id).where(
        Subscription.status != SubscriptionStatus.REMOVED
    )
    for row in session.scalars(live):
        row.status, row.status_reason = SubscriptionStatus.REMOVED, "tenant offboarded"


def register_plans() -> None:
    """Register the subscription plans and hooks with the engine."""
    for kind, steps in STEPS.items():
        compensate = kind == SubscriptionOperation.SUBSCRIBE
        register(Plan(kind=kind, steps=steps, context=context_of, compensate=compensate))
        on(kind, When.SUCCESS, _settled)
        on(kind, When.FAILURE, _unsettled)
    on(TenantOperation.OFFBOARD, When.SUCCESS, _tenant_offboarded)
