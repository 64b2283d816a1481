"""Orphans and duplicates: what every backend holds for tenants, compared with what the
control-plane database says they should have.

The scan looks only at names that start with a prefix (a test run's tenants, and its
modules: :func:`module_prefix`), so other users of the shared stack are neither scanned
nor disturbed. For each tenant the database
says which resources must exist (an active or suspended tenant has them all; an offboarded
one keeps its bucket and database only while its retention runs; a failed or purged one
has none), and for each subscription which module objects must. Anything found beyond
that is an orphan; anything the database wants and a backend lacks is missing; a name
held twice (Keycloak organizations and clients, Kubernetes objects of one module path,
open operations of one lane) is a duplicate. A plugin version's validation mints sandbox
storage identities (``tenant-contract-check-svc.<module>.<nonce>`` and its policy) that
must be gone once no version of the module is being checked: one left is an orphan; a
version left ``submitted`` or ``validating`` with no validation running is stuck.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import select

from taas.integrations.spec import ModuleSpec
from taas.integrations.storage import StorageTenants
from taas.integrations.storage.modules import ModuleAccess
from taas.integrations.systems import systems
from taas.kit.db import new_session
from taas.kit.settings import app_settings
from taas.operations.models import Operation
from taas.operations.states import OPEN
from taas.plugins.contract import SANDBOX
from taas.plugins.models import PluginVersion
from taas.plugins.plans import plugin_lane
from taas.plugins.states import PluginStatus
from taas.subscriptions.models import Subscription
from taas.tenants.models import Tenant

ALIVE = ("active", "suspended")
CHECKING = (PluginStatus.SUBMITTED, PluginStatus.VALIDATING)
TENANT_LABEL = "taas.io/tenant"


@dataclass(frozen=True)
class Finding:
    system: str
    problem: str  # orphan, missing, duplicate or stuck
    name: str

    def __str__(self) -> str:
        return f"{self.system}: {self.problem} {self.name}"


@dataclass
class Resources:
    """Names per system (``postgres.role``, ``minio.bucket``, ...)."""

    names: dict[str, set[str]] = field(default_factory=dict)

    def add(self, system: str, *names: str) -> None:
        self.names.setdefault(system, set()).update(names)


def module_prefix(prefix: str) -> str:
    """What the names of a run's modules start with, its tenants' slugs with ``prefix``."""
    return f"m{prefix}"


def scan(prefix: str) -> list[Finding]:
    """Every orphan, missing resource, duplicate and stuck validation of the tenants whose
    slug starts with ``prefix`` and of the modules whose name starts with
    ``module_prefix(prefix)``."""
    wanted, duplicates, plugins = _desired(prefix)
    stuck, settled = _validations(module_prefix(prefix))
    found = _actual(prefix, plugins, duplicates, settled)
    findings = duplicates + stuck
    for system in sorted(set(wanted.names) | set(found.names)):
        want, have = wanted.names.get(system, set()), found.names.get(system, set())
        findings += [Finding(system, "orphan", name) for name in sorted(have - want)]
        findings += [Finding(system, "missing", name) for name in sorted(want - have)]
    return findings


# ---------------------------------------------------------------------- the database's view


def _desired(prefix: str) -> tuple[Resources, list[Finding], set[str]]:
    wanted, duplicates = Resources(), []
    with new_session() as session:
        tenants = list(session.scalars(select(Tenant).where(Tenant.slug.startswith(prefix))))
        for tenant in tenants:
            _tenant_resources(wanted, tenant)
        ids = [tenant.id for tenant in tenants]
        by_id = {tenant.id: tenant for tenant in tenants}
        rows = session.execute(
            select(Subscription, PluginVersion)
            .join(PluginVersion, Subscription.plugin_version_id == PluginVersion.id)
            .where(Subscription.tenant_id.in_(ids))
        ).all()
        plugins = {version.name for _, version in rows}
        live: Counter[tuple[Any, str]] = Counter()
        for subscription, version in rows:
            if subscription.status in ("removed", "failed"):
                continue
            live[(subscription.tenant_id, version.name)] += 1
            _module_resources(wanted, by_id[subscription.tenant_id], version)
        duplicates += [
            Finding("control-plane", "duplicate", f"subscription {name} of {by_id[tid].slug}")
            for (tid, name), count in live.items()
            if count > 1
        ]
        open_lanes = Counter(
            session.scalars(
                select(Operation.lane).where(
                    Operation.tenant_id.in_(ids), Operation.status.in_(OPEN)
                )
            )
        )
        duplicates += [
            Finding("control-plane", "duplicate", f"open operations in {lane}")
            for lane, count in open_lanes.items()
            if count > 1
        ]
    return wanted, duplicates, plugins


def _validations(prefix: str) -> tuple[list[Finding], set[str]]:
    """The findings of the modules whose name starts with ``prefix``, and those of them
    with no version being checked (their sandbox identities must be gone)."""
    findings = []
    with new_session() as session:
        query = select(PluginVersion).where(PluginVersion.name.startswith(prefix))
        versions = {plugin_lane(row.id): row for row in session.scalars(query)}
        open_lanes = Counter(
            session.scalars(
                select(Operation.lane).where(
                    Operation.lane.in_(versions), Operation.status.in_(OPEN)
                )
            )
        )
        for lane_name, row in versions.items():
            label = f"{row.name} {row.version}"
            if open_lanes[lane_name] > 1:
                findings.append(Finding("control-plane", "duplicate", f"validations of {label}"))
            if row.status in CHECKING and not open_lanes[lane_name]:
                findings.append(
                    Finding("control-plane", "stuck", f"{label} {row.status}, none checking it")
                )
        checking = {row.name for row in versions.values() if row.status in CHECKING}
        return findings, {row.name for row in versions.values()} - checking


def _tenant_resources(wanted: Resources, tenant: Tenant) -> None:
    slug, db_name = tenant.slug, "t_" + tenant.slug.replace("-", "_")
    alive = tenant.status in ALIVE
    retained = tenant.status == "offboarded" and tenant.purge_after is not None
    if alive:
        wanted.add("kubernetes.namespace", f"tenant-{slug}")
        wanted.add("minio.user", f"tenant-{slug}-svc")
        wanted.add("minio.policy", f"tenant-{slug}-rw")
        if tenant.tier == "pool":
            wanted.add("keycloak.organization", slug)
            wanted.add("keycloak.user", f"{slug}-admin")
            wanted.add("keycloak.client", f"{slug}-systems")
        else:
            wanted.add("keycloak.realm", f"bank-{slug}")
    if alive or retained:
        wanted.add("minio.bucket", f"tenant-{slug}")
        wanted.add("postgres.role", db_name)
        wanted.add("postgres.schema" if tenant.tier == "pool" else "postgres.database", db_name)


def _module_resources(wanted: Resources, tenant: Tenant, version: PluginVersion) -> None:
    module = ModuleSpec(name=version.name, version=version.version, image=None, port=8080,
                        upstream_url=None)  # fmt: skip
    if tenant.tier == "pool":
        wanted.add("kubernetes.module_path", f"{module.name}-{tenant.slug}"[:63])
        wanted.add("kubernetes.shared_module", module.shared_workload)
    else:
        wanted.add("kubernetes.silo_module", f"tenant-{tenant.slug}/{module.workload}")


# ---------------------------------------------------------------------- the backends' view


def _actual(
    prefix: str, plugins: set[str], duplicates: list[Finding], settled: set[str]
) -> Resources:
    found = Resources()
    _kubernetes(found, prefix, plugins, duplicates)
    _postgres(found, prefix)
    _minio(found, prefix, settled)
    _keycloak(found, prefix, duplicates)
    return found


def _kubernetes(found: Resources, prefix: str, plugins: set[str], dups: list[Finding]) -> None:
    kube = systems().kubernetes
    namespaces = kube.client.resources.get(api_version="v1", kind="Namespace")
    listing = namespaces.get(label_selector=TENANT_LABEL).to_dict()["items"]
    names = [ns["metadata"]["name"] for ns in listing]
    found.add("kubernetes.namespace", *[n for n in names if n.startswith(f"tenant-{prefix}")])
    shared = kube.modules_namespace
    paths = kube.list_names("networking.k8s.io/v1", "NetworkPolicy", shared, TENANT_LABEL)
    found.add("kubernetes.module_path", *[p for p in paths if _of_prefix(p, plugins, prefix)])
    for plugin in sorted(plugins):
        selector = f"taas.io/module={plugin}"
        deployments = kube.list_names("apps/v1", "Deployment", shared, selector)
        services = kube.list_names("v1", "Service", shared, selector)
        found.add("kubernetes.shared_module", *deployments)
        dups += [
            Finding("kubernetes", "orphan", f"service {name} without its deployment")
            for name in sorted(set(services) - set(deployments))
        ]
        for namespace in found.names.get("kubernetes.namespace", set()):
            silo = kube.list_names("apps/v1", "Deployment", namespace, selector)
            found.add("kubernetes.silo_module", *[f"{namespace}/{name}" for name in silo])


def _of_prefix(path: str, plugins: set[str], prefix: str) -> bool:
    """A module path policy (``<module>-<slug>``) of one of this run's tenants."""
    return any(path.startswith(f"{plugin}-{prefix}") for plugin in plugins)


