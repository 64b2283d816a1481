"""Vendors: registering them, who may see them, disabling, enabling and deleting them."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

from taas.approvals.schemas import ApprovalAction, ApprovalOut
from taas.approvals.service import ApprovalService
from taas.audit.repository import AuditRepository
from taas.integrations.systems import systems
from taas.kit.auth import Principal
from taas.kit.db import utcnow
from taas.kit.errors import Conflict, Forbidden, NotFound
from taas.kit.events import publish
from taas.kit.service import CallerService
from taas.plugins.events import VendorDeleting
from taas.plugins.models import PluginVersion, Vendor
from taas.plugins.repository import PluginVersionRepository, VendorRepository
from taas.plugins.schemas import VendorCreate, VendorCreated, VendorCredentials, VendorOut
from taas.plugins.states import TRANSITIONS, PluginStatus, VendorStatus, check_plugin_transition

_ENDINGS = frozenset({PluginStatus.REVOKED, PluginStatus.REJECTED})


def require_operator(principal: Principal, what: str) -> None:
    if not principal.is_operator:
        raise Forbidden(f"only platform operators may {what}")


def inactive_hint(vendor: Vendor) -> str:
    if vendor.status == VendorStatus.DELETED:
        return "a deleted vendor cannot come back; an operator can register a new one"
    return f"a platform operator can enable it again: taas vendors enable {vendor.slug}"


class PluginAudit:
    """Records what a caller did to vendors and plugin versions in the audit trail."""

    def __init__(self, session: Session, actor: str, request_id: str | None) -> None:
        self.audit = AuditRepository(session)
        self.actor = actor
        self.request_id = request_id

    def record(self, action: str, detail: dict[str, Any]) -> None:
        self.audit.append(
            actor=self.actor,
            action=action,
            outcome="accepted",
            request_id=self.request_id,
            detail=detail,
        )

    def move(self, row: PluginVersion, target: PluginStatus, reason: str, **extra: str) -> None:
        """Move ``row`` to ``target`` (a declared transition) and record it."""
        check_plugin_transition(PluginStatus(row.status), target)
        before = row.status
        row.status, row.status_reason = target, reason
        self.record(
            f"plugin.{target}",
            {"name": row.name, "version": row.version, "from": before, "reason": reason, **extra},
        )


class PluginDomainService(CallerService):
    """What the vendor and the plugin-version services work with: both repositories, and
    the audit trail of what the caller does."""

    def __init__(self, session: Session, principal: Principal, request_id: str | None) -> None:
        super().__init__(session, principal, request_id)
        self.vendors = VendorRepository(session)
        self.versions = PluginVersionRepository(session)
        self.audit = PluginAudit(session, principal.name, request_id)


class VendorService(PluginDomainService):
    def create(self, request: VendorCreate, idempotency_key: str | None) -> dict[str, Any]:
        """Register a vendor; the body (with its credentials, shown this once)."""
        require_operator(self.principal, "register vendors")
        first = self.once(idempotency_key, "vendors.create", request.model_dump(mode="json"))
        if first.earlier is not None:
            return self._created(self.by_slug(request.slug))
        if self.vendors.by_slug(request.slug) is not None:
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
        if not self.vendors.add(vendor):
            raise Conflict(f"a vendor named {request.slug!r} already exists")
        body = self._created(vendor)  # creates the Keycloak client before we commit
        self.audit.record("vendor.create", request.model_dump(mode="json"))
        first.keep({"vendor": body["vendor"]})
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

    def visible(self, ref: str) -> Vendor:
        """A vendor the caller may see (operators, auditors, or the vendor itself)."""
        vendor = self.vendors.by_slug(ref)
        allowed = self.principal.is_operator or self.principal.is_auditor
        if vendor is None or not (allowed or self.principal.vendor == vendor.slug):
            raise NotFound(f"vendor {ref!r} not found")
        return vendor

    def listing(self) -> list[VendorOut]:
        if not (self.principal.is_operator or self.principal.is_auditor):
            raise Forbidden("only platform operators and auditors may list vendors")
        return [VendorOut.model_validate(row) for row in self.vendors.all()]

    def by_slug(self, slug: str) -> Vendor:
        vendor = self.vendors.by_slug(slug)
        if vendor is None:
            raise NotFound(f"vendor {slug!r} not found")
        return vendor

    def set_status(self, ref: str, target: VendorStatus, reason: str) -> Vendor:
        """Disable (its client can get no tokens, its calls are refused) or enable again.
        Its published versions keep serving banks either way."""
        require_operator(self.principal, "disable or enable vendors")
        vendor = self.by_slug(ref)
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
        self.audit.record(
            "vendor.enable" if active else "vendor.disable",
            {"vendor": vendor.slug, "from": current, "reason": reason},
        )
        return vendor

    def request_delete(
        self, ref: str, reason: str, idempotency_key: str | None
    ) -> ApprovalOut | None:
        """Deleting a vendor is final, so one operator only asks for it here: it runs when a
        second operator approves the request. Refused (409) at once, as it would be on
        approval, while a bank subscribes to one of its versions or one is being validated.
        None when the vendor is already deleted: there is nothing to approve."""
        require_operator(self.principal, "delete vendors")
        vendor = self.by_slug(ref)
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

    def delete(self, ref: str, reason: str, approval: str) -> tuple[Vendor, list[str]]:
        """Withdraw the vendor for good (run on approval): its client is deleted, its
        versions end (revoked, or rejected if never approved). Refused while a bank
        subscribes to one of them. The record stays (status ``deleted``) for the audit
        trail and usage history."""
        require_operator(self.principal, "delete vendors")
        vendor = self.by_slug(ref)
        if vendor.status == VendorStatus.DELETED:
            return vendor, []
        versions = self._ending_versions(vendor)
        ended = f"vendor {vendor.slug} deleted"
        for row in versions:
            if PluginStatus.REVOKED in TRANSITIONS[PluginStatus(row.status)]:
                self.audit.move(row, PluginStatus.REVOKED, ended, approval=approval)
                row.revoked_at = utcnow()
                row.suspended_from = None
            else:
                self.audit.move(row, PluginStatus.REJECTED, ended, approval=approval)
        systems().identity.remove_vendor(vendor.slug)
        before = vendor.status
        vendor.status = VendorStatus.DELETED
        ended_versions = [f"{v.name} {v.version}" for v in versions]
        self.audit.record(
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
        subscribes to one of them (a subscriber's veto) or one is being validated."""
        versions = self.versions.open_of_vendor(vendor.id)
        publish(self.session, VendorDeleting(vendor.slug, tuple(v.id for v in versions)))
        pending = [v for v in versions if not TRANSITIONS[PluginStatus(v.status)] & _ENDINGS]
        if pending:
            listed = ", ".join(f"{v.name} {v.version}" for v in pending)
            raise Conflict(
                f"vendor {vendor.slug!r} has versions being validated: {listed}",
                hint="wait until validation has ended (taas plugins status NAME VERSION), "
                "then delete again",
            )
        return versions
