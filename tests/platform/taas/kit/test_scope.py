"""Scopes built from a caller: a bank's caller reads its own tenant only."""

from __future__ import annotations

import uuid

from taas.kit.scope import Scope, caller_scope

A, B = uuid.uuid4(), uuid.uuid4()


def test_a_platform_caller_narrowed_to_one_tenant() -> None:
    scope = caller_scope("operator", None, A, "bank-a")
    assert scope == Scope("operator", frozenset({A}))
    assert scope.allows(A)
    assert not scope.allows(B)


def test_a_bank_caller_reads_its_own_tenant() -> None:
    scope = caller_scope("admin-a", "bank-a", A, "bank-a")
    assert scope.allows(A)
    assert not scope.allows(B)


def test_a_bank_caller_naming_another_tenant_reads_nothing() -> None:
    scope = caller_scope("admin-a", "bank-a", B, "bank-b")
    assert scope.tenants == frozenset()
    assert not scope.allows(A)
    assert not scope.allows(B)
