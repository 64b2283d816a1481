"""Vendors, plugin review, the catalog and usage: who may do what, and what it changes."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taas.approvals.schemas import ApprovalAction, ApprovalOut
from taas.approvals.service import ApprovalService, ApprovedAction, Executed, register
from taas.audit.repository import AuditRepository
from taas.catalog.manifest import PluginManifest, version_key
from taas.catalog.models import PluginVersion, Subscription, UsageDaily, Vendor
from taas.catalog.schemas import (
    CatalogModule,
    CatalogVersion,
    PluginVersionOut,
    Review,
    UsageReport,
    UsageRow,
    VendorCreate,
    VendorCreated,
    VendorCredentials,
    VendorOut,
)
from taas.catalog.states import (
    FINAL,
    SERVABLE,
    TRANSITIONS,
    PluginStatus,
    SubscriptionStatus,
    VendorStatus,
    check_plugin_transition,
)
from taas.integrations.systems import systems
from taas.kit.auth import Principal
from taas.kit.db import scoped, utcnow
from taas.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from taas.kit.idempotency import IdempotencyStore, request_hash

MAX_USAGE_DAYS = 366
_ENDINGS = frozenset({PluginStatus.REVOKED, PluginStatus.REJECTED})


def require_operator(principal: Principal, what: str) -> None:
    if not principal.is_operator:
        raise Forbidden(f"only platform operators may {what}")


def stable_version(versions: list[PluginVersion]) -> PluginVersion | None:
    """What the ``stable`` channel follows: the newest published release (no pre-releases)."""
    candidates = [
        v
        for v in versions
        if v.status == PluginStatus.PUBLISHED and not version_key(v.version).prerelease
    ]
    return max(candidates, key=lambda v: version_key(v.version), default=None)


def _inactive_hint(vendor: Vendor) -> str:
    if vendor.status == VendorStatus.DELETED:
        return "a deleted vendor cannot come back; an operator can register a new one"
    return f"a platform operator can enable it again: taas vendors enable {vendor.slug}"


@dataclass(frozen=True)
class Submitted:
    """A submitted version, and whether this call recorded it (a replay did not)."""

    version: PluginVersionOut
    new: bool


class CatalogService:
    def __init__(self, session: Session, principal: Principal, request_id: str | None) -> None:
        self.session = session
        self.principal = principal
        self.request_id = request_id
        self.audit = AuditRepository(session)

    # ------------------------------------------------------------------ vendors

    def create_vendor(self, request: VendorCreate, idempotency_key: str | None) -> dict[str, Any]:
        """Register a vendor; the body (with its credentials, shown this once)."""
        require_operator(self.principal, "register vendors")
        store = IdempotencyStore(self.session)
        if idempotency_key:
            earlier = store.claim(
                self.principal.name,
                idempotency_key,
                "vendors.create",
                request_hash(request.model_dump(mode="json")),
            )
            if earlier is not None and earlier.response is not None:
                vendor = self._vendor_by_slug(request.slug)
                return self._created(vendor)
        if self._vendor_by_slug(request.slug, missing_ok=True) is not None:
            raise Conflict(
                f"a vendor named {request.slug!r} already exists",
                hint="choose another slug, or send the same Idempotency-Key to retry",
            )
        vendor = Vendor(
            slug=request.slug,
            display_name=request.display_name,
            contact_email=str(request.contact_email),
            client_id="vendor-" + request.slug,
            signing_secret=secrets.token_urlsafe(32),
            status="active",
        )
        try:
            with self.session.begin_nested():
                self.session.add(vendor)
        except IntegrityError as exc:
            raise Conflict(f"a vendor named {request.slug!r} already exists") from exc
        body = self._created(vendor)  # creates the Keycloak client before we commit
        self._audit("vendor.create", request.model_dump(mode="json"))
        if idempotency_key:
            store.remember(self.principal.name, idempotency_key, {"vendor": body["vendor"]})
        return body

    def _created(self, vendor: Vendor) -> dict[str, Any]:
        identity = systems().identity
        client_id, secret = identity.ensure_vendor(vendor.slug, vendor.display_name)
        self.session.flush()
        self.session.refresh(vendor)
        return VendorCreated(
            vendor=VendorOut.model_validate(vendor),
            credentials=VendorCredentials(
                client_id=client_id,
                client_secret=secret,
                token_url=f"{identity.vendor_issuer()}/protocol/openid-connect/token",
                signing_secret=vendor.signing_secret,
            ),
        ).model_dump(mode="json")

    def vendor(self, ref: str) -> Vendor:
        """A vendor the caller may see (operators, auditors, or the vendor itself)."""
        vendor = self._vendor_by_slug(ref, missing_ok=True)
        allowed = self.principal.is_operator or self.principal.is_auditor
        if vendor is None or not (allowed or self.principal.vendor == vendor.slug):
            raise NotFound(f"vendor {ref!r} not found")
        return vendor

    def vendors(self) -> list[VendorOut]:
        if not (self.principal.is_operator or self.principal.is_auditor):
            raise Forbidden("only platform operators and auditors may list vendors")
        rows = self.session.scalars(select(Vendor).order_by(Vendor.slug))
        return [VendorOut.model_validate(row) for row in rows]

    def _vendor_by_slug(self, slug: str, *, missing_ok: bool = False) -> Vendor:
        vendor = self.session.scalars(select(Vendor).where(Vendor.slug == slug)).first()
        if vendor is None and not missing_ok:
            raise NotFound(f"vendor {slug!r} not found")
        return vendor  # type: ignore[return-value]  # None only when missing_ok

    def set_vendor_status(self, ref: str, target: VendorStatus, reason: str) -> Vendor:
        """Disable (its client can get no tokens, its calls are refused) or enable again.
        Its published versions keep serving banks either way."""
        require_operator(self.principal, "disable or enable vendors")
        vendor = self._vendor_by_slug(ref)
        current = VendorStatus(vendor.status)
        if current == VendorStatus.DELETED:
            raise Conflict(
                f"vendor {ref!r} was deleted; it cannot be enabled or disabled",
                hint="register the vendor again under another slug: taas vendors create",
            )
        if current == target:
            return vendor
        active = target == VendorStatus.ACTIVE
        systems().identity.set_vendor_enabled(vendor.slug, enabled=active)
        vendor.status = target
        self._audit(
            "vendor.enable" if active else "vendor.disable",
            {"vendor": vendor.slug, "from": current, "reason": reason},
        )
        return vendor

    def request_vendor_delete(
        self, ref: str, reason: str, idempotency_key: str | None
    ) -> ApprovalOut | None:
        """Deleting a vendor is final, so one operator only asks for it here: it runs when a
        second operator approves the request. Refused (409) at once, as it would be on
        approval, while a bank subscribes to one of its versions or one is being validated.
        None when the vendor is already deleted: there is nothing to approve."""
        require_operator(self.principal, "delete vendors")
        vendor = self._vendor_by_slug(ref)
        if vendor.status == VendorStatus.DELETED:
            return None
        self._ending_versions(vendor)  # refuse early what could not run
        return ApprovalService(self.session, self.principal, self.request_id).request(
            ApprovalAction.VENDOR_DELETE,
            vendor.slug,
            summary=f"delete vendor {vendor.slug} for good: its client is deleted and every "
            "version of its plugins ends (revoked, or rejected if never approved)",
            params={"vendor": vendor.slug},
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def delete_vendor(self, ref: str, reason: str, approval: str) -> tuple[Vendor, list[str]]:
        """Withdraw the vendor for good (run on approval): its client is deleted, its
        versions end (revoked, or rejected if never approved). Refused while a bank
        subscribes to one of them. The record stays (status ``deleted``) for the audit
        trail and usage history."""
        require_operator(self.principal, "delete vendors")
        vendor = self._vendor_by_slug(ref)
        if vendor.status == VendorStatus.DELETED:
            return vendor, []
        versions = self._ending_versions(vendor)
        ended = f"vendor {vendor.slug} deleted"
        for row in versions:
            if PluginStatus.REVOKED in TRANSITIONS[PluginStatus(row.status)]:
                self._move(row, PluginStatus.REVOKED, ended, approval=approval)
                row.revoked_at = utcnow()
                row.suspended_from = None
            else:
                self._move(row, PluginStatus.REJECTED, ended, approval=approval)
        systems().identity.remove_vendor(vendor.slug)
        before = vendor.status
        vendor.status = VendorStatus.DELETED
        ended_versions = [f"{v.name} {v.version}" for v in versions]
        self._audit(
            "vendor.delete",
            {
                "vendor": vendor.slug,
                "from": before,
                "reason": reason,
                "approval": approval,
                "versions_ended": ended_versions,
            },
        )
        return vendor, ended_versions

    def _ending_versions(self, vendor: Vendor) -> list[PluginVersion]:
        """The vendor's versions that deleting it ends (locked); Conflict while a bank
        subscribes to one of them or one is being validated."""
        final = [s.value for s in FINAL]
        versions = list(
            self.session.scalars(
                select(PluginVersion)
                .where(PluginVersion.vendor_id == vendor.id, PluginVersion.status.not_in(final))
                .with_for_update()
            )
        )
        served = self.session.execute(
            select(PluginVersion.name, PluginVersion.version, func.count(Subscription.id))
            .join(Subscription, Subscription.plugin_version_id == PluginVersion.id)
            .where(
                PluginVersion.vendor_id == vendor.id,
                PluginVersion.status.not_in(final),
                Subscription.status != SubscriptionStatus.REMOVED,
            )
            .group_by(PluginVersion.name, PluginVersion.version)
            .order_by(PluginVersion.name, PluginVersion.version)
        ).all()
        if served:
            listed = ", ".join(f"{name} {version} ({count})" for name, version, count in served)
            raise Conflict(
                f"banks still subscribe to vendor {vendor.slug!r}'s versions: {listed}",
                hint="revoke those versions (taas plugins revoke NAME VERSION --reason ...) "
                "and delete again, or disable the vendor instead (taas vendors disable "
                f"{vendor.slug}), which keeps serving banks",
            )
        pending = [v for v in versions if not TRANSITIONS[PluginStatus(v.status)] & _ENDINGS]
        if pending:
            listed = ", ".join(f"{v.name} {v.version}" for v in pending)
            raise Conflict(
                f"vendor {vendor.slug!r} has versions being validated: {listed}",
                hint="wait until validation has ended (taas plugins status NAME VERSION), "
                "then delete again",
            )
        return versions

    def _active_vendor(self, vendor: Vendor) -> None:
        """A vendor's own calls are refused once it is disabled or deleted."""
        if self.principal.vendor == vendor.slug and vendor.status != VendorStatus.ACTIVE:
            raise Forbidden(
                f"vendor {vendor.slug!r} is {vendor.status}", hint=_inactive_hint(vendor)
            )

    # ------------------------------------------------------------------ plugin versions

    def submit(
        self, vendor_ref: str, manifest: dict[str, Any], idempotency_key: str | None
    ) -> Submitted:
        """Record a new version (status submitted), to be handed to validation."""
        vendor = self.vendor(vendor_ref)
        if not (self.principal.vendor == vendor.slug or self.principal.is_operator):
            raise Forbidden("only the vendor itself (or an operator) may submit its plugins")
        if vendor.status != VendorStatus.ACTIVE:
            raise Forbidden(
                f"vendor {vendor.slug!r} is {vendor.status}; it cannot submit plugins",
                hint=_inactive_hint(vendor),
            )
        store = IdempotencyStore(self.session)
        if idempotency_key:
            earlier = store.claim(
                self.principal.name, idempotency_key, "plugins.submit", request_hash(manifest)
            )
            if earlier is not None and earlier.response is not None:
                return Submitted(PluginVersionOut.model_validate(earlier.response), new=False)
        try:
            parsed = PluginManifest.model_validate(manifest)
        except ValidationError as exc:
            raise Unprocessable(
                "the manifest does not match the manifest schema",
                hint="fix the listed fields; the schema is at GET /v1/plugins/manifest-schema",
                errors=[
                    {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]}
                    for e in exc.errors()
                ],
            ) from exc
        owner = self.session.scalars(
            select(PluginVersion.vendor_id).where(PluginVersion.name == parsed.name).limit(1)
        ).first()
        if owner is not None and owner != vendor.id:
            raise Conflict(
                f"the module name {parsed.name!r} belongs to another vendor",
                hint="choose another name",
            )
        version = PluginVersion(
            vendor_id=vendor.id,
            name=parsed.name,
            version=parsed.version,
            capability=parsed.capability.value,
            status=PluginStatus.SUBMITTED,
            manifest=parsed.model_dump(mode="json"),
            validation={},
            submitted_by=self.principal.name,
            submitted_by_subject=self.principal.subject,
        )
        try:
            with self.session.begin_nested():
                self.session.add(version)
        except IntegrityError as exc:
            raise Conflict(
                f"{parsed.name} {parsed.version} was already submitted",
                hint="versions are immutable: bump the version",
            ) from exc
        self._audit(
            "plugin.submit", {"name": parsed.name, "version": parsed.version, "vendor": vendor.slug}
        )
        out = self.out(version)
        if idempotency_key:
            store.remember(self.principal.name, idempotency_key, out.model_dump(mode="json"))
        return Submitted(out, new=True)

    def get_version(self, name: str, version: str) -> PluginVersion:
        row = self.session.scalars(
            select(PluginVersion).where(
                PluginVersion.name == name, PluginVersion.version == version
            )
        ).first()
        if row is None or not self._may_see(row):
            raise NotFound(f"plugin {name} {version} not found")
        return row

    def _may_see(self, row: PluginVersion) -> bool:
        if self.principal.is_operator or self.principal.is_auditor:
            return True
        if self.principal.vendor is not None:
            vendor = self.session.get(Vendor, row.vendor_id)
            return vendor is not None and vendor.slug == self.principal.vendor
        return row.status in SERVABLE  # banks see what is in the catalog

    def list_versions(self, name: str | None, status: str | None) -> list[PluginVersionOut]:
        query = select(PluginVersion).order_by(PluginVersion.name, PluginVersion.created_at)
        if name:
            query = query.where(PluginVersion.name == name)
        if status:
            query = query.where(PluginVersion.status == status)
        if self.principal.vendor is not None:
            query = query.join(Vendor).where(Vendor.slug == self.principal.vendor)
        elif not (self.principal.is_operator or self.principal.is_auditor):
            raise Forbidden("banks see modules in the catalog: GET /v1/catalog")
        return [self.out(row) for row in self.session.scalars(query.limit(500))]

    def out(self, row: PluginVersion) -> PluginVersionOut:
        self.session.flush()
        self.session.refresh(row)
        vendor = self.session.get(Vendor, row.vendor_id)
        return PluginVersionOut.model_validate(
            {
                **{c: getattr(row, c) for c in PluginVersionOut.model_fields if c != "vendor"},
                "vendor": vendor.slug if vendor else "?",
            }
        )

    def approve(self, name: str, version: str, review: Review) -> PluginVersion:
        row = self._reviewable(name, version)
        self._move(row, PluginStatus.APPROVED, review.reason)
        row.reviewed_by, row.review_reason = self.principal.name, review.reason
        if review.publish:
            self._move(row, PluginStatus.PUBLISHED, "published on approval")
            row.published_at = utcnow()
        return row

    def reject(self, name: str, version: str, reason: str) -> PluginVersion:
        row = self._reviewable(name, version)
        self._move(row, PluginStatus.REJECTED, reason)
        row.reviewed_by, row.review_reason = self.principal.name, reason
        return row

    def publish(self, name: str, version: str) -> PluginVersion:
        row = self.get_version(name, version)
        self._vendor_or_operator(row, "publish")
        self._move(row, PluginStatus.PUBLISHED, "published")
        row.published_at = row.published_at or utcnow()
        return row

    def deprecate(self, name: str, version: str, reason: str) -> PluginVersion:
        row = self.get_version(name, version)
        self._vendor_or_operator(row, "deprecate")
        self._move(row, PluginStatus.DEPRECATED, reason)
        return row

    def request_revoke(
        self, name: str, version: str, reason: str, idempotency_key: str | None
    ) -> ApprovalOut:
        """Revoking is final, so it is only asked for here: it runs when a second operator
        approves the request (the vendor or an operator may ask)."""
        row = self.get_version(name, version)
        self._vendor_or_operator(row, "revoke")
        check_plugin_transition(PluginStatus(row.status), PluginStatus.REVOKED)
        return ApprovalService(self.session, self.principal, self.request_id).request(
            ApprovalAction.PLUGIN_REVOKE,
            f"{name}@{version}",
            summary=f"revoke {name} {version} for good: the gateways stop routing to it and "
            "subscriptions on the stable channel move to the newest published version",
            params={"name": name, "version": version},
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def revoke(self, name: str, version: str, reason: str, approval: str) -> PluginVersion:
        """Final: the gateways stop routing to this version at once (run on approval)."""
        row = self.get_version(name, version)
        require_operator(self.principal, "revoke plugin versions")
        self._move(row, PluginStatus.REVOKED, reason, approval=approval)
        row.revoked_at = utcnow()
        row.suspended_from = None
        return row

    def suspend(self, name: str, version: str, reason: str) -> PluginVersion:
        """The reversible kill switch: the gateways stop routing to this version at once,
        until an operator resumes it. The vendor or one operator, immediately."""
        row = self.get_version(name, version)
        self._vendor_or_operator(row, "suspend")
        before = row.status
        self._move(row, PluginStatus.SUSPENDED, reason)
        row.suspended_from = before
        return row

    def resume(self, name: str, version: str, reason: str) -> PluginVersion:
        """Undo a suspension: the version is published (or deprecated) again, as before.
        Only operators: a vendor cannot undo an operator's suspension."""
        row = self.get_version(name, version)
        require_operator(self.principal, "resume suspended plugin versions")
        back = PluginStatus(row.suspended_from or PluginStatus.PUBLISHED)
        if row.status != PluginStatus.SUSPENDED:
            raise Conflict(
                f"{name} {version} is {row.status}, not suspended",
                hint="only a suspended version can be resumed",
                current_status=row.status,
            )
        self._move(row, back, reason)
        row.suspended_from = None
        return row

    def _reviewable(self, name: str, version: str) -> PluginVersion:
        row = self.get_version(name, version)
        require_operator(self.principal, "review plugin versions")
        if row.submitted_by_subject == self.principal.subject:
            raise Forbidden(
                "you submitted this version; another operator must review it (four eyes)",
                hint="ask a second platform operator to approve or reject it",
            )
        return row

    def _vendor_or_operator(self, row: PluginVersion, what: str) -> None:
        vendor = self.session.get(Vendor, row.vendor_id)
        if not (self.principal.is_operator or (vendor and self.principal.vendor == vendor.slug)):
            raise Forbidden(f"only the vendor or a platform operator may {what} this version")
        if vendor is not None:
            self._active_vendor(vendor)

    def _move(self, row: PluginVersion, target: PluginStatus, reason: str, **extra: str) -> None:
        check_plugin_transition(PluginStatus(row.status), target)
        before = row.status
        row.status, row.status_reason = target, reason
        self._audit(
            f"plugin.{target}",
            {"name": row.name, "version": row.version, "from": before, "reason": reason, **extra},
        )

    # ------------------------------------------------------------------ catalog

    def catalog(self, capability: str | None) -> list[CatalogModule]:
        """Published (and deprecated) modules, with the versions a bank can use."""
        query = (
            select(PluginVersion, Vendor.slug)
            .join(Vendor)
            .where(PluginVersion.status.in_([s.value for s in SERVABLE]))
        )
        if capability:
            query = query.where(PluginVersion.capability == capability)
        by_name: dict[str, list[tuple[PluginVersion, str]]] = defaultdict(list)
        for row, vendor in self.session.execute(query):
            by_name[row.name].append((row, vendor))
        modules = []
        for name in sorted(by_name):
            rows = sorted(by_name[name], key=lambda rv: version_key(rv[0].version), reverse=True)
            newest, vendor = rows[0]
            stable = stable_version([row for row, _ in rows])
            modules.append(
                CatalogModule(
                    name=name,
                    capability=newest.capability,
                    summary=newest.manifest.get("summary", ""),
                    vendor=vendor,
                    channels={"stable": stable.version} if stable else {},
                    versions=[
                        CatalogVersion(
                            version=row.version,
                            status=PluginStatus(row.status),
                            published_at=row.published_at,
                            plugin_api=row.manifest.get("plugin_api", ""),
                            scopes=row.manifest.get("scopes", []),
                            operation_scopes=row.manifest.get("operation_scopes", []),
                            data=row.manifest.get("data", {}),
                            pricing=row.manifest.get("pricing", {}),
                        )
                        for row, _ in rows
                    ],
                )
            )
        return modules

    # ------------------------------------------------------------------ usage

    def usage(
        self,
        start: dt.date,
        end: dt.date,
        *,
        tenant_id: uuid.UUID | None = None,
        vendor: Vendor | None = None,
    ) -> UsageReport:
        """Metered calls per day and module, for one tenant or for one vendor's modules."""
        if end < start or (end - start).days > MAX_USAGE_DAYS:
            raise Unprocessable(
                "the period must end after it starts and span at most a year",
                hint="pass start and end as YYYY-MM-DD",
            )
        u = UsageDaily
        # Billable: calls the module answered. Refusals: the gateway's own answers to the
        # bank (rate limits, scopes, a suspended bank or version, an unreachable module).
        billable = u.refusal == ""
        refused = u.refusal != ""
        query = (
            select(
                u.day,
                u.module,
                u.version,
                func.coalesce(func.sum(u.calls).filter(billable), 0),
                func.coalesce(
                    func.sum(u.calls).filter(billable, u.status_class.in_(["4xx", "5xx"])), 0
                ),
                func.coalesce(func.sum(u.bytes_in).filter(billable), 0),
                func.coalesce(func.sum(u.bytes_out).filter(billable), 0),
                func.coalesce(func.sum(u.latency_ms_sum).filter(billable), 0.0),
                func.coalesce(func.max(u.latency_ms_max).filter(billable), 0.0),
                func.count(func.distinct(u.tenant_id)).filter(billable),
            )
            .where(u.day >= start, u.day <= end)
            .group_by(u.day, u.module, u.version)
            .order_by(u.day, u.module, u.version)
        )
        reasons = (
            select(u.day, u.module, u.version, u.refusal, func.sum(u.calls))
            .where(u.day >= start, u.day <= end, refused)
            .group_by(u.day, u.module, u.version, u.refusal)
        )
        if tenant_id is not None:
            query = scoped(query, u, tenant_id)
            reasons = scoped(reasons, u, tenant_id)
        if vendor is not None:
            names = select(PluginVersion.name).where(PluginVersion.vendor_id == vendor.id)
            query = query.where(u.module.in_(names))
            reasons = reasons.where(u.module.in_(names))
        refusals: dict[tuple[dt.date, str, str], dict[str, int]] = defaultdict(dict)
        for day, module, version, reason, count in self.session.execute(reasons):
            refusals[(day, module, version)][reason] = int(count)
        rows = []
        for record in self.session.execute(query):
            day, module, version, calls, errs, bytes_in, bytes_out, latency, worst, tenants = record
            by_reason = refusals.get((day, module, version), {})
            rows.append(
                UsageRow(
                    day=day,
                    module=module,
                    version=version,
                    calls=int(calls),
                    errors=int(errs),
                    refusals=sum(by_reason.values()),
                    refusals_by_reason=dict(sorted(by_reason.items())),
                    bytes_in=int(bytes_in),
                    bytes_out=int(bytes_out),
                    latency_ms_avg=round(float(latency) / int(calls), 3) if calls else 0.0,
                    latency_ms_max=round(float(worst), 3),
                    tenants=tenants if vendor is not None else None,
                )
            )
        return UsageReport(start=start, end=end, rows=rows)

    def _audit(self, action: str, detail: dict[str, Any]) -> None:
        self.audit.append(
            actor=self.principal.name,
            action=action,
            outcome="accepted",
            request_id=self.request_id,
            detail=detail,
        )


def execute_vendor_delete(
    session: Session, principal: Principal, request_id: str | None, action: ApprovedAction
) -> Executed:
    """Run an approved vendor deletion, as the approving operator; the checks made when it
    was asked for are made again (a bank may have subscribed since)."""
    catalog = CatalogService(session, principal, request_id)
    vendor, ended = catalog.delete_vendor(
        str(action.params["vendor"]), action.reason, str(action.id)
    )
    session.flush()
    session.refresh(vendor)
    return Executed(
        result={
            "vendor": VendorOut.model_validate(vendor).model_dump(mode="json"),
            "versions_ended": ended,
        }
    )


register(ApprovalAction.VENDOR_DELETE, execute_vendor_delete)
