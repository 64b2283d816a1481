"""gateway: routes follow the version, incremental route notifications, refusals apart in
usage, and the documents of the modules a tenant subscribes to

Revision ID: 0004_gateway
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004_gateway"
down_revision = "0003"
branch_labels = None
depends_on = None

# The upstream of a route is the one of the version the subscription is on: a version's
# manifest ``upstream.url`` when it has one, else the subscription's in-cluster address
# (set again whenever the subscription changes version). Before this, the view returned
# the address copied at subscribe time, so an upgraded subscription kept calling the
# first version's process while signing the new version's number.
ROUTES = """
    SELECT t.slug AS tenant, t.id AS tenant_id, s.id AS subscription_id, s.module,
           s.rate_limit_rps, s.monthly_quota,
           COALESCE(v.manifest #>> '{upstream,url}', s.upstream_url) AS upstream_url,
           v.version, v.status AS version_status,
           COALESCE(v.manifest -> 'scopes', '[]'::jsonb) AS scopes,
           COALESCE((v.manifest ->> 'timeout_s')::float, 30.0) AS timeout_s,
           d.slug AS vendor, d.signing_secret,
           COALESCE(v.manifest -> 'data' -> 'storage', '[]'::jsonb) AS storage,
           v.id AS plugin_version_id, d.id AS vendor_id
    FROM subscriptions s
    JOIN tenants t ON t.id = s.tenant_id
    JOIN plugin_versions v ON v.id = s.plugin_version_id
    JOIN vendors d ON d.id = v.vendor_id
    WHERE s.status IN ('active', 'updating')
"""
OLD_ROUTES = """
    SELECT t.slug AS tenant, t.id AS tenant_id, s.id AS subscription_id, s.module,
           s.rate_limit_rps, s.monthly_quota, s.upstream_url,
           v.version, v.status AS version_status,
           COALESCE(v.manifest -> 'scopes', '[]'::jsonb) AS scopes,
           COALESCE((v.manifest ->> 'timeout_s')::float, 30.0) AS timeout_s,
           d.slug AS vendor, d.signing_secret,
           COALESCE(v.manifest -> 'data' -> 'storage', '[]'::jsonb) AS storage
    FROM subscriptions s
    JOIN tenants t ON t.id = s.tenant_id
    JOIN plugin_versions v ON v.id = s.plugin_version_id
    JOIN vendors d ON d.id = v.vendor_id
    WHERE s.status IN ('active', 'updating')
"""

# What the gateway serves as a tenant's API reference: the OpenAPI document of each
# servable version its live subscriptions are on.
DOCUMENTS = """
    SELECT s.tenant_id, s.module, v.version, v.manifest -> 'openapi' AS openapi,
           v.manifest ->> 'summary' AS summary
    FROM subscriptions s
    JOIN plugin_versions v ON v.id = s.plugin_version_id
    WHERE s.status IN ('active', 'updating') AND v.status IN ('published', 'deprecated')
"""

# Each change names what changed, so that a gateway re-reads only those rows:
#   "subscription <id> <tenant id> <module>", "tenant <id>", "version <id> <module>",
#   "vendor <id>". Anything else (or too many at once) makes the gateway reload all.
FUNCTIONS = {
    "taas_route_subscription_changed": """
        DECLARE r record;
        BEGIN
            IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
            PERFORM pg_notify('taas_routes',
                'subscription ' || r.id || ' ' || r.tenant_id || ' ' || r.module);
            RETURN NULL;
        END
    """,
    "taas_route_tenant_changed": """
        DECLARE r record;
        BEGIN
            IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
            PERFORM pg_notify('taas_routes', 'tenant ' || r.id);
            RETURN NULL;
        END
    """,
    "taas_route_version_changed": """
        DECLARE r record;
        BEGIN
            IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
            PERFORM pg_notify('taas_routes', 'version ' || r.id || ' ' || r.name);
            RETURN NULL;
        END
    """,
    "taas_route_vendor_changed": """
        BEGIN
            PERFORM pg_notify('taas_routes', 'vendor ' || NEW.id);
            RETURN NULL;
        END
    """,
}
TRIGGERS = {
    "subscriptions": (
        "AFTER INSERT OR UPDATE OR DELETE ON subscriptions FOR EACH ROW",
        "taas_route_subscription_changed",
    ),
    "plugin_versions": (
        "AFTER INSERT OR DELETE OR UPDATE OF status, manifest, vendor_id ON plugin_versions"
        " FOR EACH ROW",
        "taas_route_version_changed",
    ),
    "vendors": (
        "AFTER UPDATE OF signing_secret, slug ON vendors FOR EACH ROW",
        "taas_route_vendor_changed",
    ),
    "tenants": (
        "AFTER UPDATE OF status, quotas, slug, tier ON tenants FOR EACH ROW "
        "WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.quotas IS DISTINCT FROM NEW.quotas"
        " OR OLD.slug IS DISTINCT FROM NEW.slug OR OLD.tier IS DISTINCT FROM NEW.tier)",
        "taas_route_tenant_changed",
    ),
}
# As revision 0002 made them (statement-level, payload = table name: reload everything).
OLD_TRIGGERS = {
    "subscriptions": "AFTER INSERT OR UPDATE OR DELETE ON subscriptions FOR EACH STATEMENT",
    "plugin_versions": "AFTER UPDATE OF status ON plugin_versions FOR EACH STATEMENT",
    "vendors": "AFTER UPDATE OF signing_secret ON vendors FOR EACH STATEMENT",
    "tenants": "AFTER UPDATE OF status, quotas ON tenants FOR EACH ROW "
    "WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.quotas IS DISTINCT FROM NEW.quotas)",
}


def upgrade() -> None:
    op.execute("DROP VIEW gateway_routes")
    op.execute("CREATE VIEW gateway_routes AS " + ROUTES)
    op.execute("CREATE VIEW gateway_module_documents AS " + DOCUMENTS)
    # A version change re-reads the routes on that version.
    op.execute(
        "CREATE INDEX ix_subscriptions_plugin_version_id ON subscriptions (plugin_version_id)"
    )
    for name, body in FUNCTIONS.items():
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$"
        )
    for table, (when, function) in TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS routes_changed_{table} ON {table}")
        op.execute(f"CREATE TRIGGER routes_changed_{table} {when} EXECUTE FUNCTION {function}()")
    # A tenant can also appear already active, or go (the update trigger's WHEN cannot
    # name inserts and deletes).
    op.execute(
        "CREATE TRIGGER routes_changed_tenants_rows AFTER INSERT OR DELETE ON tenants FOR EACH ROW"
        " EXECUTE FUNCTION taas_route_tenant_changed()"
    )

    # Usage: the gateway's own refusals apart from the calls a module answered.
    op.execute("ALTER TABLE usage_daily ADD COLUMN refusal varchar(40) NOT NULL DEFAULT ''")
    op.execute("ALTER TABLE usage_daily DROP CONSTRAINT pk_usage_daily")
    op.execute(
        "ALTER TABLE usage_daily ADD CONSTRAINT pk_usage_daily"
        " PRIMARY KEY (day, tenant_id, module, version, status_class, refusal)"
    )


def downgrade() -> None:
    op.execute("DELETE FROM usage_daily WHERE refusal <> ''")
    op.execute("ALTER TABLE usage_daily DROP CONSTRAINT pk_usage_daily")
    op.execute("ALTER TABLE usage_daily DROP COLUMN refusal")
    op.execute(
        "ALTER TABLE usage_daily ADD CONSTRAINT pk_usage_daily"
        " PRIMARY KEY (day, tenant_id, module, version, status_class)"
    )
    op.execute("DROP TRIGGER IF EXISTS routes_changed_tenants_rows ON tenants")
    for table, when in OLD_TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS routes_changed_{table} ON {table}")
        op.execute(
            f"CREATE TRIGGER routes_changed_{table} {when} EXECUTE FUNCTION taas_routes_changed()"
        )
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.execute("DROP INDEX IF EXISTS ix_subscriptions_plugin_version_id")
    op.execute("DROP VIEW gateway_module_documents")
    op.execute("DROP VIEW gateway_routes")
    op.execute("CREATE VIEW gateway_routes AS " + OLD_ROUTES)
