"""How the control plane reaches Keycloak's admin API, and where each identity space is."""

from __future__ import annotations

from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

from taas.integrations.identity.errors import missing, translate
from taas.integrations.spec import TenantSpec


class KeycloakAdmins:
    """Admin clients for the realms the platform works in (master, platform, banks,
    vendors and each isolated tenant's own)."""

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

    def master_if_realm_exists(self, realm: str, what: str = "read realm") -> KeycloakAdmin | None:
        """An admin client on master when ``realm`` exists, else None."""
        master = self.admin("master")
        if translate(lambda: missing(lambda: master.get_realm(realm)), what) is None:
            return None
        return master
