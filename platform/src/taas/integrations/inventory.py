"""What exists in each outside system, read in bulk: a few list calls per system instead of
a dozen reads per tenant. The reconciler compares this with every tenant's desired state
and repairs only the tenants that differ.

Listed once per pass: Kubernetes namespaces and the tenant objects in them (by name, across
namespaces), PostgreSQL roles, databases and schemas, MinIO buckets, users and policies
(bucket and user policies are read one per bucket, in parallel: S3 has no bulk read for
bucket policies, and listing canned policies needs a MinIO right the control plane lacks),
Keycloak realms and, per realm a tenant lives in, its organizations and clients (users
are counted there, and listed only when fewer than expected).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from keycloak.exceptions import KeycloakError
from minio.error import MinioAdminException, S3Error

from taas.integrations.identity import IdentityTenants
from taas.integrations.identity.errors import missing
from taas.integrations.kubernetes import KubernetesTenants
from taas.integrations.postgres import PostgresTenants
from taas.integrations.spec import CREDENTIALS_SECRET, TenantSpec
from taas.integrations.storage import StorageTenants
from taas.integrations.systems import Systems
from taas.kit.errors import TaasError, TemporaryError

T = TypeVar("T")
PAGE = 500  # Keycloak list page size
READERS = 8  # parallel per-bucket / per-database reads


def _listing(call: Callable[[], T], what: str) -> T:
    """A failed listing aborts the pass (the next one retries): never guess from half a list."""
    try:
        return call()
    except TaasError:
        raise
    except Exception as exc:
        raise TemporaryError(f"listing {what} failed: {exc}", delay=5) from exc


# ------------------------------------------------------------------ Kubernetes


@dataclass
class KubernetesInventory:
    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Tenant namespace name → the listed Namespace (labels, status)."""
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    """(namespace, kind, name) → the listed object."""
    credential_keys: dict[str, set[str]] = field(default_factory=dict)
    """Namespace → keys present in its tenant credentials Secret."""


def list_kubernetes(
    k8s: KubernetesTenants, kinds: Iterable[tuple[str, str, str]]
) -> KubernetesInventory:
    """Namespaces labelled ``taas.io/tenant``; every (apiVersion, kind, name) of ``kinds``
    and the credentials Secrets, one list call each across all namespaces."""
    found = KubernetesInventory()
    for item in _list_items(k8s, "v1", "Namespace", label_selector="taas.io/tenant"):
        found.namespaces[item["metadata"]["name"]] = item
    for api_version, kind, name in kinds:
        for item in _list_items(k8s, api_version, kind, field_selector=f"metadata.name={name}"):
            key = (item["metadata"]["namespace"], kind, name)
            found.objects[key] = item
    selector = f"metadata.name={CREDENTIALS_SECRET}"
    for item in _list_items(k8s, "v1", "Secret", field_selector=selector):
        found.credential_keys[item["metadata"]["namespace"]] = set(item.get("data") or {})
    return found


def _list_items(
    k8s: KubernetesTenants, api_version: str, kind: str, **selectors: str
) -> list[dict[str, Any]]:
    resource = _listing(
        lambda: k8s.client.resources.get(api_version=api_version, kind=kind), f"{kind} kind"
    )
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = _listing(functools.partial(_page, resource, token, selectors), f"Kubernetes {kind}")
        items += page.get("items") or []
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return items


def _page(resource: Any, token: str | None, selectors: dict[str, str]) -> dict[str, Any]:
    listed: dict[str, Any] = resource.get(limit=PAGE * 4, _continue=token, **selectors).to_dict()
    return listed


# ------------------------------------------------------------------ PostgreSQL


@dataclass
class PostgresInventory:
    roles: dict[str, bool] = field(default_factory=dict)
    """Role name → whether it may log in."""
    databases: set[str] = field(default_factory=set)
    schemas: dict[str, set[str]] = field(default_factory=dict)
    """Database → its schema names (for the databases asked about)."""


def list_postgres(postgres: PostgresTenants, databases: Iterable[str]) -> PostgresInventory:
    """All roles and databases, and the schemas of each of ``databases`` that exists."""
    found = PostgresInventory()
    with postgres._connect("postgres") as conn:
        for name, login in conn.execute("SELECT rolname, rolcanlogin FROM pg_roles"):
            found.roles[str(name)] = bool(login)
        found.databases = {str(row[0]) for row in conn.execute("SELECT datname FROM pg_database")}

    def schemas_of(database: str) -> tuple[str, set[str]]:
        with postgres._connect(database) as conn:
            return database, {str(r[0]) for r in conn.execute("SELECT nspname FROM pg_namespace")}

    wanted = sorted(set(databases) & found.databases)
    with ThreadPoolExecutor(READERS) as pool:
        found.schemas = dict(pool.map(schemas_of, wanted))
    return found


