"""Database plumbing: one engine per process, sessions owned by the request or task."""

from __future__ import annotations

import datetime as dt
import uuid
from functools import lru_cache
from typing import Any, ClassVar

from sqlalchemy import DateTime, MetaData, create_engine, event, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from taas.kit.settings import app_settings
from taas.kit.telemetry import tracer

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every control-plane table."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSONB, list[Any]: JSONB}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class Timestamped:
    """Creation and update times, set by the database."""

    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


@lru_cache
def engine() -> Engine:
    """The process-wide engine for the control-plane database, traced query by query."""
    created = create_engine(
        app_settings().sqlalchemy_url, pool_pre_ping=True, pool_size=10, max_overflow=10
    )
    _trace_queries(created)
    return created


def _trace_queries(target: Engine) -> None:
    @event.listens_for(target, "before_cursor_execute", named=True)
    def start(**kw: Any) -> None:
        span = tracer().start_span(
            "postgres.query",
            attributes={"db.system": "postgresql", "db.statement": kw["statement"][:300]},
        )
        kw["conn"].info.setdefault("taas_spans", []).append(span)

    @event.listens_for(target, "after_cursor_execute", named=True)
    def end(**kw: Any) -> None:
        spans = kw["conn"].info.get("taas_spans")
        if spans:
            spans.pop().end()

    @event.listens_for(target, "handle_error")
    def failed(exception_context: Any) -> None:
        conn = exception_context.connection
        spans = conn.info.get("taas_spans") if conn is not None else None
        if spans:
            span = spans.pop()
            span.record_exception(exception_context.original_exception)
            span.end()


@lru_cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(engine(), expire_on_commit=False)


def new_session() -> Session:
    """A session for callers that manage commits themselves (long-running tasks)."""
    return _session_factory()()


def scoped(statement: Any, model: Any, tenant_id: uuid.UUID) -> Any:
    """Limit ``statement`` to rows of one tenant.

    Superseded by :class:`taas.kit.scope.Scope`, which is made from the caller instead of
    a free tenant id; kept only for the catalog until its queries move into repositories
    that take a scope. ``tests/test_tenant_scoping.py`` allows tenant filters here, in
    :mod:`taas.kit.scope` and in :func:`scoped_sql`, and nowhere else.
    """
    return statement.where(model.tenant_id == tenant_id)


def scoped_sql(query: str, *, many: bool = False, order_by: str = "") -> str:
    """The raw-SQL form of a tenant scope, for the gateway's psycopg queries on views:
    ``query`` limited to one tenant (a ``%s`` uuid parameter) or, with ``many``, to a set
    of tenants (a ``%s`` uuid-array parameter); ``order_by`` names a column to sort by.

    It stays raw SQL and outside :class:`taas.kit.scope.Scope`: the gateway is the data
    plane, may import only the kit, and reads database views with psycopg, not mapped
    models; the tenant ids it passes come from the verified token of the call."""
    condition = "tenant_id = ANY(%s::uuid[])" if many else "tenant_id = %s::uuid"
    order = f" ORDER BY {order_by}" if order_by else ""
    return f"{query} WHERE {condition}{order}"
