"""A subscription's operations as plans for the engine: subscribe, change version and
unsubscribe, each in the subscription's own lane (beside the tenant's operations).

What the operations' ends change (the subscription's version, status and upstream, in the
engine's transaction) is in :mod:`taas.subscriptions.reactions`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from taas.integrations.spec import ModuleSpec
from taas.kit.db import new_session
from taas.kit.scope import Scope
from taas.kit.settings import app_settings
from taas.operations.models import Operation
from taas.operations.plans import Plan, Step, register
from taas.operations.repository import lane
from taas.plugins.manifest import requestable_scopes
from taas.plugins.models import PluginVersion
from taas.plugins.repository import PluginVersionRepository, VendorRepository
from taas.subscriptions.models import Subscription
from taas.subscriptions.repository import SubscriptionRepository
from taas.tenants.plans import TenantContext, context_of

# Whose read the route step's is: the platform's own, for the operation's subscription.
ROUTING = Scope.platform("system:subscription-routing")


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
        health_path=params.get("health_path", "/healthz"),
        cpu_limit=params.get("cpu_limit"),
        max_replicas=params.get("max_replicas"),
        cpu_target_percent=int(params.get("cpu_target_percent", 70)),
    )


def module_params(row: PluginVersion) -> dict[str, Any]:
    """What a subscription operation deploys of this version (see :func:`module_of`)."""
    upstream = row.manifest.get("upstream", {})
    resources = row.manifest.get("resources", {})
    return {
        "plugin_version_id": str(row.id),
        "name": row.name,
        "version": row.version,
        "image": upstream.get("image"),
        "port": int(upstream.get("port", 8080)),
        "upstream_url": upstream.get("url"),
        "cpu": resources.get("cpu", "100m"),
        "memory": resources.get("memory", "128Mi"),
        "replicas": int(resources.get("replicas", 1)),
        "cpu_limit": resources.get("cpu_limit"),
        "max_replicas": resources.get("max_replicas"),
        "cpu_target_percent": int(resources.get("cpu_target_percent", 70)),
        "scopes": requestable_scopes(row.manifest),
        "health_path": row.manifest.get("health_path", "/healthz"),
    }


def module_spec(row: PluginVersion) -> ModuleSpec:
    spec = module_of(module_params(row))
    assert spec is not None  # noqa: S101 - built from a non-empty dict
    return spec


def _module(ctx: TenantContext, key: str = "module") -> ModuleSpec:
    module = module_of(ctx.params.get(key))
    if module is None:
        raise LookupError(f"operation has no {key} parameters")
    return module


@dataclass
class ModuleContext(TenantContext):
    """A subscription step's context: the tenant's, plus the key the module's vendor checks
    the gateway's signature with (read when the step runs, never kept in the operation)."""

    signing_secret: str = ""


def module_context_of(session: Session, operation: Operation) -> ModuleContext:
    tenant = context_of(session, operation)
    secret = ""
    version_id = (operation.params.get("module") or {}).get("plugin_version_id")
    version = PluginVersionRepository(session).get(uuid.UUID(version_id)) if version_id else None
    if version is not None:
        vendor = VendorRepository(session).get(version.vendor_id)
        secret = vendor.signing_secret if vendor is not None else ""
    return ModuleContext(tenant.spec, tenant.systems, tenant.params, signing_secret=secret)


def _deploy_module(ctx: ModuleContext) -> list[str]:
    return ctx.systems.modules.ensure(ctx.spec, _module(ctx), ctx.signing_secret)


def _await_module(ctx: ModuleContext) -> list[str]:
    return ctx.systems.modules.wait_ready(ctx.spec, _module(ctx))


def _nothing_to_undo(ctx: ModuleContext) -> list[str]:
    """Waiting changed nothing (the workload step's undo removes what it deployed)."""
    del ctx
    return []


def _remove_module(ctx: TenantContext) -> list[str]:
    return ctx.systems.modules.remove(ctx.spec, _module(ctx))


def _grant_scopes(ctx: ModuleContext) -> list[str]:
    module = _module(ctx)
    changes = ctx.systems.identity.ensure_module_scopes(ctx.spec, list(module.scopes))
    previous = module_of(ctx.params.get("previous"))
    if previous is not None:
        dropped = set(previous.scopes) - set(module.scopes) - _needed_elsewhere(ctx)
        changes += ctx.systems.identity.remove_module_scopes(ctx.spec, sorted(dropped))
    return changes


