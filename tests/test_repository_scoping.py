"""A subject of tenant A never reads a row of tenant B, through any repository method.

Rows of two tenants are written to the real database (in one transaction, rolled back at
the end). Every public method of every repository that takes a scope is then called with
A's scope, with A's scope narrowed to B, and with the platform's narrowed to B: the first
returns rows of A and nothing else, the second nothing, the third B's rows only. A
repository method that is neither walked here nor declared unscoped (with the reason)
fails the meta-check, so a new method cannot go unchecked.

To add a domain (the catalog's, once its repositories take a scope): list its repository
classes in ``REPOSITORIES``, teach ``seed`` to write its rows for a tenant (and ``owner``
how to tell whose a row is, if it has no ``tenant_id``), and give each method a walk in
``WALKS`` or a reason in ``UNSCOPED``.
"""

from __future__ import annotations

import ast
import datetime as dt
import typing
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from conftest import ControlPlane
from taas.approvals.repository import ApprovalRepository
from taas.audit.repository import AuditRepository
from taas.kit.auth import AUDITOR, BANK_ADMIN, OPERATOR, Principal
from taas.kit.db import new_session
from taas.kit.scope import Scope
from taas.operations.models import Operation
from taas.operations.repository import OperationRepository
from taas.operations.states import OperationStatus
from taas.operators.repository import OperatorsRepository
from taas.tenants.models import Tenant
from taas.tenants.repository import TenantRepository
from taas.tenants.states import TenantStatus

REPOSITORIES: list[type] = [
    TenantRepository,
    OperationRepository,
    AuditRepository,
    ApprovalRepository,
    OperatorsRepository,
]


@dataclass
class Rows:
    """What was written for one tenant."""

    tenant: Tenant
    operations: list[Operation] = field(default_factory=list)


@dataclass
class World:
    session: Session
    a: Rows
    b: Rows

    @property
    def both(self) -> list[Rows]:
        return [self.a, self.b]


Walk = Callable[[World, Scope], Iterable[Any] | Any]
LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

# Each walk calls one method with ``scope`` over the rows of both tenants.
WALKS: dict[Callable[..., Any], Walk] = {
    TenantRepository.get: lambda w, scope: [
        TenantRepository(w.session).get(scope, rows.tenant.id) for rows in w.both
    ],
    TenantRepository.by_slug: lambda w, scope: [
        TenantRepository(w.session).by_slug(scope, rows.tenant.slug) for rows in w.both
    ],
    TenantRepository.page: lambda w, scope: TenantRepository(w.session).page(
        scope, after=None, limit=10_000
    ),
    TenantRepository.in_states: lambda w, scope: TenantRepository(w.session).in_states(
        scope, list(TenantStatus)
    ),
    TenantRepository.retention_over: lambda w, scope: TenantRepository(w.session).retention_over(
        scope, dt.datetime.now(dt.UTC)
    ),
    OperationRepository.get: lambda w, scope: [
        OperationRepository(w.session).get(scope, op.id)
        for rows in w.both
        for op in rows.operations
    ],
    OperationRepository.recent: lambda w, scope: OperationRepository(w.session).recent(
        scope, limit=10_000
    ),
    AuditRepository.page: lambda w, scope: AuditRepository(w.session).page(
        scope, after_seq=0, limit=1_000_000
    ),
}

