"""Subscriptions: a bank's tenant using a module, provisioned by the saga machinery.

Subscribing, changing version and unsubscribing are operations in the subscription's own
lane (they run beside the tenant's operations). Limits change at once. What the gateways
route follows the database: a subscription is routed while ``active`` (or ``updating``,
on its current version), and stops being routed the moment an unsubscribe is accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taas.audit.repository import AuditRepository
from taas.catalog.models import PluginVersion, Subscription
from taas.catalog.plans import SubscriptionOperation, module_of, subscription_lane
from taas.catalog.schemas import (
    OperationRef,
    SubscriptionAccepted,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionUpdate,
)
from taas.catalog.service import stable_version
from taas.catalog.states import SUBSCRIBABLE, PluginStatus, SubscriptionStatus
from taas.integrations.spec import ModuleSpec, TenantSpec
from taas.integrations.systems import systems
from taas.kit import grants
from taas.kit.auth import Principal
from taas.kit.db import scoped, utcnow
from taas.kit.errors import Conflict, Forbidden, NotFound
from taas.kit.idempotency import IdempotencyStore, request_hash
from taas.kit.settings import app_settings
from taas.kit.telemetry import current_traceparent
from taas.operations.models import Operation
from taas.operations.repository import OperationRepository
from taas.tenants.models import Tenant
from taas.tenants.plans import spec_of
from taas.tenants.service import TenantService
from taas.tenants.states import TenantStatus

LIVE = [s.value for s in SubscriptionStatus if s != SubscriptionStatus.REMOVED]


def module_params(row: PluginVersion) -> dict[str, Any]:
    """What a subscription operation deploys of this version (see ``saga.module_of``)."""
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
        "scopes": requestable_scopes(row.manifest),
    }


def requestable_scopes(manifest: dict[str, Any]) -> list[str]:
    """The scopes a subscribed bank's systems may ask for: the plugin's required scopes and
    those only some of its operations need."""
    return sorted({*manifest.get("scopes", []), *manifest.get("operation_scopes", [])})


def module_spec(row: PluginVersion) -> ModuleSpec:
    spec = module_of(module_params(row))
    assert spec is not None  # noqa: S101 - built from a non-empty dict
    return spec


class SubscriptionService:
    def __init__(self, session: Session, principal: Principal, request_id: str | None) -> None:
        self.session = session
        self.principal = principal
        self.request_id = request_id
        self.tenants = TenantService(session, principal, request_id)
        self.operations = OperationRepository(session)
        self.audit = AuditRepository(session)

    # ------------------------------------------------------------------ reading

    def tenant(self, ref: str, *, write: bool = False) -> Tenant:
        tenant = self.tenants.visible(self.tenants.resolve(ref))
        if write and not (self.principal.is_operator or self.principal.is_bank_admin):
            raise Forbidden("only the bank's admins or platform operators may change subscriptions")
        return tenant

    def list_for(self, tenant_ref: str) -> list[SubscriptionOut]:
        tenant = self.tenant(tenant_ref)
        query = scoped(select(Subscription), Subscription, tenant.id)
        rows = self.session.scalars(
            query.where(Subscription.status.in_(LIVE)).order_by(Subscription.module)
        )
        return [self.out(row, tenant) for row in rows]

    def get(self, tenant_ref: str, module: str) -> SubscriptionOut:
        tenant = self.tenant(tenant_ref)
        return self.out(self._live(tenant, module), tenant)

    def out(self, row: Subscription, tenant: Tenant) -> SubscriptionOut:
        version = self.session.get(PluginVersion, row.plugin_version_id)
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
        store = IdempotencyStore(self.session)
        if idempotency_key:
            earlier = store.claim(
                self.principal.name,
                idempotency_key,
                f"subscriptions.create:{tenant.id}",
                request_hash(request.model_dump(mode="json")),
            )
            if earlier is not None and earlier.response is not None:
                return SubscriptionAccepted.model_validate(earlier.response)
        if tenant.status != TenantStatus.ACTIVE:
            raise Conflict(
                f"tenant is {tenant.status}; only active tenants can subscribe",
                hint="resume the tenant first",
            )
        version = self._resolve(request.module, request.version)
        if self._live(tenant, request.module, missing_ok=True) is not None:
            raise Conflict(
                f"tenant already subscribes to {request.module}",
                hint="change the version with PATCH, or unsubscribe first",
            )
        spec = spec_of(tenant)
        module = module_spec(version)
        row = Subscription(
            tenant_id=tenant.id,
            module=request.module,
            channel=request.channel,
            pinned_version=request.version,
            plugin_version_id=version.id,
            upstream_url=module.upstream_url or systems().modules.service_url(spec, module),
            status=SubscriptionStatus.PROVISIONING,
            rate_limit_rps=request.rate_limit_rps or tenant.quotas["requests_per_second"],
            monthly_quota=request.monthly_quota,
            requested_by=self.principal.name,
        )
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError as exc:
            raise Conflict(f"tenant already subscribes to {request.module}") from exc
        operation = self._start(
            tenant, row, SubscriptionOperation.SUBSCRIBE, module_params(version)
        )
        self._audit("subscription.create", tenant, request.model_dump(mode="json"))
        accepted = self._accepted(tenant, row, operation)
        if idempotency_key:
            store.remember(self.principal.name, idempotency_key, accepted.model_dump(mode="json"))
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
                operation = self._change_version(tenant, row, target)
        self._audit("subscription.update", tenant, {"module": module, **changes})
        return self._accepted(tenant, row, operation)

    def unsubscribe(self, tenant_ref: str, module: str) -> SubscriptionAccepted:
        tenant = self.tenant(tenant_ref, write=True)
        row = self._live(tenant, module, lock=True)
        if row.status == SubscriptionStatus.REMOVING:
            # Asked again while it is being removed: the same answer, no second operation.
            return self._accepted(tenant, row, self.operations.open_in(subscription_lane(row.id)))
        if row.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.FAILED):
            raise Conflict(
                f"subscription is {row.status}; it can be removed when active or failed",
                hint="wait for the current operation to finish",
            )
        version = self.session.get(PluginVersion, row.plugin_version_id)
        assert version is not None  # noqa: S101 - a foreign key
        row.status, row.status_reason = SubscriptionStatus.REMOVING, "unsubscribed"
        operation = self._start(
            tenant, row, SubscriptionOperation.UNSUBSCRIBE, module_params(version)
        )
        self._audit("subscription.delete", tenant, {"module": module})
        cut_module_storage(tenant, [module])
        return self._accepted(tenant, row, operation)

    def follow_channel(self, module: str) -> list[uuid.UUID]:
        """Move ``stable`` subscriptions to the module's newest stable version."""
        versions = list(
            self.session.scalars(select(PluginVersion).where(PluginVersion.name == module))
        )
        target = stable_version(versions)
        if target is None:
            return []
        started = []
        rows = self.session.scalars(
            select(Subscription).where(
                Subscription.module == module,
                Subscription.channel == "stable",
                Subscription.status == SubscriptionStatus.ACTIVE,
                Subscription.plugin_version_id != target.id,
            )
        )
        for row in rows:
            tenant = self.session.get(Tenant, row.tenant_id)
            if tenant is None or self.operations.open_in(subscription_lane(row.id)) is not None:
                continue
            current = self.session.get(PluginVersion, row.plugin_version_id)
            started.append(self._change_version(tenant, row, target).id)
            self._notify(
                row,
                f"{module} {target.version} was published; this subscription follows the "
                f"stable channel and moves to it" + (f" from {current.version}" if current else ""),
            )
        return started

    def after_revoke(self, revoked: PluginVersion, reason: str) -> list[uuid.UUID]:
        """What revoking a version does to the subscriptions on it.

        Those following the ``stable`` channel move (a change-version operation, audited)
        to what the channel follows now, the newest published release; a pinned
        subscription, or one with no published version left, stays and its calls answer
        503. Every one of them gets a notice saying what happened and what to do."""
        versions = list(
            self.session.scalars(select(PluginVersion).where(PluginVersion.name == revoked.name))
        )
        target = stable_version(versions)
        started = []
        for row, tenant in self._on_version(revoked):
            what = f"{revoked.name} {revoked.version} was revoked ({reason})"
            open_op = self.operations.open_in(subscription_lane(row.id))
            if (
                row.channel == "stable"
                and target is not None
                and row.status == SubscriptionStatus.ACTIVE
                and open_op is None
            ):
                operation = self._change_version(tenant, row, target)
                started.append(operation.id)
                self._notify(
                    row,
                    f"{what}; this subscription follows the stable channel and moves to "
                    f"{target.version}",
                )
                self._audit(
                    "subscription.moved",
                    tenant,
                    {
                        "module": row.module,
                        "from": revoked.version,
                        "to": target.version,
                        "why": "version revoked",
                        "operation": str(operation.id),
                    },
                )
                continue
            if row.channel == "stable" and target is None:
                todo = (
                    "no published version of the module is left: calls answer 503 until the "
                    "vendor publishes one (this subscription then moves to it), or unsubscribe"
                )
            else:
                todo = (
                    "calls answer 503: move this subscription to a published version "
                    f"(PATCH /v1/tenants/{tenant.slug}/subscriptions/{row.module} with "
                    '{"channel": "stable"} or {"version": "<version>"}), or unsubscribe'
                )
            self._notify(row, f"{what}; {todo}")
            self._audit(
                "subscription.stranded",
                tenant,
                {"module": row.module, "version": revoked.version, "why": "version revoked"},
            )
        return started

    def after_suspend(self, suspended: PluginVersion, reason: str) -> None:
        """Suspension is temporary: subscriptions stay on the version and are told."""
        for row, _ in self._on_version(suspended):
            self._notify(
                row,
                f"{suspended.name} {suspended.version} is suspended by the TaaS operators "
                f"({reason}); calls answer 503 until it is resumed, or move this subscription "
                "to another published version",
            )

    def after_resume(self, resumed: PluginVersion) -> None:
        for row, _ in self._on_version(resumed):
            self._notify(row, f"{resumed.name} {resumed.version} was resumed; calls are served")

    def _on_version(self, version: PluginVersion) -> list[tuple[Subscription, Tenant]]:
        rows = self.session.scalars(
            select(Subscription)
            .where(
                Subscription.plugin_version_id == version.id,
                Subscription.status.in_(
                    [
                        SubscriptionStatus.ACTIVE,
                        SubscriptionStatus.UPDATING,
                        SubscriptionStatus.FAILED,
                        SubscriptionStatus.PROVISIONING,
                    ]
                ),
            )
            .with_for_update()
        )
        found = []
        for row in rows:
            tenant = self.session.get(Tenant, row.tenant_id)
            if tenant is not None:
                found.append((row, tenant))
        return found

    def _notify(self, row: Subscription, notice: str) -> None:
        row.notice, row.notice_at = notice, utcnow()

    # ------------------------------------------------------------------ helpers

    def _change_version(
        self, tenant: Tenant, row: Subscription, target: PluginVersion
    ) -> Operation:
        current = self.session.get(PluginVersion, row.plugin_version_id)
        assert current is not None  # noqa: S101 - a foreign key
        row.status = SubscriptionStatus.UPDATING
        return self._start(
            tenant,
            row,
            SubscriptionOperation.CHANGE_VERSION,
            module_params(target),
            previous=module_params(current),
        )

    def _resolve(self, module: str, version: str | None) -> PluginVersion:
        versions = list(
            self.session.scalars(select(PluginVersion).where(PluginVersion.name == module))
        )
        if not any(v.status in (PluginStatus.PUBLISHED, PluginStatus.DEPRECATED) for v in versions):
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

    def _live(
        self, tenant: Tenant, module: str, *, lock: bool = False, missing_ok: bool = False
    ) -> Subscription:
        query = scoped(select(Subscription), Subscription, tenant.id).where(
            Subscription.module == module, Subscription.status.in_(LIVE)
        )
        row = self.session.scalars(query.with_for_update() if lock else query).first()
        if row is None and not missing_ok:
            raise NotFound(f"tenant does not subscribe to {module!r}")
        return row  # type: ignore[return-value]  # None only when missing_ok

    def _start(
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
            requested_by=self.principal.name,
            request_id=self.request_id,
            traceparent=current_traceparent(),
            params={"subscription_id": str(row.id), "module": module, "previous": previous},
            busy="this subscription",
        )

    def _audit(self, action: str, tenant: Tenant, detail: dict[str, Any]) -> None:
        self.audit.append(
            actor=self.principal.name,
            action=action,
            outcome="accepted",
            tenant_id=tenant.id,
            request_id=self.request_id,
            detail=detail,
        )

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