def _revoke_scopes(ctx: TenantContext) -> list[str]:
    unneeded = set(_module(ctx).scopes) - _needed_elsewhere(ctx)
    return ctx.systems.identity.remove_module_scopes(ctx.spec, sorted(unneeded))


def _needed_elsewhere(ctx: TenantContext) -> set[str]:
    """Scopes the bank's other live subscriptions still need (two plugins may share one)."""
    subscription_id = uuid.UUID(ctx.params["subscription_id"])
    with new_session() as session:
        versions = PluginVersionRepository(session)
        others = [
            versions.get(row.plugin_version_id)
            for row in SubscriptionRepository(session).all_live(ROUTING.narrow(ctx.spec.id))
            if row.id != subscription_id
        ]
        manifests = [row.manifest for row in others if row is not None]
    return {scope for manifest in manifests for scope in requestable_scopes(manifest)}


def route(row: Subscription, ctx: TenantContext) -> bool:
    """Point the subscription's route at the operation's module: its Service when the
    platform runs its image, else where its vendor runs it. True when the route changed."""
    module = _module(ctx)
    version_id = uuid.UUID(ctx.params["module"]["plugin_version_id"])
    modules = ctx.systems.modules
    upstream = (
        modules.service_url(ctx.spec, module) if module.runs_image else module.upstream_url or ""
    )
    changed = (row.plugin_version_id, row.upstream_url) != (version_id, upstream)
    row.plugin_version_id, row.upstream_url = version_id, upstream
    return changed


def _route_new_version(ctx: TenantContext) -> list[str]:
    """Move the bank's calls to the new version (committed: the gateways hear of it at
    once), then give every gateway the grace to apply it before the old version goes."""
    subscription_id = uuid.UUID(ctx.params["subscription_id"])
    with new_session() as session:
        row = SubscriptionRepository(session).get(ROUTING, subscription_id)
        if row is None:
            return []
        changed = route(row, ctx)
        session.commit()
    if not changed:
        return []
    if not ctx.spec.isolated:  # a silo bank's workload is the same one, rolled in place
        time.sleep(app_settings().route_switch_grace_s)
    module = _module(ctx)
    return [f"routed {module.name} calls of {ctx.spec.slug} to {module.version}"]


def _retire_previous(ctx: TenantContext) -> list[str]:
    """After a version change: the shared workload of the old version, if nobody uses it."""
    previous = module_of(ctx.params.get("previous"))
    if previous is None or ctx.spec.isolated:
        return []
    return [c for c in ctx.systems.modules.prune_shared(previous) if c]


ModuleStep = Step[ModuleContext]
MODULE_WORKLOAD = ModuleStep("kubernetes.module_workload", _deploy_module, _remove_module)
MODULE_READY = ModuleStep("kubernetes.module_ready", _await_module, _nothing_to_undo)
MODULE_SCOPES = ModuleStep("keycloak.module_scopes", _grant_scopes, _revoke_scopes)
STEPS: dict[SubscriptionOperation, tuple[ModuleStep, ...]] = {
    SubscriptionOperation.SUBSCRIBE: (MODULE_WORKLOAD, MODULE_READY, MODULE_SCOPES),
    SubscriptionOperation.CHANGE_VERSION: (
        MODULE_WORKLOAD,
        MODULE_READY,
        MODULE_SCOPES,
        ModuleStep("gateway.route_new_version", _route_new_version),
        ModuleStep("kubernetes.retire_previous_version", _retire_previous),
    ),
    SubscriptionOperation.UNSUBSCRIBE: (
        ModuleStep("keycloak.remove_module_scopes", _revoke_scopes),
        ModuleStep("kubernetes.remove_module_workload", _remove_module),
    ),
}


def register_plans() -> None:
    """Register the subscription plans with the engine (their hooks: ``reactions``)."""
    for kind, steps in STEPS.items():
        compensate = kind == SubscriptionOperation.SUBSCRIBE
        register(Plan(kind=kind, steps=steps, context=module_context_of, compensate=compensate))
