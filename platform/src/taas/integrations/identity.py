"""Tenant identity on Keycloak.

``pool`` tenants are organizations in the shared bank realm; ``silo`` and ``dedicated``
tenants get a realm of their own (see docs/adr/0002). Either way the tenant gets the
``bank-admin`` role, a first admin user (temporary password, must change it) and a
confidential client for the bank's systems. Tokens say which tenant they belong to:
the issuer (own realm) or the ``organization`` claim (shared realm).
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakError

from taas.integrations.spec import TenantSpec
from taas.kit.errors import Conflict, PermanentError, TaasError, TemporaryError
from taas.kit.telemetry import traced

T = TypeVar("T")
BANK_ADMIN_ROLE = "bank-admin"
CONSOLE_CLIENT = "taas-console"
PLATFORM_ROLES = ("platform-operator", "platform-auditor")
TENANT_CLAIM = "taas_tenant"
VENDOR_CLAIM = "taas_vendor"
VENDOR_CLIENT_PREFIX = "vendor-"
# What the control plane does in a realm: roles, clients and client scopes, users,
# organizations, enabling or deleting the realm. Nothing in master beyond create-realm.
REALM_MANAGEMENT_ROLES = (
    "view-realm",
    "manage-realm",
    "view-users",
    "query-users",
    "query-groups",
    "manage-users",
    "view-clients",
    "query-clients",
    "manage-clients",
)


def _translate(call: Callable[[], T], what: str) -> T:
    try:
        return call()
    except KeycloakError as exc:
        raise _failure(exc, what) from exc
    except requests.RequestException as exc:
        raise TemporaryError(f"Keycloak unreachable during {what}: {exc}", delay=2) from exc


def _failure(exc: KeycloakError, what: str) -> TaasError:
    """The typed error for Keycloak's refusal ``exc`` of ``what``."""
    code = exc.response_code or 0
    if code == 0:
        return TemporaryError(f"Keycloak unreachable during {what}: {exc}", delay=2)
    if code >= 500 or code == 429:
        return TemporaryError(f"Keycloak {what}: HTTP {code}", delay=2)
    return PermanentError(
        f"Keycloak refused {what}: HTTP {code} {exc.error_message!s:.300}",
        hint="check the realm in the Keycloak admin console",
    )


def _missing(call: Callable[[], T]) -> T | None:
    try:
        return call()
    except KeycloakError as exc:
        if exc.response_code == 404:
            return None
        raise


@dataclass(frozen=True)
class IdentityCredentials:
    """What the bank needs to log in, handed over through the tenant's credentials secret."""

    admin_username: str
    admin_temporary_password: str | None
    client_id: str
    client_secret: str
    issuer: str


@dataclass(frozen=True)
class PlatformMember:
    """An operator or auditor: a user of the platform realm with a platform role."""

    id: str
    username: str
    email: str | None
    roles: tuple[str, ...]
    enabled: bool
    pending_setup: bool  # still has to replace its temporary password
    created_at_ms: int | None


def _member(user: dict[str, Any], roles: list[str]) -> PlatformMember:
    return PlatformMember(
        id=str(user["id"]),
        username=str(user["username"]),
        email=user.get("email"),
        roles=tuple(sorted(roles)),
        enabled=bool(user.get("enabled", True)),
        pending_setup="UPDATE_PASSWORD" in (user.get("requiredActions") or []),
        created_at_ms=user.get("createdTimestamp"),
    )