# Contract checks call a plugin as this pretend tenant; its storage is a sandbox bucket.
CONTRACT_TENANT = "taas-contract-check"
CONTRACT_TENANT_ID = str(uuid.UUID(int=0))
SANDBOX = TenantSpec(id=uuid.UUID(int=0), slug="contract-check", tier="pool", region="sandbox")


def sandbox_secret(grant_secret: str) -> str:
    """The sandbox identity's key, derived so that no process has to store it."""
    return hmac.new(grant_secret.encode(), b"contract-check sandbox", hashlib.sha256).hexdigest()


def mint_storage_credentials(session: Session, token: str) -> dict[str, Any]:
    """Exchange a storage grant for short-lived credentials of that tenant, confined to the
    module's prefix in the tenant's bucket (or, for a contract check, in the sandbox)."""
    settings = app_settings()
    grant = grants.verify(settings.storage_grant_secret, token)
    if uuid.UUID(grant.tenant_id).int == 0:  # the contract check's pretend tenant
        return _sandbox_credentials(session, grant, settings.storage_grant_secret)
    tenant = session.get(Tenant, uuid.UUID(grant.tenant_id))
    if tenant is None or tenant.slug != grant.tenant or tenant.status != TenantStatus.ACTIVE:
        raise Forbidden("the grant's tenant is not active")
    row = session.scalars(
        scoped(select(Subscription), Subscription, tenant.id).where(
            Subscription.module == grant.module,
            Subscription.status.in_([SubscriptionStatus.ACTIVE, SubscriptionStatus.UPDATING]),
        )
    ).first()
    if row is None:
        raise Forbidden(f"tenant {tenant.slug} does not subscribe to {grant.module}")
    version = session.get(PluginVersion, row.plugin_version_id)
    if version is None or version.status not in (PluginStatus.PUBLISHED, PluginStatus.DEPRECATED):
        state = version.status if version else "gone"
        raise Forbidden(f"{grant.module} {grant.version} is not served ({state})")
    declared = set(version.manifest.get("data", {}).get("storage", [])) if version else set()
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
    if not _still_live(session, row.id):  # unsubscribed while minting: take it back
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
    validating = session.scalars(
        select(PluginVersion).where(
            PluginVersion.name == grant.module,
            PluginVersion.version == grant.version,
            PluginVersion.status == PluginStatus.VALIDATING,
        )
    ).first()
    if validating is None:
        raise Forbidden(f"{grant.module} {grant.version} is not being validated")
    secret = sandbox_secret(grant_secret)
    storage = systems().storage
    storage.ensure(SANDBOX, secret)
    return storage.module_credentials(
        SANDBOX, secret, module=grant.module, write=True, duration_s=STS_MIN_DURATION_S
    )


