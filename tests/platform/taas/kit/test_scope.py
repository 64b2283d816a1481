"""Scopes: made from the caller, narrowed without ever widening."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, MetaData, Table, Uuid, select

from taas.kit.scope import Scope

A, B = uuid.uuid4(), uuid.uuid4()
ROWS = Table("rows", MetaData(), Column("id", Uuid), Column("tenant_id", Uuid))


def _sql(scope: Scope) -> str:
    statement = scope.apply(select(ROWS), ROWS.c)
    return str(statement.compile(compile_kwargs={"literal_binds": True}))


def test_a_platform_scope_reads_every_tenant_until_narrowed() -> None:
    platform = Scope.platform("operator")
    assert platform.is_platform
    assert platform.allows(A)
    assert platform.allows(None)
    assert "WHERE" not in _sql(platform).replace("WHERE true", "")
    narrowed = platform.narrow(B)
    assert narrowed.tenants == frozenset({B})
    assert not narrowed.is_platform
    assert narrowed.allows(B)
    assert not narrowed.allows(A)
    assert not narrowed.allows(None)


def test_a_banks_scope_narrowed_to_another_tenant_reads_nothing() -> None:
    bank = Scope.tenant("bank-a-admin", A)
    assert bank.narrow(A) == bank
    other = bank.narrow(B)
    assert other.tenants == frozenset()
    assert not other.allows(B)
    assert not other.allows(A)
    assert "false" in _sql(other)


def test_a_scope_of_an_unknown_tenant_reads_nothing() -> None:
    nobody = Scope.tenant("vendor", None)
    assert nobody.tenants == frozenset()
    assert not nobody.allows(A)


def test_the_filter_names_the_scopes_tenants() -> None:
    assert A.hex in _sql(Scope.tenant("bank", A)).replace("-", "")
    both = Scope("two", frozenset({A, B}))
    assert " IN " in _sql(both)
