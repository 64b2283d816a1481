"""The catalog: published modules, their versions and the channel each follows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy.orm import Session

from taas.catalog.repository import CatalogRepository
from taas.catalog.schemas import CatalogModule, CatalogVersion
from taas.plugins.manifest import version_key
from taas.plugins.models import PluginVersion
from taas.plugins.states import PluginStatus


def stable_version(versions: Iterable[PluginVersion]) -> PluginVersion | None:
    """What the ``stable`` channel follows: the newest published release (no pre-releases)."""
    candidates = [
        v
        for v in versions
        if v.status == PluginStatus.PUBLISHED and not version_key(v.version).prerelease
    ]
    return max(candidates, key=lambda v: version_key(v.version), default=None)


class CatalogService:
    def __init__(self, session: Session) -> None:
        self.catalog = CatalogRepository(session)

    def modules(self, capability: str | None) -> list[CatalogModule]:
        """Published (and deprecated) modules, with the versions a bank can use."""
        by_name: dict[str, list[tuple[PluginVersion, str]]] = defaultdict(list)
        for row, vendor in self.catalog.servable(capability):
            by_name[row.name].append((row, vendor))
        return [_module(name, by_name[name]) for name in sorted(by_name)]


def _module(name: str, found: list[tuple[PluginVersion, str]]) -> CatalogModule:
    rows = sorted(found, key=lambda rv: version_key(rv[0].version), reverse=True)
    newest, vendor = rows[0]
    stable = stable_version(row for row, _ in rows)
    return CatalogModule(
        name=name,
        capability=newest.capability,
        summary=newest.manifest.get("summary", ""),
        vendor=vendor,
        channels={"stable": stable.version} if stable else {},
        versions=[
            CatalogVersion(
                version=row.version,
                status=PluginStatus(row.status),
                published_at=row.published_at,
                plugin_api=row.manifest.get("plugin_api", ""),
                scopes=row.manifest.get("scopes", []),
                operation_scopes=row.manifest.get("operation_scopes", []),
                data=row.manifest.get("data", {}),
                pricing=row.manifest.get("pricing", {}),
            )
            for row, _ in rows
        ],
    )
