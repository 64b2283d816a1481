"""The reconciler: compare desired with actual state in every system and repair drift.

A full pass is level-triggered and bulk: it lists what exists in each system once
(:mod:`taas.integrations.inventory`), compares that with every active or suspended tenant's
desired state, and runs the per-tenant repair (:func:`reconcile_tenant`) only for the
tenants that differ. Drift repaired is recorded on the tenant and audited either way.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.orm import Session

from taas.audit.repository import AuditRepository
from taas.integrations.identity import IdentityTenants, new_password
from taas.integrations.inventory import (
    Inventory,
    KubernetesInventory,
    PostgresInventory,
    RealmInventory,
    StorageInventory,
    take_inventory,
)
from taas.integrations.kubernetes import KubernetesTenants
from taas.integrations.kubernetes import subset as matches
from taas.integrations.postgres import PostgresTenants
from taas.integrations.spec import TenantSpec
from taas.integrations.storage import bucket_policy, normalized, user_policy
from taas.integrations.systems import Systems
from taas.kit.db import utcnow
from taas.kit.scope import Scope
from taas.kit.telemetry import tracer
from taas.operations.repository import OperationRepository
from taas.tenants.models import Tenant
from taas.tenants.plans import spec_of, tenant_lane
from taas.tenants.repository import TenantRepository
from taas.tenants.states import TenantStatus

log = logging.getLogger(__name__)
RECONCILED = (TenantStatus.ACTIVE, TenantStatus.SUSPENDED)
ACTOR = "system:reconciler"
CREDENTIAL_KEYS = {"postgres_password", "storage_secret_key"}


def reconcile_tenant(session: Session, systems: Systems, tenant: Tenant) -> list[dict[str, Any]]:
    """Repair one tenant; record and return the drift found (empty when none)."""
    if tenant.status not in RECONCILED:
        return []
    if OperationRepository(session).open_in(tenant_lane(tenant.id)) is not None:
        return []  # an operation is converging this tenant already
    spec = spec_of(tenant)
    drift: list[dict[str, Any]] = []
    with tracer().start_as_current_span("reconcile.tenant") as span:
        span.set_attribute("tenant.id", str(tenant.id))
        k8s = systems.kubernetes
        found: dict[str, list[str]] = {"kubernetes": k8s.ensure(spec)}
        credentials = k8s.read_credentials(spec)
        password = credentials.get("postgres_password") or new_password()
        storage_secret = credentials.get("storage_secret_key") or new_password()
        if "postgres_password" not in credentials or "storage_secret_key" not in credentials:
            k8s.write_credentials(
                spec, {"postgres_password": password, "storage_secret_key": storage_secret}
            )
            found["kubernetes"].append("restored the tenant credentials secret")
        active = tenant.status == TenantStatus.ACTIVE
        found["postgres"] = systems.postgres.ensure(spec, password, login=active)
        found["minio"] = systems.storage.ensure(spec, storage_secret)
        admin_password = credentials.get("admin_temporary_password") or new_password()
        identity_changes, _ = systems.identity.ensure(spec, admin_password)
        found["keycloak"] = identity_changes + systems.identity.ensure_enabled(spec, enabled=active)
    now = utcnow().isoformat(timespec="seconds")
    drift = [
        {"system": system, "repaired": change, "at": now}
        for system, changes in found.items()
        for change in changes
    ]
    tenant.reconciled_at = utcnow()
    tenant.drift = drift
    if drift:
        AuditRepository(session).append(
            actor=ACTOR,
            action="reconcile.repaired",
            outcome="succeeded",
            tenant_id=tenant.id,
            detail={"drift": drift},
        )
    return drift


def reconcile_all(session: Session, systems: Systems) -> dict[uuid.UUID, int]:
    """One pass over every active or suspended tenant: list each system once, repair the
    tenants that differ from their desired state; errors are logged and the rest go on."""
    tenants = TenantRepository(session).in_states(Scope.platform(ACTOR), RECONCILED)
    specs = {tenant.id: spec_of(tenant) for tenant in tenants}
    with tracer().start_as_current_span("reconcile.inventory") as span:
        span.set_attribute("tenants", len(tenants))
        inventory = take_inventory(systems, list(specs.values()))
    report: dict[uuid.UUID, int] = {}
    differing: list[Tenant] = []
    now = utcnow()
    for tenant in tenants:
        active = tenant.status == TenantStatus.ACTIVE
        if differences(specs[tenant.id], inventory, systems, active=active):
            differing.append(tenant)
            continue
        tenant.reconciled_at = now
        if tenant.drift:
            tenant.drift = []
        report[tenant.id] = 0
    session.commit()
    for tenant in differing:
        try:
            session.refresh(tenant)  # the listing is a moment old: act on the current status
            report[tenant.id] = len(reconcile_tenant(session, systems, tenant))
            session.commit()
        except Exception:
            session.rollback()
            log.exception("reconciling tenant %s failed; will retry next round", tenant.slug)
    log.info(
        "reconcile pass: %d tenants, %d differed; listing took %s",
        len(tenants),
        len(differing),
        inventory.seconds,
    )
    return report


def reconcile_each(session: Session, systems: Systems) -> dict[uuid.UUID, int]:
    """The per-tenant pass (every system called for every tenant); kept to measure the bulk
    pass against, and for a deep check when listing is not to be trusted."""
    report: dict[uuid.UUID, int] = {}
    for tenant in TenantRepository(session).in_states(Scope.platform(ACTOR), RECONCILED):
        try:
            report[tenant.id] = len(reconcile_tenant(session, systems, tenant))
            session.commit()
        except Exception:
            session.rollback()
            log.exception("reconciling tenant %s failed; will retry next round", tenant.slug)
    return report


def differences(
    spec: TenantSpec, inventory: Inventory, systems: Systems, *, active: bool
) -> list[str]:
    """What about this tenant differs from its desired state, as listed (empty: nothing)."""
    return (
        _kubernetes_differences(spec, inventory.kubernetes, systems.kubernetes)
        + _postgres_differences(spec, inventory.postgres, systems.postgres, active=active)
        + _storage_differences(spec, inventory.storage)
        + _identity_differences(spec, inventory.identity, systems.identity, active=active)
    )


def _kubernetes_differences(
    spec: TenantSpec, listed: KubernetesInventory, k8s: KubernetesTenants
) -> list[str]:
    ns = listed.namespaces.get(spec.namespace)
    if ns is None:
        return [f"namespace {spec.namespace} missing"]
    found = []
    wanted_labels = k8s.namespace_manifest(spec)["metadata"]["labels"]
    if not matches(wanted_labels, ns["metadata"].get("labels")):
        found.append(f"namespace {spec.namespace} labels differ")
    if (ns.get("status") or {}).get("phase") == "Terminating":
        found.append(f"namespace {spec.namespace} terminating")
    for _, kind, manifest, field in k8s.desired_objects(spec):
        name = manifest["metadata"]["name"]
        item = listed.objects.get((spec.namespace, kind, name))
        if item is None:
            found.append(f"{kind} {name} missing")
        elif not matches(manifest.get(field), item.get(field)):
            found.append(f"{kind} {name} differs")
    if not listed.credential_keys.get(spec.namespace, set()) >= CREDENTIAL_KEYS:
        found.append("credentials secret incomplete")
    return found


def _postgres_differences(
    spec: TenantSpec, listed: PostgresInventory, postgres: PostgresTenants, *, active: bool
) -> list[str]:
    found = []
    login = listed.roles.get(spec.db_name)
    if login is None:
        found.append(f"role {spec.db_name} missing")
    elif login != active:
        found.append(f"role {spec.db_name} login is {login}")
    database = postgres.database_of(spec)
    if database not in listed.databases:
        found.append(f"database {database} missing")
    elif spec.db_name not in listed.schemas.get(database, set()):
        found.append(f"schema {spec.db_name} missing")
    return found


def _storage_differences(spec: TenantSpec, listed: StorageInventory) -> list[str]:
    found = []
    if spec.bucket not in listed.buckets:
        return [f"bucket {spec.bucket} missing"]
    if normalized(listed.bucket_policies.get(spec.bucket)) != normalized(bucket_policy(spec)):
        found.append(f"bucket policy of {spec.bucket} differs")
    policy = f"{spec.bucket}-rw"
    if normalized(listed.policies.get(policy)) != normalized(user_policy(spec)):
        found.append(f"policy {policy} differs")
    user = listed.users.get(spec.storage_user)
    if user is None:
        found.append(f"user {spec.storage_user} missing")
    elif policy not in str(user.get("policyName", "")):
        found.append(f"policy {policy} not attached")
    return found


def _identity_differences(
    spec: TenantSpec,
    listed: dict[str, RealmInventory],
    identity: IdentityTenants,
    *,
    active: bool,
) -> list[str]:
    realm = listed.get(identity.realm_of(spec))
    if realm is None:
        return [f"realm {identity.realm_of(spec)} missing"]
    found = []
    if spec.isolated and realm.enabled != active:
        found.append(f"realm {spec.realm} enabled is {realm.enabled}")
    if not spec.isolated and spec.slug not in realm.organizations:
        found.append(f"organization {spec.slug} missing")
    client = realm.clients.get(spec.systems_client)
    if client is None:
        found.append(f"client {spec.systems_client} missing")
    elif client != (active or spec.isolated):
        found.append(f"client {spec.systems_client} enabled is {client}")
    if realm.users is not None and spec.admin_username not in realm.users:
        found.append(f"user {spec.admin_username} missing")
    return found
