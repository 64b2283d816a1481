"""Plugin validation in the crash drills: what a case submits, how it reads the operation,
and what it checks once the validation is over.

A validation case works on a module of its own (named after the case, see
``backend_scan.module_prefix``): the drill's vendor submits its first version, the check
step is faulted, and the version must end validated. A validation that fails ends the
version ``invalid`` with a report saying why; a version is immutable, so the vendor's way
on is to submit the next version, which must validate. The test plugin exchanges the
storage grant of every signed call for sandbox credentials (``PluginBehaviour.
credentials_url``), so each validation makes a sandbox storage identity that must be gone
once the version is settled: the backend scan looks for it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from catalog_support import VendorAccount
from plugin_app import PluginServer, manifest
from taas.kit.db import new_session
from taas.operations.models import Operation
from taas.plugins.models import PluginVersion
from taas.plugins.plans import plugin_lane

Json = dict[str, Any]
FIRST_VERSION, NEXT_VERSION = "1.0.0", "1.0.1"
TOKEN_REUSE_S = 60.0


def operation_record(operation_id: str) -> Json:
    """An operation and its steps as the tenants' API shows them (a plugin version's
    operations have no endpoint of their own: read from the database)."""
    with new_session() as session:
        row = session.get(Operation, uuid.UUID(operation_id))
        assert row is not None, operation_id
        steps = [
            {"name": s.name, "status": str(s.status), "attempts": s.attempts, "error": s.error}
            for s in row.steps
        ]
        return {"id": operation_id, "status": str(row.status), "error": row.error, "steps": steps}


def validation_of(name: str, version: str) -> str:
    """The id of the newest validation of ``name version``."""
    with new_session() as session:
        row = session.scalars(
            select(PluginVersion).where(
                PluginVersion.name == name, PluginVersion.version == version
            )
        ).one()
        newest = session.scalars(
            select(Operation.id)
            .where(Operation.lane == plugin_lane(row.id))
            .order_by(Operation.created_at.desc())
        ).first()
        assert newest is not None, f"{name} {version} has no validation"
        return str(newest)


@dataclass
class Validations:
    """Submits versions as the drill's vendor, to the drill's plugin server."""

    api: Any
    vendor: VendorAccount
    server: PluginServer
    _token: tuple[dict[str, str], float] = field(default_factory=lambda: ({}, 0.0))

    def vendor_headers(self) -> dict[str, str]:
        headers, at = self._token
        if time.monotonic() - at > TOKEN_REUSE_S:
            self._token = headers, at = self.vendor.headers(), time.monotonic()
        return headers

    def submit(self, name: str, version: str) -> str:
        """Submit ``name version``; returns the id of the validation it started."""
        body = manifest(name, version, self.server.url, scopes=[f"{name}.read"])
        submitted = self.api.post(
            f"/v1/vendors/{self.vendor.slug}/plugins", json=body, headers=self.vendor_headers()
        )
        assert submitted.status_code == 202, submitted.text
        return validation_of(name, version)

    def check(self, name: str, version: str, operator: dict[str, str]) -> None:
        """The version passed every check, and its check really minted sandbox storage
        credentials (so the scan had an identity to look for)."""
        found = self.api.get(f"/v1/plugins/{name}/versions/{version}", headers=operator)
        body: Json = found.json()
        assert body["status"] == "validated", body
        assert self.server.behaviour.minted.get(name, 0) > 0, "no sandbox credentials minted"
