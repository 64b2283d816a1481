"""What happens around a plugin version's kill switches: suspend (reversible, one
operator), resume, and revoke (final, run when a second operator approves)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from taas.approvals.schemas import ApprovalAction
from taas.approvals.service import ApprovedAction, Executed, register
from taas.catalog.models import PluginVersion
from taas.catalog.service import CatalogService
from taas.catalog.subscriptions import SubscriptionService, cut_version_storage
from taas.kit.auth import Principal


class VersionLifecycle:
    """Suspend and resume a version, and tell the subscriptions on it."""

    def __init__(self, session: Session, principal: Principal, request_id: str | None) -> None:
        self.catalog = CatalogService(session, principal, request_id)
        self.subscriptions = SubscriptionService(session, principal, request_id)

    def suspend(self, name: str, version: str, reason: str) -> PluginVersion:
        row = self.catalog.suspend(name, version, reason)
        cut_version_storage(self.catalog.session, row)  # no bank data while it is stopped
        self.subscriptions.after_suspend(row, reason)
        return row

    def resume(self, name: str, version: str, reason: str) -> PluginVersion:
        row = self.catalog.resume(name, version, reason)
        self.subscriptions.after_resume(row)
        return row


def execute_revoke(
    session: Session, principal: Principal, request_id: str | None, action: ApprovedAction
) -> Executed:
    """Run an approved revocation, as the approving operator, and apply the revoke policy
    to the subscriptions on the version (see ``SubscriptionService.after_revoke``)."""
    catalog = CatalogService(session, principal, request_id)
    name, version = str(action.params["name"]), str(action.params["version"])
    row = catalog.revoke(name, version, action.reason, approval=str(action.id))
    cut_version_storage(session, row)  # the module keeps no access to any bank's data
    started = SubscriptionService(session, principal, request_id).after_revoke(row, action.reason)
    return Executed(
        result={
            "plugin_version": catalog.out(row).model_dump(mode="json"),
            "moved_subscriptions": len(started),
        }
    )


register(ApprovalAction.PLUGIN_REVOKE, execute_revoke)
