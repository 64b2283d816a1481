"""Plugin versions: submission, review, publication and the kill switches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from taas.approvals.schemas import ApprovalAction, ApprovalOut
from taas.approvals.service import ApprovalService
from taas.kit.auth import Principal
from taas.kit.db import utcnow
from taas.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from taas.kit.events import publish
from taas.kit.telemetry import current_traceparent
from taas.operations.repository import OperationRepository
from taas.plugins.events import (
    VersionEvent,
    VersionPublished,
    VersionResumed,
    VersionRevoked,
    VersionSuspended,
)
from taas.plugins.manifest import PluginManifest
from taas.plugins.models import PluginVersion, Vendor
from taas.plugins.plans import VALIDATE_PLUGIN, plugin_lane
from taas.plugins.schemas import PluginVersionOut, Review
from taas.plugins.states import SERVABLE, PluginStatus, VendorStatus, check_plugin_transition
from taas.plugins.vendors import PluginDomainService, VendorService, inactive_hint, require_operator


@dataclass(frozen=True)
class Submitted:
    """A submitted version, and whether this call recorded it (a replay did not)."""

    version: PluginVersionOut
    new: bool


class PluginService(PluginDomainService):
    def submit(
        self, vendor_ref: str, manifest: dict[str, Any], idempotency_key: str | None
    ) -> Submitted:
        """Record a new version (status submitted) and start its validation."""
        vendor = VendorService(self.session, self.principal, self.request_id).visible(vendor_ref)
        if not (self.principal.vendor == vendor.slug or self.principal.is_operator):
            raise Forbidden("only the vendor itself (or an operator) may submit its plugins")
        if vendor.status != VendorStatus.ACTIVE:
            raise Forbidden(
                f"vendor {vendor.slug!r} is {vendor.status}; it cannot submit plugins",
                hint=inactive_hint(vendor),
            )
        first = self.once(idempotency_key, "plugins.submit", manifest)
        if first.earlier is not None:
            return Submitted(PluginVersionOut.model_validate(first.earlier), new=False)
        parsed = _parsed(manifest)
        owner = self.versions.owner_of(parsed.name)
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
        if not self.versions.add(version):
            raise Conflict(
                f"{parsed.name} {parsed.version} was already submitted",
                hint="versions are immutable: bump the version",
            )
        self.audit.record(
            "plugin.submit", {"name": parsed.name, "version": parsed.version, "vendor": vendor.slug}
        )
        self._validate(version)
        out = self.out(version)
        first.keep(out.model_dump(mode="json"))
        return Submitted(out, new=True)

    def _validate(self, version: PluginVersion) -> None:
        """Start the version's validation (handed to the workers once this commits)."""
        self.session.flush()
        OperationRepository(self.session).start(
            lane=plugin_lane(version.id),
            kind=VALIDATE_PLUGIN,
            requested_by=self.principal.name,
            request_id=self.request_id,
            traceparent=current_traceparent(),
            params={"plugin_version_id": str(version.id)},
            busy="this plugin version",
        )

    def get_version(self, name: str, version: str) -> PluginVersion:
        row = self.versions.find(name, version)
        if row is None or not self._may_see(row):
            raise NotFound(f"plugin {name} {version} not found")
        return row

    def _may_see(self, row: PluginVersion) -> bool:
        if self.principal.is_operator or self.principal.is_auditor:
            return True
        if self.principal.vendor is not None:
            vendor = self.vendors.get(row.vendor_id)
            return vendor is not None and vendor.slug == self.principal.vendor
        return row.status in SERVABLE  # banks see what is in the catalog

    def list_versions(self, name: str | None, status: str | None) -> list[PluginVersionOut]:
        if self.principal.vendor is None and not (
            self.principal.is_operator or self.principal.is_auditor
        ):
            raise Forbidden("banks see modules in the catalog: GET /v1/catalog")
        rows = self.versions.listing(name=name, status=status, vendor=self.principal.vendor)
        return [self.out(row) for row in rows]

    def out(self, row: PluginVersion) -> PluginVersionOut:
        self.session.flush()
        self.session.refresh(row)
        vendor = self.vendors.get(row.vendor_id)
        return PluginVersionOut.model_validate(
            {
                **{c: getattr(row, c) for c in PluginVersionOut.model_fields if c != "vendor"},
                "vendor": vendor.slug if vendor else "?",
            }
        )

    def approve(self, name: str, version: str, review: Review) -> PluginVersion:
        row = self._reviewable(name, version)
        self.audit.move(row, PluginStatus.APPROVED, review.reason)
        row.reviewed_by, row.review_reason = self.principal.name, review.reason
        if review.publish:
            self.audit.move(row, PluginStatus.PUBLISHED, "published on approval")
            row.published_at = utcnow()
            publish(self.session, VersionPublished(**self._event(row)))
        return row

    def reject(self, name: str, version: str, reason: str) -> PluginVersion:
        row = self._reviewable(name, version)
        self.audit.move(row, PluginStatus.REJECTED, reason)
        row.reviewed_by, row.review_reason = self.principal.name, reason
        return row

    def publish(self, name: str, version: str) -> PluginVersion:
        row = self.get_version(name, version)
        self._vendor_or_operator(row, "publish")
        self.audit.move(row, PluginStatus.PUBLISHED, "published")
        row.published_at = row.published_at or utcnow()
        publish(self.session, VersionPublished(**self._event(row)))
        return row

    def deprecate(self, name: str, version: str, reason: str) -> PluginVersion:
        row = self.get_version(name, version)
        self._vendor_or_operator(row, "deprecate")
        self.audit.move(row, PluginStatus.DEPRECATED, reason)
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

    def revoke(
        self, name: str, version: str, reason: str, approval: str
    ) -> tuple[PluginVersion, VersionRevoked]:
        """Final: the gateways stop routing to this version at once (run on approval); the
        event says what those who depend on it did about it."""
        row = self.get_version(name, version)
        require_operator(self.principal, "revoke plugin versions")
        self.audit.move(row, PluginStatus.REVOKED, reason, approval=approval)
        row.revoked_at = utcnow()
        row.suspended_from = None
        revoked = VersionRevoked(**self._event(row), reason=reason)
        publish(self.session, revoked)
        return row, revoked

    def suspend(self, name: str, version: str, reason: str) -> PluginVersion:
        """The reversible kill switch: the gateways stop routing to this version at once,
        until an operator resumes it. The vendor or one operator, immediately."""
        row = self.get_version(name, version)
        self._vendor_or_operator(row, "suspend")
        before = row.status
        self.audit.move(row, PluginStatus.SUSPENDED, reason)
        row.suspended_from = before
        publish(self.session, VersionSuspended(**self._event(row), reason=reason))
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
        self.audit.move(row, back, reason)
        row.suspended_from = None
        publish(self.session, VersionResumed(**self._event(row)))
        return row

    def _event(self, row: PluginVersion) -> dict[str, Any]:
        """The fields every :class:`VersionEvent` about ``row`` carries."""
        fields = VersionEvent(row.id, row.name, row.version, self.principal.name, self.request_id)
        return vars(fields)

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
        vendor = self.vendors.get(row.vendor_id)
        if not (self.principal.is_operator or (vendor and self.principal.vendor == vendor.slug)):
            raise Forbidden(f"only the vendor or a platform operator may {what} this version")
        if vendor is not None:
            _active_vendor(self.principal, vendor)


def _active_vendor(principal: Principal, vendor: Vendor) -> None:
    """A vendor's own calls are refused once it is disabled or deleted."""
    if principal.vendor == vendor.slug and vendor.status != VendorStatus.ACTIVE:
        raise Forbidden(f"vendor {vendor.slug!r} is {vendor.status}", hint=inactive_hint(vendor))


def _parsed(manifest: dict[str, Any]) -> PluginManifest:
    try:
        return PluginManifest.model_validate(manifest)
    except ValidationError as exc:
        raise Unprocessable(
            "the manifest does not match the manifest schema",
            hint="fix the listed fields; the schema is at GET /v1/plugins/manifest-schema",
            errors=[
                {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]} for e in exc.errors()
            ],
        ) from exc
