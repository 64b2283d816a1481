"""PostgreSQL 15 is real and usable with psycopg 3."""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql

from taas.localstack.stack import LocalStack


def test_psycopg_round_trip_in_a_schema_of_its_own(stack: LocalStack) -> None:
    schema = sql.Identifier(f"t_{uuid.uuid4().hex[:12]}")
    with psycopg.connect(stack.postgres.dsn()) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None
        assert int(version[0]) // 10000 == 15
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
        try:
            conn.execute(
                sql.SQL("CREATE TABLE {}.accounts (id int PRIMARY KEY, owner text)").format(schema)
            )
            conn.execute(
                sql.SQL("INSERT INTO {}.accounts VALUES (%s, %s), (%s, %s)").format(schema),
                (1, "bank-a", 2, "bank-b"),
            )
            rows = conn.execute(
                sql.SQL("SELECT owner FROM {}.accounts ORDER BY id").format(schema)
            ).fetchall()
            assert rows == [("bank-a",), ("bank-b",)]
        finally:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))


def test_listens_on_loopback_only(stack: LocalStack) -> None:
    with psycopg.connect(stack.postgres.dsn()) as conn:
        row = conn.execute("SHOW listen_addresses").fetchone()
    assert row == ("127.0.0.1",)


def test_keycloak_has_its_own_database_and_role(stack: LocalStack) -> None:
    with psycopg.connect(stack.postgres.dsn()) as conn:
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'keycloak'"
        ).fetchone()
    assert owner == ("keycloak",)
