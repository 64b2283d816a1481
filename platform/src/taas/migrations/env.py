"""Alembic environment: the control-plane models are the source of truth."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from taas.approvals import models as approval_models
from taas.audit import models as audit_models
from taas.kit import idempotency
from taas.kit.db import Base
from taas.operations import models as operation_models
from taas.plugins import models as plugin_models
from taas.subscriptions import models as subscription_models
from taas.tenants import models as tenant_models
from taas.usage import models as usage_models

# Imported for their side effect: registering tables on Base.metadata.
_MODELS = (
    approval_models,
    audit_models,
    idempotency,
    operation_models,
    plugin_models,
    subscription_models,
    tenant_models,
    usage_models,
)

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set; run migrations with `taas platform init`")
    connectable = create_engine(url, poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