class IdentityTenants:
    """Makes each tenant's identity space in Keycloak match the spec."""

    def __init__(
        self,
        url: str,
        admin_user: str,
        admin_password: str,
        *,
        banks_realm: str,
        platform_realm: str,
        vendors_realm: str = "taas-vendors",
        client_id: str = "",
        client_secret: str = "",
    ) -> None:
        self.url = url.rstrip("/")
        self.admin_user = admin_user
        self.admin_password = admin_password
        self.client_id = client_id
        self.client_secret = client_secret
        self.banks_realm = banks_realm
        self.platform_realm = platform_realm
        self.vendors_realm = vendors_realm

    def admin(self, realm: str) -> KeycloakAdmin:
        """An admin client working on ``realm``, authenticated in master: as the control
        plane's service-account client when one is configured, else as the admin user."""
        if self.client_id:
            return KeycloakAdmin(
                connection=KeycloakOpenIDConnection(
                    server_url=self.url,
                    realm_name=realm,
                    user_realm_name="master",
                    client_id=self.client_id,
                    client_secret_key=self.client_secret,
                    timeout=15,
                )
            )
        connection = KeycloakOpenIDConnection(
            server_url=self.url,
            username=self.admin_user,
            password=self.admin_password,
            realm_name=realm,
            user_realm_name="master",
            client_id="admin-cli",
            timeout=15,
        )
        return KeycloakAdmin(connection=connection)

    def realm_of(self, spec: TenantSpec) -> str:
        return spec.realm if spec.isolated else self.banks_realm

    def issuer(self, realm: str) -> str:
        return f"{self.url}/realms/{realm}"

    # ------------------------------------------------------------------ realms

    def _ensure_realm(self, realm: str, display: str, *, organizations: bool) -> list[str]:
        master = _translate(lambda: self.admin("master"), "log in")
        existing = _translate(lambda: _missing(lambda: master.get_realm(realm)), "read realm")
        changes = []
        if existing is None:
            _translate(
                lambda: master.create_realm(
                    {
                        "realm": realm,
                        "displayName": display,
                        "enabled": True,
                        "organizationsEnabled": organizations,
                        "bruteForceProtected": True,
                        "accessTokenLifespan": 300,
                    },
                    skip_exists=True,
                ),
                "create realm",
            )
            changes.append(f"created realm {realm}")
        elif organizations and not existing.get("organizationsEnabled"):
            _translate(
                lambda: master.update_realm(realm, {"organizationsEnabled": True}),
                "enable organizations",
            )
            changes.append(f"enabled organizations in realm {realm}")
        return changes

    def _ensure_role(self, admin: KeycloakAdmin, role: str) -> list[str]:
        if _translate(lambda: _missing(lambda: admin.get_realm_role(role)), "read role") is None:
            _translate(
                lambda: admin.create_realm_role({"name": role}, skip_exists=True), "create role"
            )
            return [f"created role {role}"]
        return []

    def _ensure_console_client(self, admin: KeycloakAdmin) -> list[str]:
        """A public client people log in with (the CLI uses direct grants)."""
        if _translate(lambda: admin.get_client_id(CONSOLE_CLIENT), "read client"):
            return []
        _translate(
            lambda: admin.create_client(
                {
                    "clientId": CONSOLE_CLIENT,
                    "publicClient": True,
                    "directAccessGrantsEnabled": True,
                    "standardFlowEnabled": True,
                    "redirectUris": ["http://127.0.0.1/*", "http://localhost/*"],
                },
                skip_exists=True,
            ),
            "create console client",
        )
        self._add_scope(admin, CONSOLE_CLIENT, "organization")
        return [f"created client {CONSOLE_CLIENT}"]

    def _add_scope(self, admin: KeycloakAdmin, client_id: str, scope_name: str) -> None:
        client_uuid = _translate(lambda: admin.get_client_id(client_id), "read client")
        scopes = _translate(admin.get_client_scopes, "list client scopes")
        scope = next((s for s in scopes if s["name"] == scope_name), None)
        if scope is None or client_uuid is None:
            return
        _translate(
            lambda: admin.add_client_default_client_scope(client_uuid, scope["id"], {}),
            "add client scope",
        )

    @traced("keycloak.ensure_platform")
    def ensure_platform(self) -> list[str]:
        """The platform realm (operators, auditors) and the shared bank realm."""
        changes = self._ensure_realm(self.platform_realm, "TaaS platform", organizations=False)
        platform = self.admin(self.platform_realm)
        for role in PLATFORM_ROLES:
            changes += self._ensure_role(platform, role)
        changes += self._ensure_console_client(platform)
        changes += self._ensure_realm(self.banks_realm, "TaaS banks", organizations=True)
        banks = self.admin(self.banks_realm)
        changes += self._ensure_role(banks, BANK_ADMIN_ROLE)
        changes += self._ensure_console_client(banks)
        changes += self._ensure_realm(self.vendors_realm, "TaaS vendors", organizations=False)
        return changes

    def ensure_control_plane_client(self, client_id: str, secret: str) -> list[str]:
        """The control plane's own service-account client in master (made with the admin
        user, by ``taas platform init``): ``create-realm``, and the management roles of the
        TaaS realms and of every existing tenant realm. Realms it creates itself it manages
        already (Keycloak grants a realm's creator its management roles)."""
        master = _translate(lambda: self.admin("master"), "log in")
        changes: list[str] = []
        client_uuid = _translate(lambda: master.get_client_id(client_id), "read client")
        if client_uuid is None:
            _translate(
                lambda: master.create_client(
                    {
                        "clientId": client_id,
                        "name": "TaaS control plane",
                        "publicClient": False,
                        "serviceAccountsEnabled": True,
                        "standardFlowEnabled": False,
                        "directAccessGrantsEnabled": False,
                        "secret": secret,
                    },
                    skip_exists=True,
                ),
                "create control-plane client",
            )
            changes.append(f"created client {client_id} in master")
            client_uuid = _translate(lambda: master.get_client_id(client_id), "read client")
        if client_uuid is None:
            raise TemporaryError(f"client {client_id} not visible yet", delay=1)
        current = _translate(lambda: master.get_client_secrets(client_uuid), "read secret")
        if current.get("value") != secret:
            _translate(lambda: master.update_client(client_uuid, {"secret": secret}), "set secret")
            changes.append(f"set the secret of {client_id}")
        account = _translate(lambda: master.get_client_service_account_user(client_uuid), "sa")
        held = {
            role["name"]
            for role in _translate(
                lambda: master.get_realm_roles_of_user(account["id"]), "read roles"
            )
        }
        if "create-realm" not in held:
            wanted = _translate(lambda: master.get_realm_role("create-realm"), "read role")
            _translate(lambda: master.assign_realm_roles(account["id"], [wanted]), "grant")
            changes.append(f"granted create-realm to {client_id}")
        realms = [
            realm["realm"]
            for realm in _translate(master.get_realms, "list realms")
            if realm["realm"] in (self.platform_realm, self.banks_realm, self.vendors_realm)
            or realm["realm"].startswith("bank-")
        ]
        for realm in realms:
            changes += self.grant_realm_management(master, account["id"], client_id, realm)
        return changes

    def grant_realm_management(
        self, master: KeycloakAdmin, user_id: str, who: str, realm: str
    ) -> list[str]:
        """Give ``user_id`` (in master) the roles it needs to manage ``realm``."""
        management = _translate(lambda: master.get_client_id(f"{realm}-realm"), "read client")
        if management is None:
            return []
        held = {
            role["name"]
            for role in _translate(
                lambda: master.get_client_roles_of_user(user_id, management), "read roles"
            )
        }
        missing = [name for name in REALM_MANAGEMENT_ROLES if name not in held]
        if not missing:
            return []
        roles = [
            role
            for role in _translate(lambda: master.get_client_roles(management), "read roles")
            if role["name"] in missing
        ]
        _translate(lambda: master.assign_client_role(user_id, management, roles), "grant")
        return [f"granted {who} the management of realm {realm}"]

    def ensure_platform_user(self, username: str, password: str, roles: list[str]) -> str:
        """A platform-realm user with the given roles (for bootstrap and tests)."""
        admin = self.admin(self.platform_realm)
        user_id = self._ensure_user(admin, username, password, temporary=False)
        wanted = [admin.get_realm_role(role) for role in roles]
        _translate(lambda: admin.assign_realm_roles(user_id, wanted), "assign roles")
        return user_id

    def _ensure_user(
        self, admin: KeycloakAdmin, username: str, password: str | None, *, temporary: bool
    ) -> str:
        user_id = _translate(lambda: admin.get_user_id(username), "find user")
        if user_id is None:
            payload: dict[str, Any] = {
                "username": username,
                "enabled": True,
                "emailVerified": True,
                "firstName": username,
                "lastName": "admin",
                "email": f"{username}@banks.taas.invalid",
            }
            if password:
                payload["credentials"] = [
                    {"type": "password", "value": password, "temporary": temporary}
                ]
            user_id = _translate(lambda: admin.create_user(payload, exist_ok=True), "create user")
        return str(user_id)

    # ------------------------------------------------------------------ platform members

    @traced("keycloak.platform_members")
    def platform_members(self) -> list[PlatformMember]:
        """Users of the platform realm holding a platform role (operators, auditors)."""
        admin = self.admin(self.platform_realm)
        roles: dict[str, list[str]] = {}
        for role in PLATFORM_ROLES:
            members = _translate(
                functools.partial(admin.get_realm_role_members, role),
                "list role members",
            )
            for member in members:
                roles.setdefault(str(member["id"]), []).append(role)
        users = [
            _translate(functools.partial(admin.get_user, user_id), "read user") for user_id in roles
        ]
        return sorted(
            (_member(user, roles[str(user["id"])]) for user in users), key=lambda m: m.username
        )

    @traced("keycloak.add_platform_member")
    def add_platform_member(self, username: str, email: str, role: str) -> str:
        """A platform-realm user with ``role`` and a temporary password it must replace at
        the first login; returns that password."""
        admin = self.admin(self.platform_realm)
        password = new_password()
        payload = {
            "username": username,
            "email": email,
            "emailVerified": True,
            "enabled": True,
            "firstName": username,
            "lastName": "operator",
            "requiredActions": ["UPDATE_PASSWORD"],
            "credentials": [{"type": "password", "value": password, "temporary": True}],
        }
        try:
            user_id = admin.create_user(payload, exist_ok=False)
        except requests.RequestException as exc:
            raise TemporaryError(
                f"Keycloak unreachable during create user: {exc}", delay=2
            ) from exc
        except KeycloakError as exc:
            if exc.response_code != 409:
                raise _failure(exc, "create user") from exc
            # The realm refuses a second user with the same name or email address.
            raise Conflict(
                f"a platform user with the name {username!r} or the email address {email!r} "
                "already exists",
                hint="each person gets their own account: use another name and address",
            ) from exc
        wanted = _translate(lambda: admin.get_realm_role(role), "read role")
        _translate(lambda: admin.assign_realm_roles(str(user_id), [wanted]), "assign role")
        return password

    @traced("keycloak.reset_platform_member_password")
    def reset_temporary_password(self, user_id: str) -> str:
        """A new temporary password for a member who has not logged in yet."""
        admin = self.admin(self.platform_realm)
        password = new_password()
        _translate(
            lambda: admin.set_user_password(user_id, password, temporary=True), "set password"
        )
        return password

    @traced("keycloak.remove_platform_member")
    def remove_platform_member(self, user_id: str) -> None:
        """Delete the user (its sessions end with it)."""
        admin = self.admin(self.platform_realm)
        _translate(lambda: _missing(lambda: admin.delete_user(user_id)), "delete user")

    # ------------------------------------------------------------------ tenants

    @traced("keycloak.ensure_tenant")
    def ensure(
        self, spec: TenantSpec, admin_password: str
    ) -> tuple[list[str], IdentityCredentials]:
        """Create or repair the tenant's identity space; return changes and credentials."""
        realm = self.realm_of(spec)
        changes: list[str] = []
        if spec.isolated:
            changes += self._ensure_realm(
                realm, spec.display_name or spec.slug, organizations=False
            )
        admin = _translate(lambda: self.admin(realm), "log in")
        changes += self._ensure_role(admin, BANK_ADMIN_ROLE)
        if spec.isolated:
            changes += self._ensure_console_client(admin)
        org_id = self._ensure_organization(admin, spec, changes) if not spec.isolated else None
        created = _translate(lambda: admin.get_user_id(spec.admin_username), "find user") is None
        user_id = self._ensure_user(admin, spec.admin_username, admin_password, temporary=True)
        if created:
            changes.append(f"created first admin user {spec.admin_username}")
        role = _translate(lambda: admin.get_realm_role(BANK_ADMIN_ROLE), "read role")
        current_roles = _translate(
            lambda: admin.get_realm_roles_of_user(user_id), "read user roles"
        )
        if BANK_ADMIN_ROLE not in {r["name"] for r in current_roles}:
            _translate(lambda: admin.assign_realm_roles(user_id, [role]), "assign role")
            changes.append(f"granted {BANK_ADMIN_ROLE} to {spec.admin_username}")
        client_uuid, secret = self._ensure_systems_client(admin, spec, changes)
        if org_id is not None:
            self._ensure_member(admin, org_id, user_id, spec.admin_username, changes)
        del client_uuid
        return changes, IdentityCredentials(
            admin_username=spec.admin_username,
            admin_temporary_password=admin_password if created else None,
            client_id=spec.systems_client,
            client_secret=secret,
            issuer=self.issuer(realm),
        )

    def _ensure_organization(
        self, admin: KeycloakAdmin, spec: TenantSpec, changes: list[str]
    ) -> str:
        org = self.organization(spec, admin)
        if org is None:
            _translate(
                lambda: admin.create_organization(
                    {
                        "name": spec.slug,
                        "alias": spec.slug,
                        "enabled": True,
                        "description": spec.display_name,
                        "domains": [{"name": f"{spec.slug}.banks.taas.invalid"}],
                        "attributes": {"taas.tenant.id": [str(spec.id)]},
                    }
                ),
                "create organization",
            )
            changes.append(f"created organization {spec.slug} in realm {self.banks_realm}")
            org = self.organization(spec, admin)
        if org is None:
            raise TemporaryError(f"organization {spec.slug} not visible yet", delay=1)
        return str(org["id"])

    def organization(
        self, spec: TenantSpec, admin: KeycloakAdmin | None = None
    ) -> dict[str, Any] | None:
        admin = admin or self.admin(self.banks_realm)
        orgs = _translate(
            lambda: admin.get_organizations({"search": spec.slug, "exact": "true"}),
            "find organization",
        )
        return next((o for o in orgs if o.get("alias") == spec.slug), None)

    def _ensure_member(
        self, admin: KeycloakAdmin, org_id: str, user_id: str, username: str, changes: list[str]
    ) -> None:
        members = _translate(
            lambda: admin.get_organization_members(org_id, {"max": 1000}), "list members"
        )
        if user_id not in {m["id"] for m in members}:
            _translate(lambda: admin.organization_user_add(user_id, org_id), "add member")
            changes.append(f"added {username} to organization")

    def _ensure_systems_client(
        self, admin: KeycloakAdmin, spec: TenantSpec, changes: list[str]
    ) -> tuple[str, str]:
        return self._ensure_service_client(
            admin,
            spec.systems_client,
            f"{spec.display_name or spec.slug} systems",
            claim=TENANT_CLAIM,
            value=spec.slug,
            changes=changes,
        )

    def _ensure_service_client(
        self,
        admin: KeycloakAdmin,
        client_id: str,
        name: str,
        *,
        claim: str,
        value: str,
        changes: list[str],
    ) -> tuple[str, str]:
        """A confidential client-credentials client whose tokens carry ``claim: value``."""
        client_uuid = _translate(lambda: admin.get_client_id(client_id), "read client")
        if client_uuid is None:
            _translate(
                lambda: admin.create_client(
                    {
                        "clientId": client_id,
                        "name": name,
                        "publicClient": False,
                        "serviceAccountsEnabled": True,
                        "standardFlowEnabled": False,
                        "directAccessGrantsEnabled": False,
                        "attributes": {claim.replace("_", "."): value},
                        "protocolMappers": [
                            {
                                "name": claim.replace("_", "-"),
                                "protocol": "openid-connect",
                                "protocolMapper": "oidc-hardcoded-claim-mapper",
                                "config": {
                                    "claim.name": claim,
                                    "claim.value": value,
                                    "jsonType.label": "String",
                                    "access.token.claim": "true",
                                    "id.token.claim": "false",
                                    "userinfo.token.claim": "false",
                                },
                            }
                        ],
                    },
                    skip_exists=True,
                ),
                f"create client {client_id}",
            )
            changes.append(f"created client {client_id}")
            client_uuid = _translate(lambda: admin.get_client_id(client_id), "read client")
        if client_uuid is None:
            raise TemporaryError(f"client {client_id} not visible yet", delay=1)
        secret = _translate(lambda: admin.get_client_secrets(client_uuid), "read client secret")
        return str(client_uuid), str(secret["value"])

    # ------------------------------------------------------------------ module scopes

    @traced("keycloak.ensure_module_scopes")
    def ensure_module_scopes(self, spec: TenantSpec, scopes: list[str]) -> list[str]:
        """Create the plugin's scopes in the tenant's identity space and let the bank's
        systems client request them (optional scopes: asked for with ``scope=``)."""
        if not scopes:
            return []
        admin = self.admin(self.realm_of(spec))
        client_uuid = _translate(lambda: admin.get_client_id(spec.systems_client), "client")
        if client_uuid is None:
            raise TemporaryError(f"client {spec.systems_client} not found yet", delay=1)
        existing = {s["name"]: s["id"] for s in _translate(admin.get_client_scopes, "scopes")}
        attached = {
            s["name"]
            for s in _translate(
                lambda: admin.get_client_optional_client_scopes(client_uuid), "client scopes"
            )
        }
        changes = []
        for scope in scopes:
            if scope not in existing:
                existing[scope] = _translate(
                    functools.partial(
                        admin.create_client_scope,
                        {
                            "name": scope,
                            "protocol": "openid-connect",
                            "attributes": {
                                "include.in.token.scope": "true",
                                "display.on.consent.screen": "false",
                            },
                        },
                        skip_exists=True,
                    ),
                    "create client scope",
                )
                changes.append(f"created scope {scope}")
            if scope not in attached:
                _translate(
                    functools.partial(
                        admin.add_client_optional_client_scope, client_uuid, existing[scope], {}
                    ),
                    "attach scope",
                )
                changes.append(f"allowed {spec.systems_client} to request {scope}")
        return changes

    @traced("keycloak.remove_module_scopes")
    def remove_module_scopes(self, spec: TenantSpec, scopes: list[str]) -> list[str]:
        """Stop the bank's systems client from requesting these scopes."""
        if not scopes:
            return []
        admin = self.admin(self.realm_of(spec))
        client_uuid = _translate(lambda: admin.get_client_id(spec.systems_client), "client")
        if client_uuid is None:
            return []
        attached = {
            s["name"]: s["id"]
            for s in _translate(
                lambda: admin.get_client_optional_client_scopes(client_uuid), "client scopes"
            )
        }
        changes = []
        for scope in scopes:
            if scope in attached:
                _translate(
                    functools.partial(
                        admin.delete_client_optional_client_scope, client_uuid, attached[scope]
                    ),
                    "detach scope",
                )
                changes.append(f"{spec.systems_client} may no longer request {scope}")
        return changes

    # ------------------------------------------------------------------ vendors

    @traced("keycloak.ensure_vendor")
    def ensure_vendor(self, slug: str, display_name: str) -> tuple[str, str]:
        """The vendor's client in the vendor realm; returns its client id and secret."""
        admin = self.admin(self.vendors_realm)
        client_id = VENDOR_CLIENT_PREFIX + slug
        _, secret = self._ensure_service_client(
            admin, client_id, display_name, claim=VENDOR_CLAIM, value=slug, changes=[]
        )
        return client_id, secret

    @traced("keycloak.set_vendor_enabled")
    def set_vendor_enabled(self, slug: str, *, enabled: bool) -> None:
        admin = self.admin(self.vendors_realm)
        client_uuid = _translate(
            lambda: admin.get_client_id(VENDOR_CLIENT_PREFIX + slug), "read client"
        )
        if client_uuid is not None:
            _translate(
                lambda: admin.update_client(client_uuid, {"enabled": enabled}), "update client"
            )

    @traced("keycloak.remove_vendor")
    def remove_vendor(self, slug: str) -> None:
        """Delete the vendor's client: it can get no more tokens."""
        admin = self.admin(self.vendors_realm)
        client_uuid = _translate(
            lambda: admin.get_client_id(VENDOR_CLIENT_PREFIX + slug), "read client"
        )
        if client_uuid is not None:
            _translate(lambda: admin.delete_client(client_uuid), "delete client")

    def vendor_issuer(self) -> str:
        return self.issuer(self.vendors_realm)

    @traced("keycloak.check_tenant")
    def exists(self, spec: TenantSpec) -> dict[str, bool]:
        realm = self.realm_of(spec)
        master = self.admin("master")
        realm_found = _translate(lambda: _missing(lambda: master.get_realm(realm)), "read realm")
        if realm_found is None:
            return {"realm": False, "organization": False, "client": False, "admin_user": False}
        admin = self.admin(realm)
        return {
            "realm": spec.isolated,
            "organization": (not spec.isolated) and self.organization(spec, admin) is not None,
            "client": _translate(lambda: admin.get_client_id(spec.systems_client), "client")
            is not None,
            "admin_user": _translate(lambda: admin.get_user_id(spec.admin_username), "user")
            is not None,
        }

    @traced("keycloak.set_tenant_enabled")
    def set_enabled(self, spec: TenantSpec, *, enabled: bool) -> list[str]:
        """Disable (suspend) or enable (resume) logins and API clients of the tenant."""
        verb = "enabled" if enabled else "disabled"
        if spec.isolated:
            master = self.admin("master")
            if _translate(lambda: _missing(lambda: master.get_realm(spec.realm)), "realm") is None:
                return []
            _translate(lambda: master.update_realm(spec.realm, {"enabled": enabled}), "realm")
            return [f"{verb} realm {spec.realm}"]
        admin = self.admin(self.banks_realm)
        changes = []
        org = self.organization(spec, admin)
        if org is not None:
            members = _translate(
                lambda: admin.get_organization_members(org["id"], {"max": 1000}), "members"
            )
            for member in members:
                _translate(
                    functools.partial(admin.update_user, member["id"], {"enabled": enabled}),
                    "update user",
                )
                changes.append(f"{verb} user {member['username']}")
            org["enabled"] = enabled
            _translate(lambda: admin.update_organization(org["id"], org), "update organization")
            changes.append(f"{verb} organization {spec.slug}")
        client_uuid = _translate(lambda: admin.get_client_id(spec.systems_client), "client")
        if client_uuid is not None:
            _translate(
                lambda: admin.update_client(client_uuid, {"enabled": enabled}), "update client"
            )
            changes.append(f"{verb} client {spec.systems_client}")
        return changes

    @traced("keycloak.remove_tenant")
    def remove(self, spec: TenantSpec) -> list[str]:
        """Delete the tenant's realm, or its organization, members and client."""
        if spec.isolated:
            master = self.admin("master")
            if _translate(lambda: _missing(lambda: master.get_realm(spec.realm)), "realm") is None:
                return []
            _translate(lambda: master.delete_realm(spec.realm), "delete realm")
            return [f"deleted realm {spec.realm}"]
        admin = self.admin(self.banks_realm)
        changes = []
        org = self.organization(spec, admin)
        if org is not None:
            members = _translate(
                lambda: admin.get_organization_members(org["id"], {"max": 1000}), "members"
            )
            for member in members:
                _translate(functools.partial(admin.delete_user, member["id"]), "delete user")
                changes.append(f"deleted user {member['username']}")
            _translate(lambda: admin.delete_organization(org["id"]), "delete organization")
            changes.append(f"deleted organization {spec.slug}")
        user_id = _translate(lambda: admin.get_user_id(spec.admin_username), "find user")
        if user_id is not None:
            _translate(lambda: admin.delete_user(user_id), "delete user")
            changes.append(f"deleted user {spec.admin_username}")
        client_uuid = _translate(lambda: admin.get_client_id(spec.systems_client), "client")
        if client_uuid is not None:
            _translate(lambda: admin.delete_client(client_uuid), "delete client")
            changes.append(f"deleted client {spec.systems_client}")
        return changes

    # ------------------------------------------------------------------ reconciler repair

    @traced("keycloak.ensure_tenant_enabled")
    def ensure_enabled(self, spec: TenantSpec, *, enabled: bool) -> list[str]:
        """Put back what suspend/resume set and someone changed by hand: the realm's enabled
        flag (silo) or the systems client's (pool; a silo client stays enabled, its realm is
        what suspend disables). Returns what had to change."""
        verb = "enabled" if enabled else "disabled"
        if spec.isolated:
            master = _translate(lambda: self.admin("master"), "log in")
            realm = _translate(lambda: _missing(lambda: master.get_realm(spec.realm)), "realm")
            if realm is not None and bool(realm.get("enabled")) != enabled:
                _translate(lambda: master.update_realm(spec.realm, {"enabled": enabled}), "realm")
                return [f"{verb} realm {spec.realm}"]
            enabled = True
            verb = "enabled"
        admin = _translate(lambda: self.admin(self.realm_of(spec)), "log in")
        client_uuid = _translate(lambda: admin.get_client_id(spec.systems_client), "client")
        if client_uuid is None:
            return []
        client = _translate(lambda: admin.get_client(client_uuid), "read client")
        if bool(client.get("enabled", True)) == enabled:
            return []
        _translate(lambda: admin.update_client(client_uuid, {"enabled": enabled}), "client")
        return [f"{verb} client {spec.systems_client}"]


def new_password() -> str:
    """A password that satisfies Keycloak's default policy."""
    return secrets.token_urlsafe(18) + "-Aa1"
