"""How subscriptions react to what happens elsewhere, in the same transaction.

- Their operations end (engine hooks): on success the subscription's version and the
  address of its upstream change with the operation's end, so the gateways route to the
  version the subscription is on, never to a mix of the two; a tenant's offboarding ends
  its subscriptions.
- Their plugin versions change (events of :mod:`taas.plugins.events`): a published
  version moves the ``stable`` channel, a revoked one moves or strands the subscriptions
  on it, a suspended or resumed one is noticed, and a vendor is not deleted while a bank
  subscribes to one of its versions.

:mod:`taas.wiring` registers every one of them.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from taas.catalog.service import stable_version
from taas.integrations.systems import systems
from taas.kit.errors import Conflict
from taas.kit.scope import Scope
from taas.operations.models import Operation
from taas.operations.plans import When, on
from taas.plugins.events import (
    VendorDeleting,
    VersionEvent,
    VersionPublished,
    VersionResumed,
    VersionRevoked,
    VersionSuspended,
)
from taas.plugins.models import PluginVersion
from taas.plugins.repository import PluginVersionRepository
from taas.subscriptions.credentials import cut_version_storage
from taas.subscriptions.models import Subscription
from taas.subscriptions.plans import STEPS, SubscriptionOperation, route
from taas.subscriptions.repository import SubscriptionRepository
from taas.subscriptions.service import SubscriptionChanges
from taas.subscriptions.states import SubscriptionStatus
from taas.tenants.models import Tenant
from taas.tenants.plans import TenantContext, TenantOperation, spec_of, tenant_of

# Whose reads these are: the platform's own, across tenants.
OPERATIONS = Scope.platform("system:subscription-operations")
VERSIONS = Scope.platform("system:plugin-version-events")

# ---------------------------------------------------------------------- operations


def _subscription(session: Session, operation: Operation) -> Subscription | None:
    subscription_id = uuid.UUID(operation.params["subscription_id"])
    return SubscriptionRepository(session).get(OPERATIONS, subscription_id)


def settled(session: Session, operation: Operation) -> None:
    row = _subscription(session, operation)
    if row is None:
        return
    if operation.kind == SubscriptionOperation.UNSUBSCRIBE:
        row.status, row.status_reason = SubscriptionStatus.REMOVED, "unsubscribed"
        return
    row.status, row.status_reason = SubscriptionStatus.ACTIVE, None
    spec = spec_of(tenant_of(session, operation))
    route(row, TenantContext(spec, systems(), operation.params))


def unsettled(session: Session, operation: Operation) -> None:
    row = _subscription(session, operation)
    if row is None:
        return
    if operation.kind == SubscriptionOperation.CHANGE_VERSION:
        # Still deployed and routed on the version it had.
        row.status = SubscriptionStatus.ACTIVE
        row.status_reason = f"version change failed: {operation.error}"
    else:
        row.status, row.status_reason = SubscriptionStatus.FAILED, operation.error


def tenant_offboarded(session: Session, operation: Operation) -> None:
    """An offboarded tenant's subscriptions end with it (its module paths closed first)."""
    assert operation.tenant_id is not None  # noqa: S101 - a tenant operation
    for row in SubscriptionRepository(session).all_live(OPERATIONS.narrow(operation.tenant_id)):
        row.status, row.status_reason = SubscriptionStatus.REMOVED, "tenant offboarded"


def register_hooks() -> None:
    """Tell the engine what subscriptions do when operations end."""
    for kind in STEPS:
        on(kind, When.SUCCESS, settled)
        on(kind, When.FAILURE, unsettled)
    on(TenantOperation.OFFBOARD, When.SUCCESS, tenant_offboarded)


# ---------------------------------------------------------------------- plugin versions


def _changes(session: Session, event: VersionEvent) -> SubscriptionChanges:
    return SubscriptionChanges(session, event.actor, event.request_id)


def _stable(session: Session, module: str) -> PluginVersion | None:
    return stable_version(PluginVersionRepository(session).of_module(module))


