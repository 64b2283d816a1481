"""Usage reports: a tenant's calls, or the calls to one vendor's modules."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.orm import Session

from taas.kit.auth import Principal
from taas.kit.errors import Unprocessable
from taas.kit.scope import Scope, caller_scope
from taas.plugins.vendors import VendorService
from taas.tenants.service import TenantService
from taas.usage.repository import UsageRepository
from taas.usage.schemas import UsageReport, UsageRow

MAX_USAGE_DAYS = 366


class UsageService:
    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.usage = UsageRepository(session)

    def for_tenant(self, ref: str, start: dt.date, end: dt.date) -> UsageReport:
        """Calls the tenant made through the gateway, per day and module."""
        tenants = TenantService(self.session, self.principal, None)
        tenant = tenants.visible(tenants.resolve(ref))
        scope = caller_scope(self.principal.subject, self.principal.tenant, tenant.id, tenant.slug)
        return self._report(scope, start, end)

    def for_vendor(self, ref: str, start: dt.date, end: dt.date) -> UsageReport:
        """Calls to the vendor's modules from every tenant: counts only, no bank identities."""
        vendor = VendorService(self.session, self.principal, None).visible(ref)
        scope = Scope.platform(self.principal.subject)
        return self._report(scope, start, end, vendor=vendor.id)

    def _report(
        self, scope: Scope, start: dt.date, end: dt.date, vendor: uuid.UUID | None = None
    ) -> UsageReport:
        if end < start or (end - start).days > MAX_USAGE_DAYS:
            raise Unprocessable(
                "the period must end after it starts and span at most a year",
                hint="pass start and end as YYYY-MM-DD",
            )
        refusals = self.usage.refusals(scope, start, end, vendor_id=vendor)
        rows = []
        for record in self.usage.daily(scope, start, end, vendor_id=vendor):
            day, module, version, calls, errs, bytes_in, bytes_out, latency, worst, tenants = record
            by_reason = refusals.get((day, module, version), {})
            rows.append(
                UsageRow(
                    day=day,
                    module=module,
                    version=version,
                    calls=int(calls),
                    errors=int(errs),
                    refusals=sum(by_reason.values()),
                    refusals_by_reason=dict(sorted(by_reason.items())),
                    bytes_in=int(bytes_in),
                    bytes_out=int(bytes_out),
                    latency_ms_avg=round(float(latency) / int(calls), 3) if calls else 0.0,
                    latency_ms_max=round(float(worst), 3),
                    tenants=tenants if vendor is not None else None,
                )
            )
        return UsageReport(start=start, end=end, rows=rows)