# The shortest session STS grants (MinIO refuses less, as AWS does).
STS_MIN_DURATION_S = 900


def _still_live(session: Session, subscription_id: uuid.UUID) -> bool:
    status = session.execute(
        select(Subscription.status).where(Subscription.id == subscription_id)
    ).scalar_one_or_none()
    return status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.UPDATING)


def cut_sandbox_storage(module: str) -> list[str]:
    """End the sandbox credentials of a validation once it is over."""
    return systems().storage.cut_module_access(SANDBOX, [module])


def cut_version_storage(session: Session, version: PluginVersion) -> list[str]:
    """End the storage credentials of every subscription on ``version`` (revoked or
    suspended): the module keeps no access to any bank's data through them."""
    changes = []
    rows = session.execute(
        select(Subscription, Tenant)
        .join(Tenant, Tenant.id == Subscription.tenant_id)
        .where(Subscription.plugin_version_id == version.id)
    )
    for row, tenant in rows:
        changes += cut_module_storage(tenant, [row.module])
    return changes


def cut_module_storage(tenant: Tenant, modules: list[str] | None = None) -> list[str]:
    """End at once the storage credentials minted for these subscriptions of ``tenant``
    (all of them when ``modules`` is None): call it when a subscription stops (unsubscribe),
    its version is revoked or suspended, or the tenant is suspended or offboarded. A later
    grant of a live subscription mints from a new identity."""
    return systems().storage.cut_module_access(spec_of(tenant), modules)
