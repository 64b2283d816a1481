"""What runs when a second operator approves a final change: revoking a plugin version,
deleting a vendor (registered with the approvals domain by :mod:`taas.wiring`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from taas.approvals.service import ApprovedAction, Executed
from taas.kit.auth import Principal
from taas.plugins.schemas import VendorOut
from taas.plugins.service import PluginService
from taas.plugins.vendors import VendorService


def execute_revoke(
    session: Session, principal: Principal, request_id: str | None, action: ApprovedAction
) -> Executed:
    """Run an approved revocation, as the approving operator. Those who depend on the
    version react to it in the same transaction (subscriptions on the stable channel move
    to the newest published version, the others are told; see ``taas.subscriptions``)."""
    plugins = PluginService(session, principal, request_id)
    name, version = str(action.params["name"]), str(action.params["version"])
    row, revoked = plugins.revoke(name, version, action.reason, approval=str(action.id))
    return Executed(
        result={
            "plugin_version": plugins.out(row).model_dump(mode="json"),
            "moved_subscriptions": len(revoked.started),
        }
    )


def execute_vendor_delete(
    session: Session, principal: Principal, request_id: str | None, action: ApprovedAction
) -> Executed:
    """Run an approved vendor deletion, as the approving operator; the checks made when it
    was asked for are made again (a bank may have subscribed since)."""
    vendor, ended = VendorService(session, principal, request_id).delete(
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
