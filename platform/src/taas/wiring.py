"""The composition root: what each domain registers with the engine, and with the events
of the domains below it, in one place.

The API and the worker call :func:`wire` at start. Domains never import each other's
plans, nor a domain above them; the engine never imports a domain: this module is the only
one that knows them all.
"""

from __future__ import annotations

from functools import cache

from taas.approvals.schemas import ApprovalAction
from taas.approvals.service import register as register_executor
from taas.audit.journal import record_operation_event
from taas.kit.events import subscribe
from taas.operations.plans import observe
from taas.plugins import executors as plugin_executors
from taas.plugins import plans as plugin_plans
from taas.plugins.events import (
    VendorDeleting,
    VersionPublished,
    VersionResumed,
    VersionRevoked,
    VersionSuspended,
)
from taas.subscriptions import plans as subscription_plans
from taas.subscriptions import reactions as subscription_reactions
from taas.tenants import plans as tenant_plans


@cache
def wire() -> None:
    """Register every plan, hook, observer, approval executor and event handler
    (idempotent)."""
    tenant_plans.register_plans()
    plugin_plans.register_plans()
    subscription_plans.register_plans()
    subscription_reactions.register_hooks()
    observe(record_operation_event)
    register_executor(ApprovalAction.PLUGIN_REVOKE, plugin_executors.execute_revoke)
    register_executor(ApprovalAction.VENDOR_DELETE, plugin_executors.execute_vendor_delete)
    # What subscriptions do when a plugin version or a vendor changes.
    subscribe(VersionPublished, subscription_reactions.follow_channel)
    subscribe(VersionRevoked, subscription_reactions.after_revoke)
    subscribe(VersionSuspended, subscription_reactions.after_suspend)
    subscribe(VersionResumed, subscription_reactions.after_resume)
    subscribe(VendorDeleting, subscription_reactions.refuse_vendor_delete)
