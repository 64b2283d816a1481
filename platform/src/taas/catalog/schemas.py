"""What the catalog API returns."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, Field

from taas.plugins.states import PluginStatus


class CatalogVersion(BaseModel):
    version: str
    status: PluginStatus
    published_at: dt.datetime | None
    plugin_api: str
    scopes: list[str]
    operation_scopes: list[str] = []
    data: dict[str, Any]
    pricing: dict[str, Any]


class CatalogModule(BaseModel):
    name: str
    capability: str
    summary: str
    vendor: str
    channels: Annotated[
        dict[str, str], Field(description="Channel name to the version it follows now.")
    ]
    versions: list[CatalogVersion]
