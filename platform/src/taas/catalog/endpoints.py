"""HTTP API of the module catalog."""

from __future__ import annotations

from fastapi import APIRouter

from taas.catalog.schemas import CatalogModule
from taas.catalog.service import CatalogService
from taas.kit.problems import problems
from taas.kit.web import CurrentPrincipal, DbSession
from taas.plugins.manifest import Capability

catalog = APIRouter(prefix="/v1/catalog", tags=["catalog"], responses=problems(400))


@catalog.get("", response_model=list[CatalogModule], responses=problems(401, 422))
def list_catalog(
    session: DbSession, principal: CurrentPrincipal, capability: Capability | None = None
) -> list[CatalogModule]:
    """Modules a bank can subscribe to, with their versions and the stable channel."""
    return CatalogService(session).modules(capability)
