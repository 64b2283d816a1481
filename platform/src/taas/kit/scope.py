"""Whose rows a read may return, decided by who is asking, never by a free tenant id.

A :class:`Scope` is made from an authenticated caller: a bank's user or system gets the
scope of its own tenant, a platform operator, auditor or a system actor gets the whole
platform. Repositories take a scope and apply it with :meth:`Scope.apply`, the one place
that writes a tenant filter. :meth:`Scope.narrow` lets a platform-wide caller look at one
tenant; narrowing a bank's scope to another tenant gives an empty scope, which reads
nothing, so a scoped read cannot be pointed at another bank by mistake.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.sql import Select

Q = TypeVar("Q", bound=Select[Any])


@dataclass(frozen=True)
class Scope:
    """The tenants one caller may read (``None``: every tenant)."""

    subject: str
    tenants: frozenset[uuid.UUID] | None

    @classmethod
    def platform(cls, subject: str) -> Scope:
        """Every tenant: for platform operators, auditors and the platform's own actors."""
        return cls(subject, None)

    @classmethod
    def tenant(cls, subject: str, tenant_id: uuid.UUID | None) -> Scope:
        """One tenant: for a bank's users and systems (none if its tenant is unknown)."""
        return cls(subject, frozenset({tenant_id}) if tenant_id else frozenset())

    @property
    def is_platform(self) -> bool:
        return self.tenants is None

    def narrow(self, tenant_id: uuid.UUID) -> Scope:
        """This scope limited to one tenant (empty if the tenant is not in it)."""
        if self.tenants is None:
            return Scope(self.subject, frozenset({tenant_id}))
        return Scope(self.subject, self.tenants & {tenant_id})

    def allows(self, tenant_id: uuid.UUID | None) -> bool:
        if self.tenants is None:
            return True
        return tenant_id is not None and tenant_id in self.tenants

    def where(self, column: Any) -> ColumnElement[bool]:
        """The condition on a ``tenant_id`` column that keeps this scope's rows."""
        if self.tenants is None:
            return true()
        if not self.tenants:
            return false()
        if len(self.tenants) == 1:
            return column == next(iter(self.tenants))  # type: ignore[no-any-return]
        return column.in_(sorted(self.tenants))  # type: ignore[no-any-return]

    def apply(self, statement: Q, model: Any) -> Q:
        """``statement`` limited to rows of ``model`` this scope may read."""
        return statement.where(self.where(model.tenant_id))
