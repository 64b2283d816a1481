"""A bank's API reference: one OpenAPI document of the modules the bank subscribes to.

Built from the OpenAPI document in the published manifest of the version each of the
bank's subscriptions is on (view ``gateway_module_documents``), with every path under
``/t/<bank>/<module>``, every component renamed ``<module>.<name>`` (two modules may both
have a ``Score``), every operation tagged with its module and its id prefixed with it, and
one security scheme: the bank's own bearer token. Nothing of other banks, and nothing of
modules the bank does not subscribe to, goes in.

The gateway serves it at ``GET /t/<bank>/openapi.json`` to a token of that bank; documents
are cached per bank and per set of (module, version) the bank is routed to, so a version
change makes a new one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

from taas.gateway.routes import Snapshot
from taas.kit.db import scoped_sql

log = logging.getLogger("taas.gateway.documents")

DOCUMENTS_SQL = scoped_sql(
    "SELECT module, version, openapi, summary FROM gateway_module_documents", order_by="module"
)
SECURITY_SCHEME = "bankToken"
# Component sections whose entries are renamed per module (security schemes are replaced).
_SECTIONS = (
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "links",
    "callbacks",
    "pathItems",
)
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class ModuleDocument:
    """One subscribed module's document, as its published manifest has it."""

    module: str
    version: str
    openapi: dict[str, Any]
    summary: str


def _renamed_refs(value: Any, module: str) -> Any:
    """``value`` with each local ``#/components/<section>/<name>`` ref renamed for ``module``."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str) and item.startswith("#/components/"):
                section, _, name = item.removeprefix("#/components/").partition("/")
                out[key] = f"#/components/{section}/{module}.{name}" if name else item
            else:
                out[key] = _renamed_refs(item, module)
        return out
    if isinstance(value, list):
        return [_renamed_refs(item, module) for item in value]
    return value


def tenant_document(slug: str, modules: Iterable[ModuleDocument]) -> dict[str, Any]:
    """The OpenAPI document of bank ``slug``'s subscribed modules."""
    paths: dict[str, Any] = {}
    components: dict[str, dict[str, Any]] = {}
    tags = []
    versions = []
    for doc in sorted(modules, key=lambda d: d.module):
        spec = _renamed_refs(doc.openapi, doc.module)
        versions.append(f"{doc.module}={doc.version}")
        tags.append(
            {"name": doc.module, "description": f"{doc.summary} (version {doc.version})".strip()}
        )
        for section, entries in (spec.get("components") or {}).items():
            if section in _SECTIONS and isinstance(entries, dict):
                bucket = components.setdefault(section, {})
                for name, entry in entries.items():
                    bucket[f"{doc.module}.{name}"] = entry
        for path, item in (spec.get("paths") or {}).items():
            if not isinstance(item, dict) or not isinstance(path, str):
                continue
            routed: dict[str, Any] = {}
            for key, value in item.items():
                if key in _METHODS and isinstance(value, dict):
                    operation = {k: v for k, v in value.items() if k not in ("security", "servers")}
                    operation["tags"] = [doc.module]
                    if isinstance(operation.get("operationId"), str):
                        operation["operationId"] = f"{doc.module}.{operation['operationId']}"
                    routed[key] = operation
                elif key != "servers":
                    routed[key] = value
            paths[f"/t/{slug}/{doc.module}/{path.lstrip('/')}"] = routed
    components["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token issued by the bank's own realm to one of its "
            "systems or users; the gateway checks the scopes each module needs.",
        }
    }
    digest = hashlib.sha256(",".join(versions).encode()).hexdigest()[:12]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"TaaS modules of {slug}",
            "version": digest,
            "description": "The modules this bank subscribes to, at the versions its calls "
            "are routed to: " + (", ".join(versions) or "none") + ".",
        },
        "tags": tags,
        "paths": paths,
        "components": components,
        "security": [{SECURITY_SCHEME: []}],
    }


def routed_versions(snapshot: Snapshot, slug: str) -> tuple[tuple[str, str], ...]:
    """The (module, version) pairs bank ``slug`` is routed to (the document's cache key)."""
    return tuple(
        sorted(
            (route.module, route.version)
            for (tenant, _), route in snapshot.routes.items()
            if tenant == slug and route.live
        )
    )


class Documents:
    """Reads the subscribed modules' documents on demand and caches the bank's document."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()
        self._cache: OrderedDict[tuple[str, tuple[tuple[str, str], ...]], bytes] = OrderedDict()

    async def document(
        self, tenant_id: str, slug: str, versions: tuple[tuple[str, str], ...]
    ) -> bytes:
        """The bank's document as JSON bytes (raises ``psycopg.Error`` or ``OSError``)."""
        key = (tenant_id, versions)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        rows = await self._rows(tenant_id)
        docs = [
            ModuleDocument(module, version, openapi, summary or "")
            for module, version, openapi, summary in rows
            if isinstance(openapi, dict)
        ]
        body = json.dumps(tenant_document(slug, docs)).encode()
        self._cache[key] = body
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return body

    async def _rows(self, tenant_id: str) -> list[tuple[Any, ...]]:
        async with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await psycopg.AsyncConnection.connect(
                        self.dsn, autocommit=True, application_name="taas-gateway-documents"
                    )
                return await (await self._conn.execute(DOCUMENTS_SQL, [tenant_id])).fetchall()
            except (psycopg.Error, OSError):
                if self._conn is not None:
                    await self._conn.close()
                    self._conn = None
                raise

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
