"""Module scopes: the OAuth scopes a plugin declares, which a bank's systems client may
request once the bank subscribes."""

from __future__ import annotations

import functools

from taas.integrations.identity.connection import KeycloakAdmins
from taas.integrations.identity.errors import translate
from taas.integrations.spec import TenantSpec
from taas.kit.errors import TemporaryError
from taas.kit.telemetry import traced


class ModuleScopes(KeycloakAdmins):
    """Lets a bank's systems client request a subscribed module's scopes, or stops it."""

    @traced("keycloak.ensure_module_scopes")
    def ensure_module_scopes(self, spec: TenantSpec, scopes: list[str]) -> list[str]:
        """Create the plugin's scopes in the tenant's identity space and let the bank's
        systems client request them (optional scopes: asked for with ``scope=``)."""
        if not scopes:
            return []
        admin = self.admin(self.realm_of(spec))
        client_uuid = translate(lambda: admin.get_client_id(spec.systems_client), "client")
        if client_uuid is None:
            raise TemporaryError(f"client {spec.systems_client} not found yet", delay=1)
        existing = {s["name"]: s["id"] for s in translate(admin.get_client_scopes, "scopes")}
        attached = {
            s["name"]
            for s in translate(
                lambda: admin.get_client_optional_client_scopes(client_uuid), "client scopes"
            )
        }
        changes = []
        for scope in scopes:
            if scope not in existing:
                existing[scope] = translate(
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
                translate(
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
        client_uuid = translate(lambda: admin.get_client_id(spec.systems_client), "client")
        if client_uuid is None:
            return []
        attached = {
            s["name"]: s["id"]
            for s in translate(
                lambda: admin.get_client_optional_client_scopes(client_uuid), "client scopes"
            )
        }
        changes = []
        for scope in scopes:
            if scope in attached:
                translate(
                    functools.partial(
                        admin.delete_client_optional_client_scope, client_uuid, attached[scope]
                    ),
                    "detach scope",
                )
                changes.append(f"{spec.systems_client} may no longer request {scope}")
        return changes