# ------------------------------------------------------------------ MinIO


@dataclass
class StorageInventory:
    buckets: set[str] = field(default_factory=set)
    bucket_policies: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    """User → {"policyName": ..., "status": "enabled" | "disabled"}."""
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Canned policy name → its document."""


def list_storage(storage: StorageTenants, prefix: str = "tenant-") -> StorageInventory:
    """Buckets, users and canned policies whose names start with ``prefix``, and the
    policy of each such bucket."""
    found = StorageInventory()
    buckets = _listing(storage.s3.list_buckets, "MinIO buckets")
    found.buckets = {b.name for b in buckets if b.name.startswith(prefix)}
    users = json.loads(_listing(storage.admin.user_list, "MinIO users") or "{}")
    found.users = {name: info for name, info in users.items() if name.startswith(prefix)}

    def policy_of(bucket: str) -> tuple[str, dict[str, Any] | None]:
        try:
            text = storage.s3.get_bucket_policy(bucket)
        except S3Error as exc:
            if exc.code in ("NoSuchBucketPolicy", "NoSuchBucket"):
                return bucket, None
            raise
        loaded: dict[str, Any] = json.loads(text)
        return bucket, loaded

    def user_policy_of(bucket: str) -> tuple[str, dict[str, Any]]:
        name = f"{bucket}-rw"
        try:
            loaded = json.loads(storage.admin.policy_info(name))
        except MinioAdminException:
            return name, {}
        return name, loaded.get("Policy", loaded)

    names = sorted(found.buckets)
    with ThreadPoolExecutor(READERS) as pool:
        found.bucket_policies = dict(
            _listing(lambda: list(pool.map(policy_of, names)), "bucket policies")
        )
        # one read per policy: listing them all needs admin:ListUserPolicies, which the
        # control plane's MinIO identity is not granted
        found.policies = dict(
            _listing(lambda: list(pool.map(user_policy_of, names)), "user policies")
        )
    return found


# ------------------------------------------------------------------ Keycloak


@dataclass
class RealmInventory:
    enabled: bool
    clients: dict[str, bool] = field(default_factory=dict)
    """clientId → enabled."""
    users: set[str] | None = None
    """Usernames, when listed (None: the realm has at least as many users as admins
    expected, so they were not listed)."""
    organizations: dict[str, bool] = field(default_factory=dict)
    """Organization alias → enabled (the shared realm only)."""


@dataclass
class RealmWanted:
    """What the tenants of one realm should have there."""

    admins: set[str] = field(default_factory=set)
    clients: set[str] = field(default_factory=set)


def realms_wanted(identity: IdentityTenants, specs: list[TenantSpec]) -> dict[str, RealmWanted]:
    """Realm → the admins and systems clients the tenants of ``specs`` should have there."""
    realms: dict[str, RealmWanted] = {}
    for spec in specs:
        realm = realms.setdefault(identity.realm_of(spec), RealmWanted())
        realm.admins.add(spec.admin_username)
        realm.clients.add(spec.systems_client)
    return realms


def list_identity(
    identity: IdentityTenants, wanted: dict[str, RealmWanted]
) -> dict[str, RealmInventory]:
    """Every realm of ``wanted`` that exists, with its clients and organizations.

    The shared realm's clients come from one paged listing (thousands of them, one query
    each, would cost more); a tenant realm's are looked up by client id, as its other
    clients (Keycloak's own) are not the platform's concern. A tenant realm is read by its
    own local account (whose requests cost the same however many realms there are, and
    whose token is kept between passes; see ``identity.connection``); when it cannot log
    in, the realm creator says whether the realm is gone or disabled, and reads it.
    Users are counted, and listed only when a realm has fewer than admins expected:
    Keycloak lists users at several ms each (measured, docs/benchmarks.md), which would
    dominate the pass; so a swapped user (one deleted, another added) is left to the
    per-tenant repair."""
    shared = _listing(lambda: identity.admin(identity.banks_realm), "Keycloak login")
    present = _realms(shared, "Keycloak realms")

    def login(realm: str) -> tuple[Any, bool] | None:
        """An admin client reading ``realm`` and whether it is enabled; None if gone."""
        if realm in identity.platform_realms:
            return (shared, present[realm]) if realm in present else None
        local = _listing(lambda: identity.local_admin(realm), f"Keycloak login to {realm}")
        if local is not None:
            try:
                # a kept token outlives the realm's being disabled, so the flag is read
                return local, bool(local.get_realm(realm).get("enabled", True))
            except KeycloakError:  # the kept token refused: the realm deleted, say
                identity.forget_local_token(realm)
        owner = _listing(lambda: identity.owner(realm), "Keycloak login")
        found = _listing(lambda: missing(lambda: owner.get_realm(realm)), f"Keycloak realm {realm}")
        return None if found is None else (owner, bool(found.get("enabled", True)))

    def one(realm: str) -> tuple[str, RealmInventory | None]:
        admin_enabled = login(realm)
        if admin_enabled is None:
            return realm, None
        master, enabled = admin_enabled
        base = f"admin/realms/{realm}"
        found = RealmInventory(enabled=enabled)
        if realm == identity.banks_realm:
            clients = _pages(master, f"{base}/clients", {})
        else:
            clients = [
                c
                for client_id in sorted(wanted[realm].clients)
                for c in _get(master, f"{base}/clients", {"clientId": client_id})
            ]
        found.clients = {c["clientId"]: bool(c.get("enabled", True)) for c in clients}
        count = _get(master, f"{base}/users/count", {})
        if int(count) < len(wanted[realm].admins):
            found.users = {
                u["username"]
                for u in _pages(master, f"{base}/users", {"briefRepresentation": "true"})
            }
        if realm == identity.banks_realm:
            for o in _pages(master, f"{base}/organizations", {"briefRepresentation": "true"}):
                found.organizations[o.get("alias") or o["name"]] = bool(o.get("enabled", True))
        return realm, found

    with ThreadPoolExecutor(READERS // 2) as pool:
        listed = _listing(lambda: list(pool.map(one, sorted(wanted))), "Keycloak realm contents")
        return {realm: found for realm, found in listed if found is not None}


def _realms(admin: Any, what: str) -> dict[str, bool]:
    """Realm → enabled, of the realms ``admin`` manages."""
    listed: list[dict[str, Any]] = _listing(
        functools.partial(_get, admin, "admin/realms", {"briefRepresentation": "true"}), what
    )
    return {r["realm"]: bool(r.get("enabled", True)) for r in listed}


def _get(admin: Any, path: str, params: dict[str, str]) -> Any:
    response = admin.connection.raw_get(path, **params)
    response.raise_for_status()
    return response.json()


def _pages(admin: Any, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page: list[dict[str, Any]] = _get(
            admin, path, {"first": str(len(items)), "max": str(PAGE), **params}
        )
        items += page
        if len(page) < PAGE:
            return items


# ------------------------------------------------------------------ all four


@dataclass
class Inventory:
    """What exists, in every system, at the time of one reconcile pass."""

    kubernetes: KubernetesInventory
    postgres: PostgresInventory
    storage: StorageInventory
    identity: dict[str, RealmInventory]
    seconds: dict[str, float] = field(default_factory=dict)
    """How long listing each system took."""


def take_inventory(systems: Systems, specs: list[TenantSpec]) -> Inventory:
    """List each system once for the tenants of ``specs``."""
    if not specs:
        return Inventory(KubernetesInventory(), PostgresInventory(), StorageInventory(), {})
    kinds = [
        (api_version, kind, manifest["metadata"]["name"])
        for api_version, kind, manifest, _ in systems.kubernetes.desired_objects(specs[0])
    ]
    seconds: dict[str, float] = {}

    def timed(name: str, call: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return call()
        finally:
            seconds[name] = round(time.perf_counter() - started, 3)

    databases = {systems.postgres.database_of(spec) for spec in specs}
    realms = realms_wanted(systems.identity, specs)
    inventory = Inventory(
        kubernetes=timed("kubernetes", lambda: list_kubernetes(systems.kubernetes, kinds)),
        postgres=timed("postgres", lambda: list_postgres(systems.postgres, databases)),
        storage=timed("minio", lambda: list_storage(systems.storage)),
        identity=timed("keycloak", lambda: list_identity(systems.identity, realms)),
    )
    inventory.seconds = seconds
    return inventory
