"""The reconciler: compare desired with actual state in every system and repair drift."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.orm import Session

from taas.audit.repository import AuditRepository
from taas.integrations.identity import new_password
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
        found["keycloak"] = identity_changes
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
    """Reconcile every active or suspended tenant; errors are logged and the rest go on."""
    report: dict[uuid.UUID, int] = {}
    for tenant in TenantRepository(session).in_states(Scope.platform(ACTOR), RECONCILED):
        try:
            report[tenant.id] = len(reconcile_tenant(session, systems, tenant))
            session.commit()
        except Exception:
            session.rollback()
            log.exception("reconciling tenant %s failed; will retry next round", tenant.slug)
    return report
