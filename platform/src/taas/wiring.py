"""The composition root: what each domain registers with the engine, in one place.

The API and the worker call :func:`wire` at start. Domains never import each other's
plans; the engine never imports a domain: this module is the only one that knows them all.
"""

from __future__ import annotations

from functools import cache

from taas.approvals import models as approval_models
from taas.audit import models as audit_models
from taas.audit.journal import record_operation_event
from taas.catalog import models as catalog_models
from taas.catalog import plans as subscription_plans
from taas.kit import idempotency
from taas.kit.states import LIFECYCLES, mermaid_document
from taas.kit.web import trust_tenant_realms
from taas.operations import models as operation_models
from taas.operations.plans import observe
from taas.tenants import models as tenant_models
from taas.tenants import plans as tenant_plans
from taas.tenants.service import realm_in_use

# Every module that maps tables: importing them registers the tables on Base.metadata (the
# migrations read them) and each status column's lifecycle in LIFECYCLES.
MODELS = (
    approval_models,
    audit_models,
    catalog_models,
    idempotency,
    operation_models,
    tenant_models,
)


@cache
def wire() -> None:
    """Register every plan, hook and observer, and how tokens of a tenant's own realm are
    trusted (idempotent)."""
    tenant_plans.register_plans()
    subscription_plans.register_plans()
    observe(record_operation_event)
    trust_tenant_realms(realm_in_use)


def lifecycle_diagrams() -> str:
    """Every declared lifecycle as Mermaid state diagrams, by name (``taas docs states``)."""
    return mermaid_document(LIFECYCLES)