# Public methods that take no scope, and why that is safe.
UNSCOPED: dict[Callable[..., Any], str] = {
    TenantRepository.scope_of: "makes the scope (test_the_scope_of_each_kind_of_caller)",
    TenantRepository.add: "a write",
    TenantRepository.slug_taken: "answers yes or no for a slug, platform-wide (uniqueness)",
    TenantRepository.realm_in_use: "answers yes or no for a slug (may its realm sign tokens)",
    OperationRepository.start: "a write",
    OperationRepository.open_in: "lane coordination for a subject already read in scope",
    OperationRepository.to_relay: "the engine's relay: operation ids, every tenant's",
    OperationRepository.mark_dispatched: "a write",
    AuditRepository.append: "a write",
    AuditRepository.walk: "verifying the chain needs every event (operators, auditors)",
    AuditRepository.head: "the chain's head: a sequence number and a hash",
    AuditRepository.quiet_head: "the chain's head, under the append lock",
    ApprovalRepository.add: "a write",
    ApprovalRepository.get: "approval requests are platform records (no tenant owns one)",
    ApprovalRepository.pending_for: "approval requests are platform records",
    ApprovalRepository.expire_due: "a write (expires what is due)",
    ApprovalRepository.page: "approval requests are platform records",
    OperatorsRepository.lock_membership: "a lock",
}


def owner(row: Any) -> uuid.UUID | None:
    """The tenant a row belongs to."""
    if isinstance(row, Tenant):
        return row.id
    if hasattr(row, "tenant_id"):
        return typing.cast("uuid.UUID | None", row.tenant_id)
    raise AssertionError(f"teach owner() whose a {type(row).__name__} is")


def _rows(result: Iterable[Any] | Any) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, (list, tuple, Iterator)):
        return [row for row in result if row is not None]
    return [result]


def seed(session: Session, slug: str) -> Rows:
    """A tenant with rows in every scoped table (its retention over, so every read finds it)."""
    tenant = Tenant(
        slug=slug,
        display_name=f"Bank {slug}",
        tier="pool",
        region="local",
        quotas={},
        status=TenantStatus.OFFBOARDED,
        purge_after=LONG_AGO,
    )
    session.add(tenant)
    session.flush()
    rows = Rows(tenant)
    for kind in ("provision", "offboard"):
        operation = Operation(
            lane=f"tenant:{tenant.id}",
            tenant_id=tenant.id,
            kind=kind,
            status=OperationStatus.SUCCEEDED,
            requested_by="test",
            params={},
        )
        session.add(operation)
        rows.operations.append(operation)
    audit = AuditRepository(session)
    for action in ("tenant.create", "tenant.offboard"):
        audit.append(actor="test", action=action, outcome="accepted", tenant_id=tenant.id)
    session.flush()
    return rows


@pytest.fixture
def world(control_plane: ControlPlane) -> Iterator[World]:
    with new_session() as session:
        tag = uuid.uuid4().hex[:8]
        try:
            yield World(session, seed(session, f"scope-a-{tag}"), seed(session, f"scope-b-{tag}"))
        finally:
            session.rollback()


def _bank(slug: str) -> Principal:
    return Principal(
        subject=f"{slug}-admin",
        username="admin",
        realm=f"bank-{slug}",
        roles=frozenset({BANK_ADMIN}),
        tenant=slug,
    )


def _name(method: Callable[..., Any]) -> str:
    return method.__qualname__


@pytest.mark.parametrize("method", list(WALKS), ids=_name)
def test_a_bank_reads_its_own_rows_and_never_another_banks(
    world: World, method: Callable[..., Any]
) -> None:
    walk = WALKS[method]
    a, b = world.a.tenant.id, world.b.tenant.id
    mine = TenantRepository(world.session).scope_of(_bank(world.a.tenant.slug))
    assert mine.tenants == frozenset({a})

    seen = _rows(walk(world, mine))
    assert seen, f"{_name(method)} found none of A's rows: the walk proves nothing"
    assert {owner(row) for row in seen} == {a}

    assert _rows(walk(world, mine.narrow(b))) == [], "a bank's scope narrowed to B read B"

    platform = Scope.platform("test-operator")
    assert {owner(row) for row in _rows(walk(world, platform.narrow(b)))} == {b}

    nobody = Scope.tenant("vendor", None)
    assert _rows(walk(world, nobody)) == []


