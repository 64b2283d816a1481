"""Vendors' clients in the vendor realm: how a plugin vendor gets its tokens."""

from __future__ import annotations

from taas.integrations.identity.errors import translate
from taas.integrations.identity.objects import KeycloakObjects
from taas.kit.telemetry import traced

VENDOR_CLAIM = "taas_vendor"
VENDOR_CLIENT_PREFIX = "vendor-"


class VendorClients(KeycloakObjects):
    """Creates, enables, disables and deletes a vendor's client."""

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
        client_uuid = translate(
            lambda: admin.get_client_id(VENDOR_CLIENT_PREFIX + slug), "read client"
        )
        if client_uuid is not None:
            translate(
                lambda: admin.update_client(client_uuid, {"enabled": enabled}), "update client"
            )

    @traced("keycloak.remove_vendor")
    def remove_vendor(self, slug: str) -> None:
        """Delete the vendor's client: it can get no more tokens."""
        admin = self.admin(self.vendors_realm)
        client_uuid = translate(
            lambda: admin.get_client_id(VENDOR_CLIENT_PREFIX + slug), "read client"
        )
        if client_uuid is not None:
            translate(lambda: admin.delete_client(client_uuid), "delete client")

    def vendor_issuer(self) -> str:
        return self.issuer(self.vendors_realm)
