"""Create-or-adopt building blocks: a realm, a role, a client, a user, each made when
absent and left alone when present, with a line saying what changed."""

from __future__ import annotations

from typing import Any

from keycloak import KeycloakAdmin

from taas.integrations.identity.connection import KeycloakAdmins, local_secret
from taas.integrations.identity.errors import missing, translate
from taas.kit.errors import TemporaryError

CONSOLE_CLIENT = "taas-console"
# What the control plane does in a realm: roles, clients and client scopes, users,
# organizations, enabling or deleting the realm.
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


class KeycloakObjects(KeycloakAdmins):
    """The pieces every identity space is made of."""

    def _ensure_realm(self, realm: str, display: str, *, organizations: bool) -> list[str]:
        owner = self.owner(realm)
        existing = translate(lambda: missing(lambda: owner.get_realm(realm)), "read realm")
        changes = []
        if existing is None:
            translate(
                lambda: owner.create_realm(
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
            translate(
                lambda: owner.update_realm(realm, {"organizationsEnabled": True}),
                "enable organizations",
            )
            changes.append(f"enabled organizations in realm {realm}")
        return changes

    def _ensure_local_account(self, realm: str) -> list[str]:
        """The bank realm's local account (see ``connection``), set up by the realm
        creator when its login is refused."""
        if not self.client_id or self.local_admin(realm, fresh=True) is not None:
            return []
        changes: list[str] = []
        self._ensure_local_account_with(
            self.owner(realm), self.client_id, local_secret(self.client_secret, realm), changes
        )
        return changes

    def _ensure_local_account_with(
        self, admin: KeycloakAdmin, client_id: str, secret: str, changes: list[str]
    ) -> None:
        """In ``admin``'s realm: a service-account client ``client_id`` with ``secret``
        holding the realm's management roles (``REALM_MANAGEMENT_ROLES``)."""
        realm = admin.connection.realm_name
        client_uuid = self._ensure_client(
            admin,
            {
                "clientId": client_id,
                "name": "TaaS control plane",
                "publicClient": False,
                "serviceAccountsEnabled": True,
                "standardFlowEnabled": False,
                "directAccessGrantsEnabled": False,
                "secret": secret,
            },
            what="create the control plane's local account",
            created=f"created the control plane's account {client_id} in realm {realm}",
            changes=changes,
        )
        current = translate(lambda: admin.get_client_secrets(client_uuid), "read secret")
        if current.get("value") != secret:
            translate(lambda: admin.update_client(client_uuid, {"secret": secret}), "set secret")
            changes.append(f"set the secret of {client_id} in realm {realm}")
        account = translate(lambda: admin.get_client_service_account_user(client_uuid), "sa")
        management = translate(lambda: admin.get_client_id("realm-management"), "read client")
        if management is None:
            raise TemporaryError(f"realm {realm} has no realm-management client yet", delay=1)
        held = {
            role["name"]
            for role in translate(
                lambda: admin.get_client_roles_of_user(account["id"], management), "read roles"
            )
        }
        if set(REALM_MANAGEMENT_ROLES) <= held:
            return
        roles = [
            role
            for role in translate(lambda: admin.get_client_roles(management), "read roles")
            if role["name"] in REALM_MANAGEMENT_ROLES and role["name"] not in held
        ]
        translate(lambda: admin.assign_client_role(account["id"], management, roles), "grant")
        changes.append(f"granted {client_id} the management of realm {realm}")

    def _ensure_role(self, admin: KeycloakAdmin, role: str) -> list[str]:
        if translate(lambda: missing(lambda: admin.get_realm_role(role)), "read role") is None:
            translate(
                lambda: admin.create_realm_role({"name": role}, skip_exists=True), "create role"
            )
            return [f"created role {role}"]
        return []

    def _ensure_console_client(self, admin: KeycloakAdmin) -> list[str]:
        """A public client people log in with (the CLI uses direct grants)."""
        if translate(lambda: admin.get_client_id(CONSOLE_CLIENT), "read client"):
            return []
        create_client(
            admin,
            {
                "clientId": CONSOLE_CLIENT,
                "publicClient": True,
                "directAccessGrantsEnabled": True,
                "standardFlowEnabled": True,
                "redirectUris": ["http://127.0.0.1/*", "http://localhost/*"],
            },
            "create console client",
        )
        self._add_scope(admin, CONSOLE_CLIENT, "organization")
        return [f"created client {CONSOLE_CLIENT}"]

    def _add_scope(self, admin: KeycloakAdmin, client_id: str, scope_name: str) -> None:
        client_uuid = translate(lambda: admin.get_client_id(client_id), "read client")
        scopes = translate(admin.get_client_scopes, "list client scopes")
        scope = next((s for s in scopes if s["name"] == scope_name), None)
        if scope is None or client_uuid is None:
            return
        translate(
            lambda: admin.add_client_default_client_scope(client_uuid, scope["id"], {}),
            "add client scope",
        )

    def _ensure_client(
        self,
        admin: KeycloakAdmin,
        representation: dict[str, Any],
        *,
        what: str,
        created: str,
        changes: list[str],
    ) -> str:
        """The id of the client ``representation`` names, created from it when absent
        (noting ``created`` in ``changes``)."""
        client_id = representation["clientId"]
        client_uuid = translate(lambda: admin.get_client_id(client_id), "read client")
        if client_uuid is None:
            create_client(admin, representation, what)
            changes.append(created)
            client_uuid = translate(lambda: admin.get_client_id(client_id), "read client")
        if client_uuid is None:
            raise TemporaryError(f"client {client_id} not visible yet", delay=1)
        return str(client_uuid)

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
        client_uuid = self._ensure_client(
            admin,
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
            what=f"create client {client_id}",
            created=f"created client {client_id}",
            changes=changes,
        )
        secret = translate(lambda: admin.get_client_secrets(client_uuid), "read client secret")
        return client_uuid, str(secret["value"])

    def _ensure_user(
        self, admin: KeycloakAdmin, username: str, password: str | None, *, temporary: bool
    ) -> str:
        user_id = translate(lambda: admin.get_user_id(username), "find user")
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
            user_id = translate(lambda: admin.create_user(payload, exist_ok=True), "create user")
        return str(user_id)


def create_client(admin: KeycloakAdmin, representation: dict[str, Any], what: str) -> None:
    """Create a client; one created meanwhile by someone else (a 409) is as good.

    python-keycloak's ``skip_exists`` swallows the 409 but then reads the ``Location``
    header the 409 does not have, so the race is caught here.
    """
    try:
        translate(lambda: admin.create_client(representation, skip_exists=True), what)
    except KeyError:
        return
