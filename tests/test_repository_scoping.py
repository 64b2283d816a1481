"""A subject of tenant A never reads a row of tenant B, through any repository method.

Rows of two tenants are written to the real database (in one transaction, rolled back at
the end; ``scoping_support`` writes them). Every public method of every repository that
takes a scope is then called with A's scope, with A's scope narrowed to B, and with the
platform's narrowed to B: the first returns rows of A and nothing else, the second
nothing, the third B's rows only. A repository method that is neither walked here nor
declared unscoped (with the reason) fails the meta-check, so a new method cannot go
unchecked; neither can a repository of a listed domain that is missing from
``REPOSITORIES``, nor a query outside a repository.

To add a domain: list its repository classes in ``REPOSITORIES`` and the domain in
``DOMAINS``, teach ``scoping_support.seed`` to write its rows for a tenant (and
``World.owner`` how to tell whose a row is, if it has no ``tenant_id``), and give each
method a walk in ``WALKS`` or a reason in ``UNSCOPED``.
"""

from __future__ import annotations

import ast
import datetime as dt
import typing
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ControlPlane
from scoping_support import METERED_ON, World, bank, rows_of, seed
from taas.approvals.repository import ApprovalRepository
from taas.audit.repository import AuditRepository
from taas.catalog.repository import CatalogRepository
from taas.kit.auth import AUDITOR, OPERATOR, Principal
from taas.kit.db import new_session
from taas.kit.scope import Scope
from taas.operations.repository import OperationRepository
from taas.operators.repository import OperatorsRepository
from taas.plugins.repository import PluginVersionRepository, VendorRepository
from taas.subscriptions.repository import SubscriptionRepository
from taas.tenants.repository import TenantRepository
from taas.tenants.states import TenantStatus
from taas.usage.repository import UsageRepository

REPOSITORIES: list[type] = [
    TenantRepository,
    OperationRepository,
    AuditRepository,
    ApprovalRepository,
    OperatorsRepository,
    SubscriptionRepository,
    UsageRepository,
    VendorRepository,
    PluginVersionRepository,
    CatalogRepository,
]

Walk = Callable[[World, Scope], Iterable[Any] | Any]
# Short names, so that each walk of these two fits its lines.
Subscriptions, Usage = SubscriptionRepository, UsageRepository


def _vendors(w: World) -> list[uuid.UUID | None]:
    """Every vendor's report (None) and each tenant's module's vendor's."""
    return [None, *(rows.version.vendor_id for rows in w.both)]


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
    Subscriptions.get: lambda w, scope: [
        Subscriptions(w.session).get(scope, row.id) for rows in w.both for row in rows.subscriptions
    ],
    Subscriptions.live: lambda w, scope: [
        Subscriptions(w.session).live(scope, rows.module, lock=lock)
        for rows in w.both
        for lock in (False, True)
    ],
    Subscriptions.all_live: lambda w, scope: Subscriptions(w.session).all_live(scope),
    Subscriptions.routed: lambda w, scope: [
        Subscriptions(w.session).routed(scope, rows.module) for rows in w.both
    ],
    Subscriptions.is_routed: lambda w, scope: [
        row
        for rows in w.both
        for row in rows.subscriptions
        if Subscriptions(w.session).is_routed(scope, row.id)
    ],
    Subscriptions.on_version: lambda w, scope: [
        pair
        for rows in w.both
        for every in (False, True)
        for pair in Subscriptions(w.session).on_version(scope, rows.version.id, every=every)
    ],
    Subscriptions.deployed: lambda w, scope: [
        (row, tenant) for row, tenant, _version in Subscriptions(w.session).deployed(scope)
    ],
    Subscriptions.behind_channel: lambda w, scope: [
        pair
        for rows in w.both
        for pair in Subscriptions(w.session).behind_channel(scope, rows.module, uuid.uuid4())
    ],
    Subscriptions.served: lambda w, scope: [
        name
        for name, _version, _count in Subscriptions(w.session).served(
            scope, [rows.version.id for rows in w.both]
        )
    ],
    Usage.daily: lambda w, scope: [
        row[1]  # the module
        for vendor in _vendors(w)
        for row in Usage(w.session).daily(scope, METERED_ON, METERED_ON, vendor_id=vendor)
    ],
    Usage.refusals: lambda w, scope: [
        module
        for vendor in _vendors(w)
        for _day, module, _version in Usage(w.session).refusals(
            scope, METERED_ON, METERED_ON, vendor_id=vendor
        )
    ],
}

CATALOG = "the platform's catalog of vendors and their plugins (no tenant owns it)"
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
    SubscriptionRepository.add: "a write",
    VendorRepository.add: "a write",
    VendorRepository.get: CATALOG,
    VendorRepository.by_slug: CATALOG,
    VendorRepository.all: CATALOG,
    PluginVersionRepository.add: "a write",
    PluginVersionRepository.get: CATALOG,
    PluginVersionRepository.reread_locked: CATALOG,
    PluginVersionRepository.find: CATALOG,
    PluginVersionRepository.of_module: CATALOG,
    PluginVersionRepository.owner_of: "which vendor a module is (the catalog)",
    PluginVersionRepository.listing: CATALOG + "; the service limits a vendor to its own",
    PluginVersionRepository.open_of_vendor: CATALOG + " (locked, for the vendor's offboarding)",
    CatalogRepository.servable: "the versions the gateways may serve, every bank's choice",
}


@pytest.fixture
def world(control_plane: ControlPlane) -> Iterator[World]:
    with new_session() as session:
        tag = uuid.uuid4().hex[:8]
        try:
            yield World(session, seed(session, f"scope-a-{tag}"), seed(session, f"scope-b-{tag}"))
        finally:
            session.rollback()


def _name(method: Callable[..., Any]) -> str:
    return method.__qualname__


@pytest.mark.parametrize("method", list(WALKS), ids=_name)
def test_a_bank_reads_its_own_rows_and_never_another_banks(
    world: World, method: Callable[..., Any]
) -> None:
    walk = WALKS[method]
    a, b = world.a.tenant.id, world.b.tenant.id
    mine = TenantRepository(world.session).scope_of(bank(world.a.tenant.slug))
    assert mine.tenants == frozenset({a})

    seen = rows_of(walk(world, mine))
    assert seen, f"{_name(method)} found none of A's rows: the walk proves nothing"
    assert {world.owner(row) for row in seen} == {a}

    assert rows_of(walk(world, mine.narrow(b))) == [], "a bank's scope narrowed to B read B"

    platform = Scope.platform("test-operator")
    assert {world.owner(row) for row in rows_of(walk(world, platform.narrow(b)))} == {b}

    nobody = Scope.tenant("vendor", None)
    assert rows_of(walk(world, nobody)) == []


def test_the_scope_of_each_kind_of_caller(world: World) -> None:
    tenants = TenantRepository(world.session)
    a = world.a.tenant
    assert tenants.scope_of(bank(a.slug)) == Scope.tenant(f"{a.slug}-admin", a.id)
    assert tenants.scope_of(bank("no-such-bank")).tenants == frozenset()
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
# Domains whose queries all live in repositories.
DOMAINS = [
    "tenants",
    "operations",
    "audit",
    "approvals",
    "operators",
    "plugins",
    "catalog",
    "subscriptions",
    "usage",
]
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