def test_the_scope_of_each_kind_of_caller(world: World) -> None:
    tenants = TenantRepository(world.session)
    a = world.a.tenant
    assert tenants.scope_of(_bank(a.slug)) == Scope.tenant(f"{a.slug}-admin", a.id)
    assert tenants.scope_of(_bank("no-such-bank")).tenants == frozenset()
    for role in (OPERATOR, AUDITOR):
        platform = Principal("s", "u", "taas-platform", frozenset({role}), tenant=None)
        assert tenants.scope_of(platform).is_platform
    vendor = Principal("v", "v", "taas-vendors", frozenset(), tenant=None, vendor="acme")
    nobody = Principal("n", "n", "taas-platform", frozenset(), tenant=None)
    assert tenants.scope_of(vendor).tenants == frozenset()
    assert tenants.scope_of(nobody).tenants == frozenset()


# --------------------------------------------------------------------------- meta-checks


def _public_methods(repository: type) -> dict[str, Callable[..., Any]]:
    return {
        name: member
        for name, member in vars(repository).items()
        if not name.startswith("_") and callable(member)
    }


def _takes_scope(method: Callable[..., Any]) -> bool:
    hints = typing.get_type_hints(method)
    return any(hint is Scope for name, hint in hints.items() if name != "return")


def test_every_repository_method_is_walked_or_declared_unscoped() -> None:
    missing, misfiled = [], []
    for repository in REPOSITORIES:
        for name, method in _public_methods(repository).items():
            where = f"{repository.__name__}.{name}"
            if method not in WALKS and method not in UNSCOPED:
                missing.append(where)
            elif method in WALKS and not _takes_scope(method):
                misfiled.append(f"{where} is walked but takes no Scope")
            elif method in UNSCOPED and _takes_scope(method):
                misfiled.append(f"{where} takes a Scope: walk it instead")
    assert missing == [], (
        "add a walk (WALKS) for each scoped read, or a reason (UNSCOPED): " + ", ".join(missing)
    )
    assert misfiled == []
    listed = {method.__qualname__.split(".")[0] for method in [*WALKS, *UNSCOPED]}
    assert listed <= {repository.__name__ for repository in REPOSITORIES}


SOURCE = Path(__file__).resolve().parent.parent / "platform" / "src" / "taas"
# Domains whose queries all live in repositories (the catalog joins once it has them).
DOMAINS = ["tenants", "operations", "audit", "approvals", "operators"]
# Modules that may hold a query: repositories; models (index conditions); the outbox,
# which marks what it sent on its own connection after the request's commit.
QUERY_HOMES = {"repository.py", "models.py", "outbox.py"}
QUERY_CALLS = {"select", "update", "delete", "insert", "text"}
QUERY_METHODS = {"execute", "scalars", "scalar", "query"}


def _queries(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in QUERY_CALLS:
            yield f"{path.relative_to(SOURCE)}:{node.lineno}: {func.id}(...)"
        elif isinstance(func, ast.Attribute) and (
            func.attr in QUERY_METHODS
            or (func.attr == "get" and getattr(func.value, "attr", None) == "session")
            or (func.attr == "get" and getattr(func.value, "id", None) == "session")
        ):
            yield f"{path.relative_to(SOURCE)}:{node.lineno}: .{func.attr}(...)"


def test_queries_live_in_repositories() -> None:
    found = [
        query
        for domain in DOMAINS
        for path in sorted((SOURCE / domain).glob("*.py"))
        if path.name not in QUERY_HOMES
        for query in _queries(path)
    ]
    assert found == [], "move these queries into the domain's repository:\n" + "\n".join(found)


def test_every_repository_of_the_walked_domains_is_listed() -> None:
    listed = {repository.__name__ for repository in REPOSITORIES}
    found = {
        node.name
        for domain in DOMAINS
        for node in ast.walk(ast.parse((SOURCE / domain / "repository.py").read_text()))
        if isinstance(node, ast.ClassDef) and node.name.endswith("Repository")
    }
    assert found <= listed, f"add to REPOSITORIES: {sorted(found - listed)}"
