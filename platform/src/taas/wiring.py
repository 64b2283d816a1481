"""The composition root: what each domain registers with the engine, and with the events
of the domains below it, in one place.

The API and the worker call :func:`wire` at start. Domains never import each other's
plans, nor a domain above them; the engine never imports a domain: this module is the only
one that knows them all.
"""

from __future__ import annotations

from functools import cache

from taas.approvals import models as approval_models
from taas.approvals.schemas import ApprovalAction
from taas.approvals.service import register as register_executor
from taas.audit import models as audit_models
from taas.audit.journal import record_operation_event
from taas.kit import idempotency
from taas.kit.events import subscribe
from taas.kit.states import LIFECYCLES, mermaid_document
from taas.kit.web import trust_tenant_realms
from taas.operations import models as operation_models
from taas.operations.plans import observe
from taas.plugins import executors as plugin_executors
from taas.plugins import models as plugin_models
from taas.plugins import plans as plugin_plans
from taas.plugins.events import (
    VendorDeleting,
    VersionPublished,
    VersionResumed,
    VersionRevoked,
    VersionSuspended,
)
from taas.subscriptions import models as subscription_models
from taas.subscriptions import plans as subscription_plans
from taas.subscriptions import reactions as subscription_reactions
from taas.tenants import models as tenant_models
from taas.tenants import plans as tenant_plans
from taas.tenants.service import realm_in_use
from taas.usage import models as usage_models

# Every module that maps tables: importing them registers the tables on Base.metadata (the
# migrations read them) and each status column's lifecycle in LIFECYCLES.
MODELS = (
    approval_models,
    audit_models,
    idempotency,
    operation_models,
    plugin_models,
    subscription_models,
    tenant_models,
    usage_models,
)


@cache
def wire() -> None:
    """Register every plan, hook, observer, approval executor and event handler, and how
    tokens of a tenant's own realm are trusted (idempotent)."""
    tenant_plans.register_plans()
    plugin_plans.register_plans()
    subscription_plans.register_plans()
    subscription_reactions.register_hooks()
    observe(record_operation_event)
    trust_tenant_realms(realm_in_use)
    register_executor(ApprovalAction.PLUGIN_REVOKE, plugin_executors.execute_revoke)
    register_executor(ApprovalAction.VENDOR_DELETE, plugin_executors.execute_vendor_delete)
    # What subscriptions do when a plugin version or a vendor changes.
    subscribe(VersionPublished, subscription_reactions.follow_channel)
    subscribe(VersionRevoked, subscription_reactions.after_revoke)
    subscribe(VersionSuspended, subscription_reactions.after_suspend)
    subscribe(VersionResumed, subscription_reactions.after_resume)
    subscribe(VendorDeleting, subscription_reactions.refuse_vendor_delete)


def lifecycle_diagrams() -> str:
    """Every declared lifecycle as Mermaid state diagrams, by name (``taas docs states``)."""
    return mermaid_document(LIFECYCLES)