def _postgres(found: Resources, prefix: str) -> None:
    settings = app_settings()
    pattern = "t\\_" + prefix.replace("-", "\\_") + "%"
    base = settings.database_url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        roles = conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (pattern,))
        found.add("postgres.role", *[row[0] for row in roles])
        databases = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,)
        )
        found.add("postgres.database", *[row[0] for row in databases])
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (settings.tenants_database,)
        ).fetchone()
    if exists is None:  # made with the first pool tenant's schema: none yet, so no schemas
        return
    with psycopg.connect(f"{base}/{settings.tenants_database}", autocommit=True) as conn:
        schemas = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (pattern,))
        found.add("postgres.schema", *[row[0] for row in schemas])


def _minio(found: Resources, prefix: str, settled: set[str]) -> None:
    # the auditor sees everything: root, not the control plane's least-privilege identity
    settings = app_settings()
    user, password = settings.minio_root_user, settings.minio_root_password
    storage = StorageTenants(settings.minio_endpoint, user, password, secure=settings.minio_secure)
    start = f"tenant-{prefix}"
    buckets = [bucket.name for bucket in storage.s3.list_buckets()]
    found.add("minio.bucket", *[name for name in buckets if name.startswith(start)])
    users = json.loads(storage.admin.user_list() or "{}")
    # a module's identities (<user>.<module>.<nonce>) count as the tenant's user
    found.add("minio.user", *[name for name in users if name.startswith(start)])
    policies = json.loads(storage.admin.policy_list() or "{}")
    found.add("minio.policy", *[name for name in policies if name.startswith(start)])
    # a validation's sandbox identities, of modules no version of which is being checked
    for module in settled:
        sandbox = ModuleAccess.module_users_prefix(SANDBOX, module)
        found.add("minio.sandbox_user", *[name for name in users if name.startswith(sandbox)])
        found.add("minio.sandbox_policy", *[name for name in policies if name.startswith(sandbox)])


def _keycloak(found: Resources, prefix: str, duplicates: list[Finding]) -> None:
    identity = systems().identity
    # the realm creator lists the bank realms it manages (refused while it manages none)
    listing = identity.admin("master").connection.raw_get(
        "admin/realms", briefRepresentation="true"
    )
    realms = [realm["realm"] for realm in listing.json()] if listing.status_code != 403 else []
    found.add("keycloak.realm", *[name for name in realms if name.startswith(f"bank-{prefix}")])
    banks = identity.admin(identity.banks_realm)
    orgs = [
        org["alias"]
        for org in banks.get_organizations({"search": prefix, "max": 10000})
        if org.get("alias", "").startswith(prefix)
    ]
    users = [
        user["username"]
        for user in banks.get_users({"search": prefix, "max": 10000})
        if user["username"].startswith(prefix)
    ]
    clients = [
        client["clientId"]
        for client in banks.get_clients()
        if client["clientId"].startswith(prefix)
    ]
    for system, names in (
        ("keycloak.organization", orgs),
        ("keycloak.user", users),
        ("keycloak.client", clients),
    ):
        found.add(system, *names)
        duplicates += [
            Finding(system, "duplicate", name) for name, n in Counter(names).items() if n > 1
        ]
