"""A bank's identity space: its own realm (silo, dedicated) or an organization of the
shared bank realm (pool), with the bank-admin role, a first admin and a systems client."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from keycloak import KeycloakAdmin

from taas.integrations.identity.errors import missing, translate
from taas.integrations.identity.objects import KeycloakObjects
from taas.integrations.identity.platform import BANK_ADMIN_ROLE
from taas.integrations.spec import TenantSpec
from taas.kit.errors import TemporaryError
from taas.kit.telemetry import traced

TENANT_CLAIM = "taas_tenant"


@dataclass(frozen=True)
class IdentityCredentials:
    """What the bank needs to log in, handed over through the tenant's credentials secret."""

    admin_username: str
    admin_temporary_password: str | None
    client_id: str
    client_secret: str
    issuer: str


class TenantIdentity(KeycloakObjects):
    """Creates, checks, suspends and removes a bank's identity space."""

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
            changes += self._ensure_local_account(realm)
        admin = self.admin(realm)
        changes += self._ensure_role(admin, BANK_ADMIN_ROLE)
        if spec.isolated:
            changes += self._ensure_console_client(admin)
        org_id = self._ensure_organization(admin, spec, changes) if not spec.isolated else None
        created = translate(lambda: admin.get_user_id(spec.admin_username), "find user") is None
        user_id = self._ensure_user(admin, spec.admin_username, admin_password, temporary=True)
        if created:
            changes.append(f"created first admin user {spec.admin_username}")
        role = translate(lambda: admin.get_realm_role(BANK_ADMIN_ROLE), "read role")
        current_roles = translate(lambda: admin.get_realm_roles_of_user(user_id), "read user roles")
        if BANK_ADMIN_ROLE not in {r["name"] for r in current_roles}:
            translate(lambda: admin.assign_realm_roles(user_id, [role]), "assign role")
            changes.append(f"granted {BANK_ADMIN_ROLE} to {spec.admin_username}")
        _, secret = self._ensure_service_client(
            admin,
            spec.systems_client,
            f"{spec.display_name or spec.slug} systems",
            claim=TENANT_CLAIM,
            value=spec.slug,
            changes=changes,
        )
        if org_id is not None:
            self._ensure_member(admin, org_id, user_id, spec.admin_username, changes)
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
            translate(
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
        orgs = translate(
            lambda: admin.get_organizations({"search": spec.slug, "exact": "true"}),
            "find organization",
        )
        return next((o for o in orgs if o.get("alias") == spec.slug), None)

    @staticmethod
    def _members(admin: KeycloakAdmin, org_id: str, what: str) -> list[dict[str, Any]]:
        members: list[dict[str, Any]] = translate(
            lambda: admin.get_organization_members(org_id, {"max": 1000}), what
        )
        return members

    def _ensure_member(
        self, admin: KeycloakAdmin, org_id: str, user_id: str, username: str, changes: list[str]
    ) -> None:
        if user_id not in {m["id"] for m in self._members(admin, org_id, "list members")}:
            translate(lambda: admin.organization_user_add(user_id, org_id), "add member")
            changes.append(f"added {username} to organization")

    @traced("keycloak.check_tenant")
    def exists(self, spec: TenantSpec) -> dict[str, bool]:
        realm = self.realm_of(spec)
        admin = self.owner_if_realm_exists(realm)  # a suspended silo realm's too
        if admin is None:
            return {"realm": False, "organization": False, "client": False, "admin_user": False}
        return {
            "realm": spec.isolated,
            "organization": (not spec.isolated) and self.organization(spec, admin) is not None,
            "client": translate(lambda: admin.get_client_id(spec.systems_client), "client")
            is not None,
            "admin_user": translate(lambda: admin.get_user_id(spec.admin_username), "user")
            is not None,
        }

    @traced("keycloak.set_tenant_enabled")
    def set_enabled(self, spec: TenantSpec, *, enabled: bool) -> list[str]:
        """Disable (suspend) or enable (resume) logins and API clients of the tenant."""
        verb = "enabled" if enabled else "disabled"
        if spec.isolated:
            owner = self.owner_if_realm_exists(spec.realm, "realm")
            if owner is None:
                return []
            translate(lambda: owner.update_realm(spec.realm, {"enabled": enabled}), "realm")
            return [f"{verb} realm {spec.realm}"]
        admin = self.admin(self.banks_realm)
        changes = []
        org = self.organization(spec, admin)
        if org is not None:
            for member in self._members(admin, org["id"], "members"):
                translate(
                    functools.partial(admin.update_user, member["id"], {"enabled": enabled}),
                    "update user",
                )
                changes.append(f"{verb} user {member['username']}")
            org["enabled"] = enabled
            translate(lambda: admin.update_organization(org["id"], org), "update organization")
            changes.append(f"{verb} organization {spec.slug}")
        client_uuid = translate(lambda: admin.get_client_id(spec.systems_client), "client")
        if client_uuid is not None:
            translate(
                lambda: admin.update_client(client_uuid, {"enabled": enabled}), "update client"
            )
            changes.append(f"{verb} client {spec.systems_client}")
        return changes

    @traced("keycloak.remove_tenant")
    def remove(self, spec: TenantSpec) -> list[str]:
        """Delete the tenant's realm, or its organization, members and client."""
        if spec.isolated:
            owner = self.owner_if_realm_exists(spec.realm, "realm")
            if owner is None:
                return []
            translate(lambda: owner.delete_realm(spec.realm), "delete realm")
            return [f"deleted realm {spec.realm}"]
        admin = self.admin(self.banks_realm)
        changes = []
        org = self.organization(spec, admin)
        if org is not None:
            for member in self._members(admin, org["id"], "members"):
                translate(functools.partial(admin.delete_user, member["id"]), "delete user")
                changes.append(f"deleted user {member['username']}")
            translate(lambda: admin.delete_organization(org["id"]), "delete organization")
            changes.append(f"deleted organization {spec.slug}")
        user_id = translate(lambda: admin.get_user_id(spec.admin_username), "find user")
        if user_id is not None:
            translate(lambda: admin.delete_user(user_id), "delete user")
            changes.append(f"deleted user {spec.admin_username}")
        client_uuid = translate(lambda: admin.get_client_id(spec.systems_client), "client")
        if client_uuid is not None:
            translate(lambda: admin.delete_client(client_uuid), "delete client")
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
            owner = self.owner(spec.realm)
            realm = translate(lambda: missing(lambda: owner.get_realm(spec.realm)), "realm")
            if realm is not None and bool(realm.get("enabled")) != enabled:
                translate(lambda: owner.update_realm(spec.realm, {"enabled": enabled}), "realm")
                return [f"{verb} realm {spec.realm}"]
            enabled, verb = True, "enabled"
        admin = self.owner(self.realm_of(spec))  # a disabled realm's local account is refused
        client_uuid = translate(lambda: admin.get_client_id(spec.systems_client), "client")
        if client_uuid is None:
            return []
        client = translate(lambda: admin.get_client(client_uuid), "read client")
        if bool(client.get("enabled", True)) == enabled:
            return []
        translate(lambda: admin.update_client(client_uuid, {"enabled": enabled}), "client")
        return [f"{verb} client {spec.systems_client}"]
