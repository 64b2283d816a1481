"""The platform's own realms (operators and auditors, the shared bank realm, vendors) and
the control plane's service-account clients in master."""

from __future__ import annotations

import functools
from collections.abc import Callable

from keycloak import KeycloakAdmin

from taas.integrations.identity.connection import (
    local_secret,
    realm_creator,
    realm_creator_secret,
)
from taas.integrations.identity.errors import missing, translate
from taas.integrations.identity.objects import REALM_MANAGEMENT_ROLES, KeycloakObjects
from taas.kit.errors import TaasError
from taas.kit.telemetry import traced

BANK_ADMIN_ROLE = "bank-admin"
PLATFORM_ROLES = ("platform-operator", "platform-auditor")
LIGHTWEIGHT_TOKENS = "client.use.lightweight.access.token.enabled"  # a client attribute


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

    def ensure_control_plane_clients(
        self, client_id: str, secret: str, progress: Callable[[int, int], None] | None = None
    ) -> list[str]:
        """The control plane's accounts (made with the admin user, by ``taas platform
        init``; see ``connection``): in master, ``client_id`` with the management of the
        platform's three realms only, and its realm creator with ``create-realm`` and the
        management of every bank realm that exists; in every bank realm, the local
        account. A bank realm's management held by ``client_id`` (it created them before
        the split) or ``create-realm`` are taken back, so the grants do not slow its
        requests. ``progress`` hears (done, of) after each bank realm.

        Their access tokens are lightweight (no role claims; Keycloak checks the roles of
        the admin API's caller on the server): a full token lists the management roles of
        every realm its client manages, and past ~140 silo realms it outgrew Keycloak's
        request-header limit (HTTP 431 on every call, found by the provisioning benchmark)."""
        master = translate(lambda: self.admin("master"), "log in")
        changes: list[str] = []
        shared = self._ensure_account(master, client_id, "TaaS control plane", secret, changes)
        creator_id = realm_creator(client_id)
        creator = self._ensure_account(
            master,
            creator_id,
            "TaaS bank realms",
            realm_creator_secret(secret),
            changes,
        )
        held = translate(lambda: master.get_realm_roles_of_user(shared), "read roles")
        if any(role["name"] == "create-realm" for role in held):
            translate(
                lambda: master.delete_realm_roles_of_user(
                    shared, [r for r in held if r["name"] == "create-realm"]
                ),
                "revoke create-realm",
            )
            changes.append(f"revoked create-realm from {client_id}")
        held = translate(lambda: master.get_realm_roles_of_user(creator), "read roles")
        if not any(role["name"] == "create-realm" for role in held):
            wanted = translate(lambda: master.get_realm_role("create-realm"), "read role")
            translate(lambda: master.assign_realm_roles(creator, [wanted]), "grant")
            changes.append(f"granted create-realm to {creator_id}")
        for realm in self.platform_realms:
            changes += self.grant_realm_management(master, shared, client_id, realm)
        changes += self._revoke_bank_realms(master, shared, client_id)
        bank_realms = [
            realm["realm"]
            for realm in translate(master.get_realms, "list realms")
            if realm["realm"].startswith("bank-")
        ]
        for number, name in enumerate(bank_realms, 1):
            try:
                changes += self.grant_realm_management(master, creator, creator_id, name)
                self._ensure_local_account_with(
                    self.owner(name), client_id, local_secret(secret, name), changes
                )
            except TaasError:
                if translate(
                    functools.partial(missing, functools.partial(master.get_realm, name)), "realm"
                ):
                    raise
                continue  # offboarded meanwhile
            if progress is not None:
                progress(number, len(bank_realms))
        return changes

    def _ensure_account(
        self, master: KeycloakAdmin, client_id: str, name: str, secret: str, changes: list[str]
    ) -> str:
        """A service-account client in master with lightweight tokens and ``secret``;
        returns its service-account user's id."""
        client_uuid = self._ensure_client(
            master,
            {
                "clientId": client_id,
                "name": name,
                "publicClient": False,
                "serviceAccountsEnabled": True,
                "standardFlowEnabled": False,
                "directAccessGrantsEnabled": False,
                "secret": secret,
                "attributes": {LIGHTWEIGHT_TOKENS: "true"},
            },
            what=f"create client {client_id}",
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
        return str(account["id"])

    def _revoke_bank_realms(self, master: KeycloakAdmin, user_id: str, who: str) -> list[str]:
        """Take back from ``user_id`` the roles it holds on any bank realm."""
        mappings = translate(lambda: master.get_all_roles_of_user(user_id), "read roles")
        changes = []
        for client in (mappings.get("clientMappings") or {}).values():
            realm = str(client.get("client", "")).removesuffix("-realm")
            if not realm.startswith("bank-") or not client.get("mappings"):
                continue
            translate(
                functools.partial(
                    master.delete_client_roles_of_user, user_id, client["id"], client["mappings"]
                ),
                "revoke roles",
            )
            changes.append(f"revoked {who}'s management of realm {realm}")
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
