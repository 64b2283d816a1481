"""HTTP API of usage reports: a tenant's, and a vendor's."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from taas.kit.problems import problems
from taas.kit.schemas import IsoDate
from taas.kit.web import CurrentPrincipal, DbSession
from taas.usage.schemas import UsageReport
from taas.usage.service import UsageService

# The reports sit beside the resources they count (under a tenant, under a vendor).
tenant_usage_router = APIRouter(
    prefix="/v1/tenants", tags=["subscriptions"], responses=problems(400)
)
vendor_usage_router = APIRouter(prefix="/v1/vendors", tags=["vendors"], responses=problems(400))
READ_ERRORS = problems(401, 403, 404, 422)


def _default_period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    end = end or dt.datetime.now(dt.UTC).date()
    return start or end.replace(day=1), end


@tenant_usage_router.get("/{tenant}/usage", response_model=UsageReport, responses=READ_ERRORS)
def tenant_usage(
    tenant: str,
    session: DbSession,
    principal: CurrentPrincipal,
    start: Annotated[IsoDate | None, Query(description="First day (default: month start).")] = None,
    end: Annotated[IsoDate | None, Query(description="Last day (default: today, UTC).")] = None,
) -> UsageReport:
    """Calls the tenant made through the gateway, per day and module."""
    first, last = _default_period(start, end)
    return UsageService(session, principal).for_tenant(tenant, first, last)


@vendor_usage_router.get("/{vendor}/usage", response_model=UsageReport, responses=READ_ERRORS)
def vendor_usage(
    vendor: str,
    session: DbSession,
    principal: CurrentPrincipal,
    start: Annotated[IsoDate | None, Query(description="First day (default: month start).")] = None,
    end: Annotated[IsoDate | None, Query(description="Last day (default: today, UTC).")] = None,
) -> UsageReport:
    """Calls to the vendor's modules per day: counts only, no bank identities."""
    first, last = _default_period(start, end)
    return UsageService(session, principal).for_vendor(vendor, first, last)
