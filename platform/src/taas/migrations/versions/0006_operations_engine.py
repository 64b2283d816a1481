"""operations engine: lanes instead of a subscription column, and the outbox mark

Revision ID: 0006_engine
Revises: 0004_lifecycle
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_engine"
down_revision = "0004_lifecycle"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('pending', 'running')")


def upgrade() -> None:
    op.add_column("operations", sa.Column("lane", sa.String(length=120), nullable=True))
    op.execute(
        "UPDATE operations SET lane = CASE WHEN subscription_id IS NULL "
        "THEN 'tenant:' || tenant_id ELSE 'subscription:' || subscription_id END"
    )
    op.alter_column("operations", "lane", nullable=False)
    op.add_column(
        "operations", sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute("UPDATE operations SET dispatched_at = created_at")
    op.drop_index("uq_operations_one_open_per_lane", table_name="operations")
    op.create_index(
        "uq_operations_one_open_per_lane",
        "operations",
        ["lane"],
        unique=True,
        postgresql_where=OPEN,
    )
    op.drop_constraint(
        op.f("fk_operations_subscription_id_subscriptions"), "operations", type_="foreignkey"
    )
    op.drop_index(op.f("ix_operations_subscription_id"), table_name="operations")
    op.drop_column("operations", "subscription_id")
    op.alter_column("operations", "tenant_id", existing_type=sa.Uuid(), nullable=True)
    op.alter_column(
        "operations", "kind", existing_type=sa.String(length=24), type_=sa.String(length=40)
    )


def downgrade() -> None:
    op.add_column("operations", sa.Column("subscription_id", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE operations SET subscription_id = split_part(lane, ':', 2)::uuid "
        "WHERE lane LIKE 'subscription:%'"
    )
    op.create_index(
        op.f("ix_operations_subscription_id"), "operations", ["subscription_id"], unique=False
    )
    op.create_foreign_key(
        op.f("fk_operations_subscription_id_subscriptions"),
        "operations",
        "subscriptions",
        ["subscription_id"],
        ["id"],
    )
    op.drop_index("uq_operations_one_open_per_lane", table_name="operations")
    # Operations of no tenant (a plugin version's) have no place in the old table.
    op.execute(
        "DELETE FROM operation_steps WHERE operation_id IN (SELECT id FROM operations "
        "WHERE lane NOT LIKE 'tenant:%' AND lane NOT LIKE 'subscription:%')"
    )
    op.execute(
        "DELETE FROM operations WHERE lane NOT LIKE 'tenant:%' AND lane NOT LIKE 'subscription:%'"
    )
    op.alter_column("operations", "tenant_id", existing_type=sa.Uuid(), nullable=False)
    op.alter_column(
        "operations", "kind", existing_type=sa.String(length=40), type_=sa.String(length=24)
    )
    op.create_index(
        "uq_operations_one_open_per_lane",
        "operations",
        [
            "tenant_id",
            sa.literal_column(
                "coalesce(subscription_id, '00000000-0000-0000-0000-000000000000'::uuid)"
            ),
        ],
        unique=True,
        postgresql_where=OPEN,
    )
    op.drop_column("operations", "dispatched_at")
    op.drop_column("operations", "lane")
