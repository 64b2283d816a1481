"""Alembic environment: the control-plane models are the source of truth."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from taas.kit.db import Base
from taas.wiring import MODELS

# Imported for their side effect: registering tables on Base.metadata.
_MODELS = MODELS

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
