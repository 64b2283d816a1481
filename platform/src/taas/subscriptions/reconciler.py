"""The workloads' reconciler: every routed subscription of an active tenant to a module the
platform runs has its Deployment, Service, signing Secret and NetworkPolicies as declared
(re-applied when deleted or changed by hand), and module workloads that no subscription
owns are removed (also what is left of one whose Deployment went). A suspended or
offboarding tenant's workloads are left to its own operations, and kept.

It runs after the tenants' pass in the same periodic task. A workload younger than
``ORPHAN_GRACE_S`` is never taken for an orphan: a subscription being made creates its
workload before the subscription is routed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from typing import Any

from sqlalchemy.orm import Session

from taas.audit.repository import AuditRepository
from taas.integrations.systems import Systems
from taas.integrations.workloads import MODULE_LABEL, SHARED_LABEL
from taas.kit.db import utcnow
from taas.kit.scope import Scope
from taas.kit.telemetry import tracer
from taas.plugins.repository import VendorRepository
from taas.subscriptions.plans import module_spec
from taas.subscriptions.repository import SubscriptionRepository
from taas.tenants.plans import spec_of
from taas.tenants.states import TenantStatus

log = logging.getLogger(__name__)
ACTOR = "system:reconciler"
ORPHAN_GRACE_S = 600.0
SANDBOX_PREFIX = "taas-sandbox-"  # validations' own; removed by their last step


def reconcile_workloads(
    session: Session,
    systems: Systems,
    *,
    grace_s: float = ORPHAN_GRACE_S,
    namespaces: Collection[str] | None = None,
) -> dict[str, list[str]]:
    """Repair the workloads of routed subscriptions and remove orphans (older than
    ``grace_s``, in ``namespaces`` if given); what changed, by ``repaired`` and ``removed``."""
    modules = systems.modules
    vendors = VendorRepository(session)
    repaired: list[str] = []
    wanted: set[tuple[str, str]] = set()
    with tracer().start_as_current_span("reconcile.workloads"):
        for row, tenant, version in SubscriptionRepository(session).deployed(Scope.platform(ACTOR)):
            module, spec = module_spec(version), spec_of(tenant)
            wanted.add(modules.location(spec, module))
            if not module.runs_image:
                continue  # a development module runs where its vendor runs it
            if tenant.status != TenantStatus.ACTIVE:
                continue  # suspended or going: its own operations say what runs
            vendor = vendors.get(version.vendor_id)
            try:
                changes = modules.ensure(spec, module, vendor.signing_secret if vendor else "")
            except Exception:
                log.exception("repairing %s of %s failed; next round", row.module, tenant.slug)
                continue
            if changes:
                repaired += changes
                AuditRepository(session).append(
                    actor=ACTOR,
                    action="reconcile.repaired",
                    outcome="succeeded",
                    tenant_id=tenant.id,
                    detail={"module": row.module, "repaired": changes},
                )
        removed = _remove_orphans(systems, wanted, grace_s, namespaces)
    if removed:
        AuditRepository(session).append(
            actor=ACTOR,
            action="reconcile.removed_orphans",
            outcome="succeeded",
            detail={"removed": removed},
        )
    session.commit()
    return {"repaired": repaired, "removed": removed}


def _remove_orphans(
    systems: Systems,
    wanted: set[tuple[str, str]],
    grace_s: float,
    namespaces: Collection[str] | None,
) -> list[str]:
    """Remove module workloads no subscription owns: a Deployment, or what is left of one
    whose Deployment is gone (its egress or path policies, found by their pod selector)."""
    kube = systems.kubernetes
    deployments = kube.list_objects("apps/v1", "Deployment", "", MODULE_LABEL)
    policies = kube.list_objects("networking.k8s.io/v1", "NetworkPolicy", "", MODULE_LABEL)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for policy in policies:
        selector = (policy.get("spec") or {}).get("podSelector") or {}
        workload = (selector.get("matchLabels") or {}).get(SHARED_LABEL)
        if workload:
            found[(policy["metadata"]["namespace"], workload)] = policy["metadata"]
    for deployment in deployments:  # a Deployment's own age counts, when there is one
        meta = deployment["metadata"]
        found[(meta["namespace"], meta["name"])] = meta
    removed: list[str] = []
    for where, meta in sorted(found.items()):
        if where in wanted or where[0].startswith(SANDBOX_PREFIX):
            continue
        if namespaces is not None and where[0] not in namespaces:
            continue
        if _age_s(meta) < grace_s:
            continue
        removed += systems.modules.remove_workload(*where)
    return removed


def _age_s(meta: dict[str, Any]) -> float:
    created = dt.datetime.fromisoformat(str(meta["creationTimestamp"]).replace("Z", "+00:00"))
    return (utcnow() - created).total_seconds()
