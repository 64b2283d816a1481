"""The composition root: what each domain registers with the engine, in one place.

The API and the worker call :func:`wire` at start. Domains never import each other's
plans; the engine never imports a domain: this module is the only one that knows them all.
"""

from __future__ import annotations

from functools import cache

from taas.audit.journal import record_operation_event
from taas.catalog import plans as subscription_plans
from taas.operations.plans import observe
from taas.tenants import plans as tenant_plans


@cache
def wire() -> None:
    """Register every plan, hook and observer (idempotent)."""
    tenant_plans.register_plans()
    subscription_plans.register_plans()
    observe(record_operation_event)
