"""Subscriptions: a bank's tenant using a module, provisioned by the operations engine.

Subscribing, changing version and unsubscribing are operations in the subscription's own
lane (they run beside the tenant's operations). Limits change at once. What the gateways
route follows the database: a subscription is routed while ``active`` (or ``updating``,
on its current version), and stops being routed the moment an unsubscribe is accepted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from taas.audit.repository import AuditRepository
from taas.catalog.service import stable_version
from taas.integrations.systems import systems
from taas.kit.auth import Principal
from taas.kit.db import utcnow
from taas.kit.errors import Conflict, Forbidden, NotFound
from taas.kit.scope import Scope, caller_scope
from taas.kit.service import CallerService
from taas.kit.telemetry import current_traceparent
from taas.operations.models import Operation
from taas.operations.repository import OperationRepository
from taas.plugins.models import PluginVersion
from taas.plugins.repository import PluginVersionRepository
from taas.plugins.states import SERVABLE, SUBSCRIBABLE
from taas.subscriptions.credentials import cut_module_storage
from taas.subscriptions.models import Subscription
from taas.subscriptions.plans import (
    SubscriptionOperation,
    module_params,
    module_spec,
    subscription_lane,
)
from taas.subscriptions.repository import SubscriptionRepository
from taas.subscriptions.schemas import (
    OperationRef,
    SubscriptionAccepted,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionUpdate,
)
from taas.subscriptions.states import SubscriptionStatus
from taas.tenants.models import Tenant
from taas.tenants.plans import spec_of
from taas.tenants.service import TenantService
from taas.tenants.states import TenantStatus


class SubscriptionChanges:
    """What starting a subscription's operation records, on behalf of ``actor``: the
    operation (handed to the workers after commit), the audit entry and notices."""

    def __init__(self, session: Session, actor: str, request_id: str | None) -> None:
        self.session = session
        self.actor = actor
        self.request_id = request_id
        self.operations = OperationRepository(session)
        self.versions = PluginVersionRepository(session)
        self.audit_trail = AuditRepository(session)

    def start(
        self,
        tenant: Tenant,
        row: Subscription,
        kind: SubscriptionOperation,
        module: dict[str, Any],
        previous: dict[str, Any] | None = None,
    ) -> Operation:
        self.session.flush()
        return self.operations.start(
            lane=subscription_lane(row.id),
            tenant_id=tenant.id,
            kind=kind,
            requested_by=self.actor,
            request_id=self.request_id,
            traceparent=current_traceparent(),
            params={"subscription_id": str(row.id), "module": module, "previous": previous},
            busy="this subscription",
        )

    def change_version(self, tenant: Tenant, row: Subscription, target: PluginVersion) -> Operation:
        current = self.versions.get(row.plugin_version_id)
        assert current is not None  # noqa: S101 - a foreign key
        row.status = SubscriptionStatus.UPDATING
        return self.start(
            tenant,
            row,
            SubscriptionOperation.CHANGE_VERSION,
            module_params(target),
            previous=module_params(current),
        )

    def busy(self, row: Subscription) -> bool:
        """Whether an operation of ``row`` is still open."""
        return self.operations.open_in(subscription_lane(row.id)) is not None

    def audit(self, action: str, tenant: Tenant, detail: dict[str, Any]) -> None:
        self.audit_trail.append(
            actor=self.actor,
            action=action,
            outcome="accepted",
            tenant_id=tenant.id,
            request_id=self.request_id,
            detail=detail,
        )

    @staticmethod
    def notify(row: Subscription, notice: str) -> None:
        row.notice, row.notice_at = notice, utcnow()


class SubscriptionService(CallerService):
    def __init__(self, session: Session, principal: Principal, request_id: str | None) -> None:
        super().__init__(session, principal, request_id)
        self.tenants = TenantService(session, principal, request_id)
        self.subscriptions = SubscriptionRepository(session)
        self.versions = PluginVersionRepository(session)
        self.changes = SubscriptionChanges(session, principal.name, request_id)

    # ------------------------------------------------------------------ reading

    def tenant(self, ref: str, *, write: bool = False) -> Tenant:
        tenant = self.tenants.visible(self.tenants.resolve(ref))
        if write and not (self.principal.is_operator or self.principal.is_bank_admin):
            raise Forbidden("only the bank's admins or platform operators may change subscriptions")
        return tenant

    def scope(self, tenant: Tenant) -> Scope:
        """What this caller may read of ``tenant``'s subscriptions."""
        return caller_scope(self.principal.subject, self.principal.tenant, tenant.id, tenant.slug)

    def list_for(self, tenant_ref: str) -> list[SubscriptionOut]:
        tenant = self.tenant(tenant_ref)
        rows = self.subscriptions.all_live(self.scope(tenant))
        return [self.out(row, tenant) for row in rows]

    def get(self, tenant_ref: str, module: str) -> SubscriptionOut:
        tenant = self.tenant(tenant_ref)
        return self.out(self._live(tenant, module), tenant)

    def out(self, row: Subscription, tenant: Tenant) -> SubscriptionOut:
        version = self.versions.get(row.plugin_version_id)
        assert version is not None  # noqa: S101 - a foreign key
        return SubscriptionOut(
            id=row.id,
            tenant_id=row.tenant_id,
            module=row.module,
            version=version.version,
            channel=row.channel,
            pinned_version=row.pinned_version,
            status=SubscriptionStatus(row.status),
            status_reason=row.status_reason,
            notice=row.notice,
            notice_at=row.notice_at,
            rate_limit_rps=row.rate_limit_rps,
            monthly_quota=row.monthly_quota,
            scopes=version.manifest.get("scopes", []),
            operation_scopes=version.manifest.get("operation_scopes", []),
            gateway_path=f"/t/{tenant.slug}/{row.module}/",
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    # ------------------------------------------------------------------ changing

    def subscribe(
        self, tenant_ref: str, request: SubscriptionCreate, idempotency_key: str | None
    ) -> SubscriptionAccepted:
        tenant = self.tenant(tenant_ref, write=True)
        scope = f"subscriptions.create:{tenant.id}"
        first = self.once(idempotency_key, scope, request.model_dump(mode="json"))
        if first.earlier is not None:
            return SubscriptionAccepted.model_validate(first.earlier)
        if tenant.status != TenantStatus.ACTIVE:
            raise Conflict(
                f"tenant is {tenant.status}; only active tenants can subscribe",
                hint="resume the tenant first",
            )
        version = self._resolve(request.module, request.version)
        if self.subscriptions.live(self.scope(tenant), request.module) is not None:
            raise Conflict(
                f"tenant already subscribes to {request.module}",
                hint="change the version with PATCH, or unsubscribe first",
            )
        module = module_spec(version)
        row = Subscription(
            tenant_id=tenant.id,
            module=request.module,
            channel=request.channel,
            pinned_version=request.version,
            plugin_version_id=version.id,
            upstream_url=module.upstream_url
            or systems().modules.service_url(spec_of(tenant), module),
            status=SubscriptionStatus.PROVISIONING,
            rate_limit_rps=request.rate_limit_rps or tenant.quotas["requests_per_second"],
            monthly_quota=request.monthly_quota,
            requested_by=self.principal.name,
        )
        if not self.subscriptions.add(row):
            raise Conflict(f"tenant already subscribes to {request.module}")
        operation = self.changes.start(
            tenant, row, SubscriptionOperation.SUBSCRIBE, module_params(version)
        )
        self.changes.audit("subscription.create", tenant, request.model_dump(mode="json"))
        accepted = self._accepted(tenant, row, operation)
        first.keep(accepted.model_dump(mode="json"))
        return accepted

    def change(
        self, tenant_ref: str, module: str, request: SubscriptionUpdate
    ) -> SubscriptionAccepted:
        tenant = self.tenant(tenant_ref, write=True)
        row = self._live(tenant, module, lock=True)
        changes = request.model_dump(exclude_unset=True, exclude_none=True)
        if "rate_limit_rps" in changes:
            row.rate_limit_rps = changes["rate_limit_rps"]
        if "monthly_quota" in changes:
            row.monthly_quota = changes["monthly_quota"]
        operation = None
        if "version" in changes or "channel" in changes:
            if row.status != SubscriptionStatus.ACTIVE:
                raise Conflict(
                    f"subscription is {row.status}; its version can change when active",
                    hint="wait for the current operation to finish",
                )
            target = self._resolve(module, request.version)
            row.channel, row.pinned_version = request.channel, request.version
            if target.id != row.plugin_version_id:
                operation = self.changes.change_version(tenant, row, target)
        self.changes.audit("subscription.update", tenant, {"module": module, **changes})
        return self._accepted(tenant, row, operation)

    def unsubscribe(self, tenant_ref: str, module: str) -> SubscriptionAccepted:
        tenant = self.tenant(tenant_ref, write=True)
        row = self._live(tenant, module, lock=True)
        if row.status == SubscriptionStatus.REMOVING:
            # Asked again while it is being removed: the same answer, no second operation.
            open_op = self.changes.operations.open_in(subscription_lane(row.id))
            return self._accepted(tenant, row, open_op)
        if row.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.FAILED):
            raise Conflict(
                f"subscription is {row.status}; it can be removed when active or failed",
                hint="wait for the current operation to finish",
            )
        version = self.versions.get(row.plugin_version_id)
        assert version is not None  # noqa: S101 - a foreign key
        row.status, row.status_reason = SubscriptionStatus.REMOVING, "unsubscribed"
        operation = self.changes.start(
            tenant, row, SubscriptionOperation.UNSUBSCRIBE, module_params(version)
        )
        self.changes.audit("subscription.delete", tenant, {"module": module})
        cut_module_storage(tenant, [module])
        return self._accepted(tenant, row, operation)

    # ------------------------------------------------------------------ helpers

    def _resolve(self, module: str, version: str | None) -> PluginVersion:
        versions = self.versions.of_module(module)
        if not any(v.status in SERVABLE for v in versions):
            raise NotFound(f"module {module!r} is not in the catalog", hint="see GET /v1/catalog")
        if version is None:
            chosen = stable_version(versions)
            if chosen is None:
                raise Conflict(f"module {module!r} has no stable release", hint="pin a version")
            return chosen
        chosen = next((v for v in versions if v.version == version), None)
        if chosen is None or chosen.status not in SUBSCRIBABLE:
            raise Conflict(
                f"{module} {version} cannot be subscribed to"
                + (f" (it is {chosen.status})" if chosen else " (no such version)"),
                hint="pick a published version from GET /v1/catalog",
            )
        return chosen

    def _live(self, tenant: Tenant, module: str, *, lock: bool = False) -> Subscription:
        row = self.subscriptions.live(self.scope(tenant), module, lock=lock)
        if row is None:
            raise NotFound(f"tenant does not subscribe to {module!r}")
        return row

    def _accepted(
        self, tenant: Tenant, row: Subscription, operation: Operation | None
    ) -> SubscriptionAccepted:
        self.session.flush()
        self.session.refresh(row)
        return SubscriptionAccepted(
            subscription=self.out(row, tenant),
            operation=OperationRef.model_validate(operation, from_attributes=True)
            if operation
            else None,
        )
