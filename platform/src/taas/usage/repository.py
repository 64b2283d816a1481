"""The usage queries: the gateways' daily sums, per scope and for one vendor's modules."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taas.kit.scope import Scope
from taas.plugins.models import PluginVersion
from taas.usage.models import UsageDaily

u = UsageDaily
# Billable: calls the module answered. Refusals: the gateway's own answers to the bank
# (rate limits, scopes, a suspended bank or version, an unreachable module).
BILLABLE = u.refusal == ""
REFUSED = u.refusal != ""

Key = tuple[dt.date, str, str]


class UsageRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def daily(
        self, scope: Scope, start: dt.date, end: dt.date, *, vendor_id: uuid.UUID | None = None
    ) -> list[tuple[Any, ...]]:
        """Per day, module and version: billable calls, errors, bytes in and out, latency
        sum and maximum and distinct tenants (only ``vendor_id``'s modules if given)."""
        query = (
            select(
                u.day,
                u.module,
                u.version,
                func.coalesce(func.sum(u.calls).filter(BILLABLE), 0),
                func.coalesce(
                    func.sum(u.calls).filter(BILLABLE, u.status_class.in_(["4xx", "5xx"])), 0
                ),
                func.coalesce(func.sum(u.bytes_in).filter(BILLABLE), 0),
                func.coalesce(func.sum(u.bytes_out).filter(BILLABLE), 0),
                func.coalesce(func.sum(u.latency_ms_sum).filter(BILLABLE), 0.0),
                func.coalesce(func.max(u.latency_ms_max).filter(BILLABLE), 0.0),
                func.count(func.distinct(u.tenant_id)).filter(BILLABLE),
            )
            .where(u.day >= start, u.day <= end)
            .group_by(u.day, u.module, u.version)
            .order_by(u.day, u.module, u.version)
        )
        if vendor_id is not None:
            query = query.where(u.module.in_(_modules_of(vendor_id)))
        return [tuple(row) for row in self.session.execute(scope.apply(query, u))]

    def refusals(
        self, scope: Scope, start: dt.date, end: dt.date, *, vendor_id: uuid.UUID | None = None
    ) -> dict[Key, dict[str, int]]:
        """Refused calls per day, module and version, by reason."""
        query = (
            select(u.day, u.module, u.version, u.refusal, func.sum(u.calls))
            .where(u.day >= start, u.day <= end, REFUSED)
            .group_by(u.day, u.module, u.version, u.refusal)
        )
        if vendor_id is not None:
            query = query.where(u.module.in_(_modules_of(vendor_id)))
        found: dict[Key, dict[str, int]] = defaultdict(dict)
        for day, module, version, reason, count in self.session.execute(scope.apply(query, u)):
            found[(day, module, version)][reason] = int(count)
        return found


def _modules_of(vendor_id: uuid.UUID) -> Any:
    return select(PluginVersion.name).where(PluginVersion.vendor_id == vendor_id)