def follow_channel(session: Session, event: VersionPublished) -> None:
    """Move ``stable`` subscriptions to the module's newest stable version."""
    target = _stable(session, event.name)
    if target is None:
        return
    changes = _changes(session, event)
    versions = PluginVersionRepository(session)
    for row, tenant in SubscriptionRepository(session).behind_channel(
        VERSIONS, event.name, target.id
    ):
        if changes.busy(row):
            continue
        current = versions.get(row.plugin_version_id)
        changes.change_version(tenant, row, target)
        changes.notify(
            row,
            f"{event.name} {target.version} was published; this subscription follows the "
            f"stable channel and moves to it" + (f" from {current.version}" if current else ""),
        )


def after_revoke(session: Session, event: VersionRevoked) -> None:
    """What revoking a version does to the subscriptions on it.

    Their storage credentials end. Those following the ``stable`` channel move (a
    change-version operation, audited) to what the channel follows now, the newest published
    release; a pinned subscription, or one with no published version left, stays and its
    calls answer 503. Every one of them gets a notice saying what happened and what to do."""
    cut_version_storage(session, event.version_id)  # the module keeps no access to bank data
    target = _stable(session, event.name)
    changes = _changes(session, event)
    what = f"{event.name} {event.version} was revoked ({event.reason})"
    for row, tenant in SubscriptionRepository(session).on_version(VERSIONS, event.version_id):
        movable = row.channel == "stable" and row.status == SubscriptionStatus.ACTIVE
        if movable and target is not None and not changes.busy(row):
            operation = changes.change_version(tenant, row, target)
            event.started.append(operation.id)
            changes.notify(
                row,
                f"{what}; this subscription follows the stable channel and moves to "
                f"{target.version}",
            )
            changes.audit(
                "subscription.moved",
                tenant,
                {
                    "module": row.module,
                    "from": event.version,
                    "to": target.version,
                    "why": "version revoked",
                    "operation": str(operation.id),
                },
            )
            continue
        changes.notify(row, f"{what}; {_stranded_todo(row, tenant, target)}")
        changes.audit(
            "subscription.stranded",
            tenant,
            {"module": row.module, "version": event.version, "why": "version revoked"},
        )


def _stranded_todo(row: Subscription, tenant: Tenant, target: PluginVersion | None) -> str:
    if row.channel == "stable" and target is None:
        return (
            "no published version of the module is left: calls answer 503 until the "
            "vendor publishes one (this subscription then moves to it), or unsubscribe"
        )
    return (
        "calls answer 503: move this subscription to a published version "
        f"(PATCH /v1/tenants/{tenant.slug}/subscriptions/{row.module} with "
        '{"channel": "stable"} or {"version": "<version>"}), or unsubscribe'
    )


def after_suspend(session: Session, event: VersionSuspended) -> None:
    """Suspension is temporary: subscriptions stay on the version and are told; the
    storage credentials minted for them end (no bank data while it is stopped)."""
    cut_version_storage(session, event.version_id)
    for row, _ in SubscriptionRepository(session).on_version(VERSIONS, event.version_id):
        SubscriptionChanges.notify(
            row,
            f"{event.name} {event.version} is suspended by the TaaS operators "
            f"({event.reason}); calls answer 503 until it is resumed, or move this "
            "subscription to another published version",
        )


def after_resume(session: Session, event: VersionResumed) -> None:
    for row, _ in SubscriptionRepository(session).on_version(VERSIONS, event.version_id):
        SubscriptionChanges.notify(
            row, f"{event.name} {event.version} was resumed; calls are served"
        )


def refuse_vendor_delete(session: Session, event: VendorDeleting) -> None:
    """A vendor is not deleted while a bank subscribes to one of its versions."""
    served = SubscriptionRepository(session).served(VERSIONS, event.version_ids)
    if served:
        listed = ", ".join(f"{name} {version} ({count})" for name, version, count in served)
        raise Conflict(
            f"banks still subscribe to vendor {event.vendor!r}'s versions: {listed}",
            hint="revoke those versions (taas plugins revoke NAME VERSION --reason ...) "
            "and delete again, or disable the vendor instead (taas vendors disable "
            f"{event.vendor}), which keeps serving banks",
        )
