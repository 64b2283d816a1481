"""Run the control plane's Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(sqlalchemy_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url.replace("%", "%%"))
    return config


def upgrade(sqlalchemy_url: str, revision: str = "head") -> None:
    """Bring the database schema to ``revision``."""
    command.upgrade(alembic_config(sqlalchemy_url), revision)


def revision(sqlalchemy_url: str, message: str) -> None:
    """Autogenerate a new migration from the models (development only)."""
    command.revision(alembic_config(sqlalchemy_url), message=message, autogenerate=True)
