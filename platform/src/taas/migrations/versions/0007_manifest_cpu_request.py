"""manifests: ``resources.cpu`` is now the pod's request; keep every stored version's pods
as they were (the old figure becomes ``cpu_limit``, the request stays a quarter of it)

Revision ID: 0007_cpu_request
Revises: 0006_engine
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0007_cpu_request"
down_revision = "0006_engine"
branch_labels = None
depends_on = None

VERSIONS = sa.text("SELECT id, manifest FROM plugin_versions")
UPDATE = sa.text("UPDATE plugin_versions SET manifest = CAST(:manifest AS jsonb) WHERE id = :id")


def _millicores(cpu: str) -> float:
    return float(cpu[:-1]) if cpu.endswith("m") else float(cpu) * 1000


def rewritten(resources: object, change: str) -> bool:
    """Rewrite one manifest's ``resources`` in place (``change`` is ``up`` or ``down``);
    True when it changed."""
    if not isinstance(resources, dict) or not isinstance(resources.get("cpu"), str):
        return False
    if change == "up" and resources.get("cpu_limit") is None:
        limit = resources["cpu"]
        resources["cpu"] = f"{max(10, int(_millicores(limit) / 4))}m"
        resources["cpu_limit"] = limit
        return True
    if change == "down" and resources.get("cpu_limit") is not None:
        resources["cpu"] = resources.pop("cpu_limit")
        return True
    return False


def _rewrite(change: str) -> None:
    bind = op.get_bind()
    for version_id, manifest in bind.execute(VERSIONS).all():
        if rewritten((manifest or {}).get("resources"), change):
            bind.execute(UPDATE, {"id": version_id, "manifest": json.dumps(manifest)})


def upgrade() -> None:
    _rewrite("up")


def downgrade() -> None:
    _rewrite("down")
