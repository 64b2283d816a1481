"""gateway_routes says which storage access the plugin declared

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ROUTES = """
    SELECT t.slug AS tenant, t.id AS tenant_id, s.id AS subscription_id, s.module,
           s.rate_limit_rps, s.monthly_quota, s.upstream_url,
           v.version, v.status AS version_status,
           COALESCE(v.manifest -> 'scopes', '[]'::jsonb) AS scopes,
           COALESCE((v.manifest ->> 'timeout_s')::float, 30.0) AS timeout_s,
           d.slug AS vendor, d.signing_secret{extra}
    FROM subscriptions s
    JOIN tenants t ON t.id = s.tenant_id
    JOIN plugin_versions v ON v.id = s.plugin_version_id
    JOIN vendors d ON d.id = v.vendor_id
    WHERE s.status IN ('active', 'updating')
"""
STORAGE = ",\n           COALESCE(v.manifest -> 'data' -> 'storage', '[]'::jsonb) AS storage"


def upgrade() -> None:
    # A view can only gain columns at its end: CREATE OR REPLACE keeps dependants working.
    op.execute("CREATE OR REPLACE VIEW gateway_routes AS " + ROUTES.format(extra=STORAGE))


def downgrade() -> None:
    op.execute("DROP VIEW gateway_routes")
    op.execute("CREATE VIEW gateway_routes AS " + ROUTES.format(extra=""))
