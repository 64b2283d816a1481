"""All tenant queries."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from taas.tenants.models import Tenant
from taas.tenants.states import TenantStatus


class TenantRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, tenant: Tenant) -> Tenant:
        self.session.add(tenant)
        self.session.flush()
        return tenant

    def get(self, tenant_id: uuid.UUID, *, lock: bool = False) -> Tenant | None:
        query = select(Tenant).where(Tenant.id == tenant_id)
        if lock:
            query = query.with_for_update()
        return self.session.scalars(query).one_or_none()

    def by_slug(self, slug: str) -> Tenant | None:
        return self.session.scalars(select(Tenant).where(Tenant.slug == slug)).one_or_none()

    def page(
        self,
        *,
        after: str | None,
        limit: int,
        statuses: Sequence[TenantStatus] = (),
        tier: str | None = None,
        region: str | None = None,
        search: str | None = None,
        only_slug: str | None = None,
    ) -> list[Tenant]:
        """Tenants ordered by slug, after ``after``, with the filters given."""
        query = select(Tenant).order_by(Tenant.slug).limit(limit)
        if after:
            query = query.where(Tenant.slug > after)
        if statuses:
            query = query.where(Tenant.status.in_(statuses))
        if tier:
            query = query.where(Tenant.tier == tier)
        if region:
            query = query.where(Tenant.region == region)
        if search:
            pattern = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(or_(Tenant.slug.like(pattern), Tenant.display_name.ilike(pattern)))
        if only_slug is not None:
            query = query.where(Tenant.slug == only_slug)
        return list(self.session.scalars(query))

    def in_states(self, statuses: Sequence[TenantStatus]) -> list[Tenant]:
        return list(self.session.scalars(select(Tenant).where(Tenant.status.in_(statuses))))

    def retention_over(self, now: dt.datetime) -> list[Tenant]:
        """Offboarded tenants whose data may be purged now."""
        query = select(Tenant).where(
            Tenant.status == TenantStatus.OFFBOARDED,
            Tenant.purge_after.is_not(None),
            Tenant.purge_after < now,
        )
        return list(self.session.scalars(query))
