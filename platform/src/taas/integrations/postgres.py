"""Tenant data in PostgreSQL: a schema (pool) or database (silo/dedicated) and a login role
that can reach only that."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from taas.integrations.spec import TenantSpec
from taas.kit.errors import PermanentError, TemporaryError
from taas.kit.telemetry import traced

# Databases a tenant role must never connect to (PUBLIC has CONNECT by default).
_PLATFORM_DATABASES = ("postgres", "template1")
_CATALOG_LOCK = 7_261_002
_ROLE = "SELECT 1 FROM pg_roles WHERE rolname = %s"
_DATABASE = "SELECT 1 FROM pg_database WHERE datname = %s"
_SCHEMA = "SELECT 1 FROM pg_namespace WHERE nspname = %s"
Connection = psycopg.Connection[tuple[object, ...]]


def with_database(dsn: str, database: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


class PostgresTenants:
    """Makes each tenant's schema or database and its role match the spec."""

    def __init__(self, admin_dsn: str, tenants_database: str) -> None:
        self.admin_dsn = admin_dsn
        self.tenants_database = tenants_database

    @contextmanager
    def _connect(self, database: str | None = None) -> Iterator[Connection]:
        dsn = with_database(self.admin_dsn, database) if database else self.admin_dsn
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
                yield conn
        except psycopg.OperationalError as exc:
            raise TemporaryError(f"PostgreSQL unreachable: {exc}", delay=2) from exc
        except (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected) as exc:
            raise TemporaryError(f"PostgreSQL concurrency conflict: {exc}", delay=0.5) from exc
        except psycopg.errors.InternalError_ as exc:
            if "concurrently" in str(exc):  # catalog row updated by a concurrent DDL
                raise TemporaryError(f"PostgreSQL concurrency conflict: {exc}", delay=0.5) from exc
            raise PermanentError(f"PostgreSQL refused: {exc}") from exc
        except psycopg.Error as exc:
            raise PermanentError(
                f"PostgreSQL refused: {exc}", hint="check the tenant's database objects"
            ) from exc

    def _exists(self, conn: Connection, query: str, name: str) -> bool:
        return conn.execute(query, (name,)).fetchone() is not None

    def _lock_down_platform_databases(self, conn: Connection) -> None:
        control_plane = urlsplit(self.admin_dsn).path.lstrip("/")
        for database in {*_PLATFORM_DATABASES, control_plane, "keycloak"}:
            if self._exists(
                conn,
                "SELECT 1 FROM pg_database WHERE datname = %s "
                "AND has_database_privilege('public', datname, 'CONNECT')",
                database,
            ):
                conn.execute(
                    sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(
                        sql.Identifier(database)
                    )
                )

    @traced("postgres.ensure_tenant")
    def ensure(self, spec: TenantSpec, password: str, *, login: bool = True) -> list[str]:
        """Create or repair the tenant's role and schema/database; return what changed.

        ``login=False`` keeps a suspended tenant's role locked while repairing the rest.
        """
        with self._connect("postgres") as conn:
            # Roles and database privileges live in shared catalogs; concurrent grants on the
            # same database row fail ("tuple concurrently updated"), so tenants take turns here
            # (the lock is released when the connection closes).
            conn.execute("SELECT pg_advisory_lock(%s)", (_CATALOG_LOCK,))
            self._lock_down_platform_databases(conn)
            changes = self._ensure_role(conn, spec, password, login=login)
            changes += self._ensure_database(conn, spec)
        return changes + self._ensure_schema(spec)

    def _ensure_role(
        self, conn: Connection, spec: TenantSpec, password: str, *, login: bool
    ) -> list[str]:
        can_login = sql.SQL("LOGIN" if login else "NOLOGIN")
        role = sql.Identifier(spec.db_name)
        exists = self._exists(conn, _ROLE, spec.db_name)
        conn.execute(
            sql.SQL("{} ROLE {} {} PASSWORD {}").format(
                sql.SQL("ALTER" if exists else "CREATE"), role, can_login, sql.Literal(password)
            )
        )
        return [] if exists else [f"created role {spec.db_name}"]

    def _ensure_database(self, conn: Connection, spec: TenantSpec) -> list[str]:
        """The tenant's own database (isolated tiers) or the shared one, which only the
        tenant's role (besides the platform) may connect to."""
        role = sql.Identifier(spec.db_name)
        database = self.database_of(spec)
        changes = []
        if not self._exists(conn, _DATABASE, database):
            owner = (
                role
                if spec.isolated
                else sql.Identifier(urlsplit(self.admin_dsn).username or "postgres")
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), owner)
            )
            changes.append(f"created database {database}")
        conn.execute(
            sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database))
        )
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), role)
        )
        return changes

    def _ensure_schema(self, spec: TenantSpec) -> list[str]:
        """The tenant's schema, owned by its role and first on its search path."""
        role = sql.Identifier(spec.db_name)
        database = self.database_of(spec)
        changes = []
        with self._connect(database) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_CATALOG_LOCK,))
            if conn.execute(
                "SELECT has_schema_privilege('public', 'public', 'USAGE')"
            ).fetchone() == (True,):
                conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
            if not self._exists(conn, _SCHEMA, spec.db_name):
                conn.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(role, role))
                changes.append(f"created schema {spec.db_name} in {database}")
            conn.execute(
                sql.SQL("ALTER ROLE {} IN DATABASE {} SET search_path = {}").format(
                    role, sql.Identifier(database), role
                )
            )
        return changes

    def database_of(self, spec: TenantSpec) -> str:
        return spec.db_name if spec.isolated else self.tenants_database

    def tenant_dsn(self, spec: TenantSpec, password: str) -> str:
        """How the tenant's own role connects (for the tenant's workloads and for tests)."""
        parts = urlsplit(self.admin_dsn)
        netloc = f"{spec.db_name}:{password}@{parts.hostname}:{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc, path=f"/{self.database_of(spec)}"))

    @traced("postgres.check_tenant")
    def exists(self, spec: TenantSpec) -> dict[str, bool]:
        with self._connect("postgres") as conn:
            role = self._exists(conn, _ROLE, spec.db_name)
            database = self._exists(conn, _DATABASE, self.database_of(spec))
        schema = False
        if database:
            with self._connect(self.database_of(spec)) as conn:
                schema = self._exists(conn, _SCHEMA, spec.db_name)
        return {"role": role, "database": database and spec.isolated, "schema": schema}

    @traced("postgres.set_login")
    def set_login(self, spec: TenantSpec, *, allowed: bool) -> list[str]:
        """Allow or forbid the tenant role to log in; forbidding also ends its sessions."""
        role = sql.Identifier(spec.db_name)
        with self._connect("postgres") as conn:
            if not self._exists(conn, _ROLE, spec.db_name):
                return []
            current = conn.execute(
                "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (spec.db_name,)
            ).fetchone()
            if current is not None and current[0] == allowed:
                return []
            conn.execute(
                sql.SQL("ALTER ROLE {} {}").format(role, sql.SQL("LOGIN" if allowed else "NOLOGIN"))
            )
            if not allowed:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                    (spec.db_name,),
                )
        return [f"{'enabled' if allowed else 'disabled'} login of role {spec.db_name}"]

    @traced("postgres.remove_tenant")
    def remove(self, spec: TenantSpec) -> list[str]:
        """Drop the tenant's schema or database and its role."""
        role = sql.Identifier(spec.db_name)
        changes: list[str] = []
        self.set_login(spec, allowed=False)
        with self._connect("postgres") as conn:
            if spec.isolated and self._exists(conn, _DATABASE, spec.db_name):
                conn.execute(
                    sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(spec.db_name))
                )
                changes.append(f"dropped database {spec.db_name}")
        if not spec.isolated:
            with self._connect(self.tenants_database) as conn:
                if self._exists(conn, _SCHEMA, spec.db_name):
                    conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(role))
                    changes.append(f"dropped schema {spec.db_name}")
                if self._exists(conn, _ROLE, spec.db_name):
                    conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
        with self._connect("postgres") as conn:
            if self._exists(conn, _ROLE, spec.db_name):
                conn.execute(sql.SQL("DROP ROLE {}").format(role))
                changes.append(f"dropped role {spec.db_name}")
        return changes
