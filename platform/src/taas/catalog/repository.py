"""The catalog's queries: versions the gateways serve, with their vendors."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from taas.plugins.models import PluginVersion, Vendor
from taas.plugins.states import SERVABLE


class CatalogRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def servable(self, capability: str | None) -> list[tuple[PluginVersion, str]]:
        """Published and deprecated versions, each with its vendor's slug."""
        query = (
            select(PluginVersion, Vendor.slug)
            .join(Vendor)
            .where(PluginVersion.status.in_([s.value for s in SERVABLE]))
        )
        if capability:
            query = query.where(PluginVersion.capability == capability)
        return [(row, slug) for row, slug in self.session.execute(query)]
