"""The platform's own realms (operators and auditors, the shared bank realm, vendors) and
the control plane's service-account client in master."""

from __future__ import annotations

from keycloak import KeycloakAdmin

from taas.integrations.identity.errors import translate
from taas.integrations.identity.objects import KeycloakObjects
from taas.kit.telemetry import traced

BANK_ADMIN_ROLE = "bank-admin"
PLATFORM_ROLES = ("platform-operator", "platform-auditor")
LIGHTWEIGHT_TOKENS = "client.use.lightweight.access.token.enabled"  # a client attribute
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


class PlatformRealms(KeycloakObjects):
    """Sets up the realms the platform itself lives in, and its own access to them."""

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
        already (Keycloak grants a realm's creator its management roles).

        Its access tokens are lightweight (no role claims; Keycloak checks the roles of the
        admin API's caller on the server): a full token lists the management roles of every
        realm it manages, and past ~140 silo realms it outgrew Keycloak's request-header
        limit (HTTP 431 on every call, found by the provisioning benchmark)."""
        master = translate(lambda: self.admin("master"), "log in")
        changes: list[str] = []
        client_uuid = self._ensure_client(
            master,
            {
                "clientId": client_id,
                "name": "TaaS control plane",
                "publicClient": False,
                "serviceAccountsEnabled": True,
                "standardFlowEnabled": False,
                "directAccessGrantsEnabled": False,
                "secret": secret,
                "attributes": {LIGHTWEIGHT_TOKENS: "true"},
            },
            what="create control-plane client",
            created=f"created client {client_id} in master",
            changes=changes,
        )
        client = translate(lambda: master.get_client(client_uuid), "read client")
        attributes = client.get("attributes") or {}
        if attributes.get(LIGHTWEIGHT_TOKENS) != "true":
            attributes = {**attributes, LIGHTWEIGHT_TOKENS: "true"}
            translate(
                lambda: master.update_client(client_uuid, {"attributes": attributes}),
                "make the client's tokens lightweight",
            )
            changes.append(f"made the access tokens of {client_id} lightweight")
        current = translate(lambda: master.get_client_secrets(client_uuid), "read secret")
        if current.get("value") != secret:
            translate(lambda: master.update_client(client_uuid, {"secret": secret}), "set secret")
            changes.append(f"set the secret of {client_id}")
        account = translate(lambda: master.get_client_service_account_user(client_uuid), "sa")
        held = {
            role["name"]
            for role in translate(
                lambda: master.get_realm_roles_of_user(account["id"]), "read roles"
            )
        }
        if "create-realm" not in held:
            wanted = translate(lambda: master.get_realm_role("create-realm"), "read role")
            translate(lambda: master.assign_realm_roles(account["id"], [wanted]), "grant")
            changes.append(f"granted create-realm to {client_id}")
        realms = [
            realm["realm"]
            for realm in translate(master.get_realms, "list realms")
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
        management = translate(lambda: master.get_client_id(f"{realm}-realm"), "read client")
        if management is None:
            return []
        held = {
            role["name"]
            for role in translate(
                lambda: master.get_client_roles_of_user(user_id, management), "read roles"
            )
        }
        missing = [name for name in REALM_MANAGEMENT_ROLES if name not in held]
        if not missing:
            return []
        roles = [
            role
            for role in translate(lambda: master.get_client_roles(management), "read roles")
            if role["name"] in missing
        ]
        translate(lambda: master.assign_client_role(user_id, management, roles), "grant")
        return [f"granted {who} the management of realm {realm}"]

    def ensure_platform_user(self, username: str, password: str, roles: list[str]) -> str:
        """A platform-realm user with the given roles (for bootstrap and tests)."""
        admin = self.admin(self.platform_realm)
        user_id = self._ensure_user(admin, username, password, temporary=False)
        wanted = [admin.get_realm_role(role) for role in roles]
        translate(lambda: admin.assign_realm_roles(user_id, wanted), "assign roles")
        return user_id
