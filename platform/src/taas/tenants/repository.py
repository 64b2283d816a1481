"""All tenant queries. Reads take the caller's :class:`~taas.kit.scope.Scope`: a bank
sees its own tenant, platform operators and auditors (and the platform's own actors) all."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from taas.kit.auth import Principal
from taas.kit.scope import Scope
from taas.tenants.models import Tenant
from taas.tenants.states import TenantStatus


class TenantRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def scope_of(self, principal: Principal) -> Scope:
        """The tenants ``principal`` may read: a bank's user or system its own tenant (none
        if its slug names no tenant), operators and auditors every tenant, anyone else
        (vendors, callers without a role) none."""
        if principal.tenant is not None:
            own = select(Tenant.id).where(Tenant.slug == principal.tenant)
            return Scope.tenant(principal.subject, self.session.scalars(own).one_or_none())
        if principal.is_operator or principal.is_auditor:
            return Scope.platform(principal.subject)
        return Scope.tenant(principal.subject, None)

    def add(self, tenant: Tenant) -> Tenant:
        self.session.add(tenant)
        self.session.flush()
        return tenant

    def get(self, scope: Scope, tenant_id: uuid.UUID, *, lock: bool = False) -> Tenant | None:
        query = select(Tenant).where(Tenant.id == tenant_id, scope.where(Tenant.id))
        if lock:
            query = query.with_for_update()
        return self.session.scalars(query).one_or_none()

    def by_slug(self, scope: Scope, slug: str) -> Tenant | None:
        query = select(Tenant).where(Tenant.slug == slug, scope.where(Tenant.id))
        return self.session.scalars(query).one_or_none()

    def realm_in_use(self, slug: str) -> bool:
        """Whether a tenant that is not offboarded has ``slug`` (its realm may issue tokens)."""
        query = select(Tenant.id).where(
            Tenant.slug == slug, Tenant.status != TenantStatus.OFFBOARDED
        )
        return self.session.scalars(query).first() is not None

    def slug_taken(self, slug: str) -> bool:
        """Whether any tenant has ``slug`` (slugs are unique across the platform)."""
        query = select(Tenant.id).where(Tenant.slug == slug)
        return self.session.scalars(query).first() is not None

    def page(
        self,
        scope: Scope,
        *,
        after: str | None,
        limit: int,
        statuses: Sequence[TenantStatus] = (),
        tier: str | None = None,
        region: str | None = None,
        search: str | None = None,
    ) -> list[Tenant]:
        """Tenants in ``scope`` ordered by slug, after ``after``, with the filters given."""
        query = select(Tenant).where(scope.where(Tenant.id)).order_by(Tenant.slug).limit(limit)
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
        return list(self.session.scalars(query))

    def in_states(self, scope: Scope, statuses: Sequence[TenantStatus]) -> list[Tenant]:
        query = select(Tenant).where(Tenant.status.in_(statuses), scope.where(Tenant.id))
        return list(self.session.scalars(query))

    def retention_over(self, scope: Scope, now: dt.datetime) -> list[Tenant]:
        """Offboarded tenants whose data may be purged now."""
        query = select(Tenant).where(
            Tenant.status == TenantStatus.OFFBOARDED,
            Tenant.purge_after.is_not(None),
            Tenant.purge_after < now,
            scope.where(Tenant.id),
        )
        return list(self.session.scalars(query))
