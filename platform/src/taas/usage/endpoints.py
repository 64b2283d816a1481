"""HTTP API of usage reports: a tenant's, and a vendor's."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

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


def _usage_service(session: DbSession, principal: CurrentPrincipal) -> UsageService:
    return UsageService(session, principal)


def _period(
    start: Annotated[IsoDate | None, Query(description="First day (default: month start).")] = None,
    end: Annotated[IsoDate | None, Query(description="Last day (default: today, UTC).")] = None,
) -> tuple[dt.date, dt.date]:
    """The days a report covers: this month so far unless the caller says otherwise."""
    end = end or dt.datetime.now(dt.UTC).date()
    return start or end.replace(day=1), end


Usage = Annotated[UsageService, Depends(_usage_service)]
Period = Annotated[tuple[dt.date, dt.date], Depends(_period)]


@tenant_usage_router.get("/{tenant}/usage", response_model=UsageReport, responses=READ_ERRORS)
def tenant_usage(tenant: str, usage: Usage, period: Period) -> UsageReport:
    """Calls the tenant made through the gateway, per day and module."""
    return usage.for_tenant(tenant, *period)


@vendor_usage_router.get("/{vendor}/usage", response_model=UsageReport, responses=READ_ERRORS)
def vendor_usage(vendor: str, usage: Usage, period: Period) -> UsageReport:
    """Calls to the vendor's modules per day: counts only, no bank identities."""
    return usage.for_vendor(vendor, *period)
