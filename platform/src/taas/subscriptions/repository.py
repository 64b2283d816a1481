"""All queries of subscriptions. Every read takes the :class:`Scope` of whoever asks."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taas.kit.scope import Scope
from taas.plugins.models import PluginVersion
from taas.subscriptions.models import Subscription
from taas.subscriptions.states import LIVE, ROUTED, SubscriptionStatus
from taas.tenants.models import Tenant

S = SubscriptionStatus
# Subscriptions a change to their version concerns (all but those being or already removed).
ON_VERSION = (S.ACTIVE, S.UPDATING, S.FAILED, S.PROVISIONING)


class SubscriptionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: Subscription) -> bool:
        """Insert ``row``; False when its tenant already has a live one for the module."""
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            return False
        return True

    def get(self, scope: Scope, subscription_id: uuid.UUID) -> Subscription | None:
        query = select(Subscription).where(Subscription.id == subscription_id)
        return self.session.scalars(scope.apply(query, Subscription)).first()

    def live(self, scope: Scope, module: str, *, lock: bool = False) -> Subscription | None:
        """The live subscription to ``module`` in ``scope`` (one tenant's)."""
        query = select(Subscription).where(
            Subscription.module == module, Subscription.status.in_(LIVE)
        )
        query = scope.apply(query, Subscription)
        return self.session.scalars(query.with_for_update() if lock else query).first()

    def all_live(self, scope: Scope) -> list[Subscription]:
        """Live subscriptions in ``scope``, by module."""
        query = select(Subscription).where(Subscription.status.in_(LIVE))
        query = scope.apply(query, Subscription).order_by(Subscription.module)
        return list(self.session.scalars(query))

    def routed(self, scope: Scope, module: str) -> Subscription | None:
        """The subscription to ``module`` the gateways route now, if any."""
        query = select(Subscription).where(
            Subscription.module == module, Subscription.status.in_(ROUTED)
        )
        return self.session.scalars(scope.apply(query, Subscription)).first()

    def is_routed(self, scope: Scope, subscription_id: uuid.UUID) -> bool:
        query = select(Subscription.status).where(Subscription.id == subscription_id)
        status = self.session.execute(scope.apply(query, Subscription)).scalar_one_or_none()
        return status in ROUTED

    def on_version(
        self, scope: Scope, version_id: uuid.UUID, *, every: bool = False
    ) -> list[tuple[Subscription, Tenant]]:
        """Subscriptions on a version, with their tenants: those its changes concern
        (locked), or ``every`` one of them whatever their status."""
        query = select(Subscription, Tenant).join(Tenant, Tenant.id == Subscription.tenant_id)
        query = scope.apply(query.where(Subscription.plugin_version_id == version_id), Subscription)
        if not every:
            query = query.where(Subscription.status.in_(ON_VERSION)).with_for_update(
                of=Subscription
            )
        return [(row, tenant) for row, tenant in self.session.execute(query)]

    def deployed(self, scope: Scope) -> list[tuple[Subscription, Tenant, PluginVersion]]:
        """Routed subscriptions with their tenants and versions: what must be running."""
        query = (
            select(Subscription, Tenant, PluginVersion)
            .join(Tenant, Tenant.id == Subscription.tenant_id)
            .join(PluginVersion, PluginVersion.id == Subscription.plugin_version_id)
            .where(Subscription.status.in_(ROUTED))
        )
        rows = self.session.execute(scope.apply(query, Subscription))
        return [(row, tenant, version) for row, tenant, version in rows]

    def behind_channel(
        self, scope: Scope, module: str, target_id: uuid.UUID
    ) -> list[tuple[Subscription, Tenant]]:
        """Active subscriptions on the ``stable`` channel of ``module`` not on its target."""
        query = (
            select(Subscription, Tenant)
            .join(Tenant, Tenant.id == Subscription.tenant_id)
            .where(
                Subscription.module == module,
                Subscription.channel == "stable",
                Subscription.status == SubscriptionStatus.ACTIVE,
                Subscription.plugin_version_id != target_id,
            )
        )
        return [
            (row, tenant) for row, tenant in self.session.execute(scope.apply(query, Subscription))
        ]

    def served(
        self, scope: Scope, version_ids: Collection[uuid.UUID]
    ) -> list[tuple[str, str, int]]:
        """Name, version and number of live subscriptions of each of ``version_ids`` that
        has any."""
        if not version_ids:
            return []
        query = (
            select(PluginVersion.name, PluginVersion.version, func.count(Subscription.id))
            .join(Subscription, Subscription.plugin_version_id == PluginVersion.id)
            .where(
                PluginVersion.id.in_(list(version_ids)),
                Subscription.status != SubscriptionStatus.REMOVED,
            )
            .group_by(PluginVersion.name, PluginVersion.version)
            .order_by(PluginVersion.name, PluginVersion.version)
        )
        rows = self.session.execute(scope.apply(query, Subscription))
        return [(name, version, int(count)) for name, version, count in rows]
