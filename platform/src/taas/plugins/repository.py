"""All queries of vendors and plugin versions."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taas.plugins.models import PluginVersion, Vendor
from taas.plugins.states import FINAL, PluginStatus

# One page of versions in a listing.
LIST_LIMIT = 500


class VendorRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, vendor: Vendor) -> bool:
        """Insert ``vendor``; False when its slug is taken (nothing else is undone)."""
        try:
            with self.session.begin_nested():
                self.session.add(vendor)
        except IntegrityError:
            return False
        return True

    def get(self, vendor_id: uuid.UUID) -> Vendor | None:
        return self.session.get(Vendor, vendor_id)

    def by_slug(self, slug: str) -> Vendor | None:
        return self.session.scalars(select(Vendor).where(Vendor.slug == slug)).first()

    def all(self) -> list[Vendor]:
        return list(self.session.scalars(select(Vendor).order_by(Vendor.slug)))


class PluginVersionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, version: PluginVersion) -> bool:
        """Insert ``version``; False when that name and version exist already."""
        try:
            with self.session.begin_nested():
                self.session.add(version)
        except IntegrityError:
            return False
        return True

    def get(self, version_id: uuid.UUID, *, lock: bool = False) -> PluginVersion | None:
        return self.session.get(PluginVersion, version_id, with_for_update=lock)

    def reread_locked(self, version_id: uuid.UUID) -> PluginVersion | None:
        """The version as stored now, locked: what this session holds of it is replaced
        (another session may have changed the row since this one read it)."""
        return self.session.get(
            PluginVersion, version_id, populate_existing=True, with_for_update=True
        )

    def find(
        self, name: str, version: str, *, status: PluginStatus | None = None
    ) -> PluginVersion | None:
        query = select(PluginVersion).where(
            PluginVersion.name == name, PluginVersion.version == version
        )
        if status is not None:
            query = query.where(PluginVersion.status == status)
        return self.session.scalars(query).first()

    def of_module(self, name: str) -> list[PluginVersion]:
        """Every version of the module ``name``."""
        return list(self.session.scalars(select(PluginVersion).where(PluginVersion.name == name)))

    def owner_of(self, name: str) -> uuid.UUID | None:
        """The vendor whose module ``name`` is (None while nobody has submitted it)."""
        query = select(PluginVersion.vendor_id).where(PluginVersion.name == name).limit(1)
        return self.session.scalars(query).first()

    def listing(
        self, *, name: str | None, status: str | None, vendor: str | None
    ) -> list[PluginVersion]:
        """Versions by module and age, filtered; only ``vendor``'s when it is given."""
        query = select(PluginVersion).order_by(PluginVersion.name, PluginVersion.created_at)
        if name:
            query = query.where(PluginVersion.name == name)
        if status:
            query = query.where(PluginVersion.status == status)
        if vendor is not None:
            query = query.join(Vendor).where(Vendor.slug == vendor)
        return list(self.session.scalars(query.limit(LIST_LIMIT)))

    def open_of_vendor(self, vendor_id: uuid.UUID) -> list[PluginVersion]:
        """The vendor's versions that can still change (locked)."""
        query = (
            select(PluginVersion)
            .where(
                PluginVersion.vendor_id == vendor_id,
                PluginVersion.status.not_in([s.value for s in FINAL]),
            )
            .with_for_update()
        )
        return list(self.session.scalars(query))
