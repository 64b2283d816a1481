"""Modules' short-lived storage credentials: minted from a gateway's grant for a live
subscription, and cut when the subscription, its version or its tenant stops."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from taas.audit.repository import AuditRepository
from taas.integrations.systems import systems
from taas.kit import grants
from taas.kit.errors import Conflict, Forbidden
from taas.kit.scope import Scope
from taas.kit.settings import app_settings
from taas.plugins.contract import (
    SANDBOX,
    STS_MIN_DURATION_S,
    is_sandbox,
    sandbox_secret,
)
from taas.plugins.repository import PluginVersionRepository
from taas.plugins.states import SERVABLE, PluginStatus
from taas.subscriptions.repository import SubscriptionRepository
from taas.tenants.models import Tenant
from taas.tenants.plans import spec_of
from taas.tenants.repository import TenantRepository
from taas.tenants.states import TenantStatus

MINTER = "system:storage-credentials"


def mint_storage_credentials(session: Session, token: str) -> dict[str, Any]:
    """Exchange a storage grant for short-lived credentials of that tenant, confined to the
    module's prefix in the tenant's bucket (or, for a contract check, in the sandbox); with
    the storage endpoint as modules reach it."""
    minted = _mint(session, token)
    endpoint = app_settings().module_storage_endpoint
    return {**minted, "endpoint": endpoint} if endpoint else minted


def _mint(session: Session, token: str) -> dict[str, Any]:
    settings = app_settings()
    grant = grants.verify(settings.storage_grant_secret, token)
    if is_sandbox(grant):  # the contract check's pretend tenant
        return _sandbox_credentials(session, grant, settings.storage_grant_secret)
    # The grant, signed by the platform, names the tenant: its scope is that tenant's.
    scope = Scope.tenant(f"module:{grant.module}", uuid.UUID(grant.tenant_id))
    tenant = TenantRepository(session).get(scope, uuid.UUID(grant.tenant_id))
    if tenant is None or tenant.slug != grant.tenant or tenant.status != TenantStatus.ACTIVE:
        raise Forbidden("the grant's tenant is not active")
    subscriptions = SubscriptionRepository(session)
    row = subscriptions.routed(scope, grant.module)
    if row is None:
        raise Forbidden(f"tenant {tenant.slug} does not subscribe to {grant.module}")
    version = PluginVersionRepository(session).get(row.plugin_version_id)
    if version is None or version.status not in SERVABLE:
        state = version.status if version else "gone"
        raise Forbidden(f"{grant.module} {grant.version} is not served ({state})")
    declared = set(version.manifest.get("data", {}).get("storage", []))
    access = declared & set(grant.access)
    if not access:
        raise Forbidden(f"{grant.module} declares no storage access")
    spec = spec_of(tenant)
    secret = systems().kubernetes.read_credentials(spec).get("storage_secret_key")
    if not secret:
        raise Conflict("the tenant's storage identity is missing", hint="reconcile the tenant")
    minted = systems().storage.module_credentials(
        spec,
        secret,
        module=grant.module,
        write="write" in access,
        duration_s=settings.storage_credentials_ttl_s,
    )
    if not subscriptions.is_routed(scope, row.id):  # unsubscribed while minting: take it back
        cut_module_storage(tenant, [grant.module])
        raise Forbidden(f"tenant {tenant.slug} does not subscribe to {grant.module}")
    AuditRepository(session).append(
        actor=f"module:{grant.module}",
        action="storage.credentials",
        outcome="granted",
        tenant_id=tenant.id,
        detail={"module": grant.module, "access": sorted(access), "prefix": minted["prefix"]},
    )
    session.commit()
    return minted


def _sandbox_credentials(
    session: Session, grant: grants.Grant, grant_secret: str
) -> dict[str, Any]:
    """Credentials in the sandbox bucket, only for a version being validated right now."""
    validating = PluginVersionRepository(session).find(
        grant.module, grant.version, status=PluginStatus.VALIDATING
    )
    if validating is None:
        raise Forbidden(f"{grant.module} {grant.version} is not being validated")
    secret = sandbox_secret(grant_secret)
    storage = systems().storage
    storage.ensure(SANDBOX, secret)
    return storage.module_credentials(
        SANDBOX, secret, module=grant.module, write=True, duration_s=STS_MIN_DURATION_S
    )


def cut_version_storage(session: Session, version_id: uuid.UUID) -> list[str]:
    """End the storage credentials of every subscription on a version (revoked or
    suspended): the module keeps no access to any bank's data through them."""
    changes = []
    every = SubscriptionRepository(session).on_version(
        Scope.platform(MINTER), version_id, every=True
    )
    for row, tenant in every:
        changes += cut_module_storage(tenant, [row.module])
    return changes


def cut_module_storage(tenant: Tenant, modules: list[str] | None = None) -> list[str]:
    """End at once the storage credentials minted for these subscriptions of ``tenant``
    (all of them when ``modules`` is None): call it when a subscription stops (unsubscribe),
    its version is revoked or suspended, or the tenant is suspended or offboarded. A later
    grant of a live subscription mints from a new identity."""
    return systems().storage.cut_module_access(spec_of(tenant), modules)
