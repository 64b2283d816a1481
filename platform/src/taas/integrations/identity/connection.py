"""How the control plane reaches Keycloak's admin API, and where each identity space is.

The control plane works through three kinds of service-account client:

- the configured client, in master, manages the platform's three realms (operators, the
  shared bank realm, vendors) and nothing else;
- its *realm creator* (the same client id + ``-realms``, in master) holds ``create-realm``
  and works on the banks' own realms as realms: creates, reads, enables, disables and
  deletes them, and sets up their local account;
- a *local account* in each bank realm (a client with the configured client id, holding
  that realm's ``realm-management`` roles) does the work inside the realm: roles,
  clients, users, scopes, the reconciler's reads.

Keycloak grants a realm's creator the management roles of every realm it creates (17
each), and it checks an admin request against all the roles its caller holds: with one
account for everything, each request paid for every silo realm (2.3x slower at 470 silo
realms, docs/benchmarks.md). Split so, no account's everyday requests grow with the
number of bank realms; only the creator's few realm-level calls do. The creator's and
the local accounts' secrets are derived from the configured one (HMAC-SHA256), so an
operator keeps one secret.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Any

import httpx
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakError

from taas.integrations.identity.errors import missing, translate
from taas.integrations.identity.tokens import TokenCache
from taas.integrations.spec import TenantSpec

# A local account's login is refused when its realm is disabled (403), gone (404), or the
# account is missing or has another secret (401; 400 for some clients): work then goes
# through the realm creator.
LOGIN_REFUSED = frozenset({400, 401, 403, 404})


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
        self.tokens = TokenCache()

    @property
    def platform_realms(self) -> tuple[str, str, str]:
        return (self.platform_realm, self.banks_realm, self.vendors_realm)

    def admin(self, realm: str) -> KeycloakAdmin:
        """An admin client for the work inside ``realm``: a bank realm's local account
        when it can log in, else the same as ``owner``."""
        if self.client_id and realm not in self.platform_realms and realm != "master":
            local = self.local_admin(realm)
            if local is not None:
                return local
        return self.owner(realm)

    def owner(self, realm: str) -> KeycloakAdmin:
        """An admin client on ``realm`` logged in to master: the configured client for
        the platform's realms, the realm creator for master and the bank realms (the
        admin user when no client is configured). It can also create, read, enable and
        delete the realm itself."""
        if not self.client_id:
            return self._logged_in(
                connect(
                    server_url=self.url,
                    username=self.admin_user,
                    password=self.admin_password,
                    realm_name=realm,
                    user_realm_name="master",
                    client_id="admin-cli",
                    timeout=15,
                )
            )
        if realm in self.platform_realms:
            client_id, secret = self.client_id, self.client_secret
        else:
            client_id = realm_creator(self.client_id)
            secret = realm_creator_secret(self.client_secret)
        return self._logged_in(
            connect(
                server_url=self.url,
                realm_name=realm,
                user_realm_name="master",
                client_id=client_id,
                client_secret_key=secret,
                timeout=15,
            )
        )

    def local_admin(self, realm: str, *, fresh: bool = False) -> KeycloakAdmin | None:
        """An admin client logged in as ``realm``'s local account, or None when that
        login is refused (realm disabled or gone, account missing). A kept token is
        reused unless ``fresh``; it may outlive its realm's being disabled (Keycloak
        still takes it), so what must know whether the account can log in now asks
        ``fresh``."""
        connection = connect(
            server_url=self.url,
            realm_name=realm,
            client_id=self.client_id,
            client_secret_key=local_secret(self.client_secret, realm),
            timeout=15,
        )
        try:
            return self._logged_in(connection, fresh=fresh)
        except Exception as exc:
            cause = exc.__cause__
            if isinstance(cause, KeycloakError) and cause.response_code in LOGIN_REFUSED:
                return None
            raise

    def forget_local_token(self, realm: str) -> None:
        """Drop ``realm``'s local account's kept token (Keycloak refused it)."""
        self.tokens.forget((realm, self.client_id))

    def _logged_in(
        self, connection: KeycloakOpenIDConnection, *, fresh: bool = False
    ) -> KeycloakAdmin:
        """An admin client on ``connection`` with a kept token, or logged in now (not on
        the first request, which python-keycloak sends without a token, takes the 401
        and then logs in; now also names a refused login as one)."""
        key = (
            connection.user_realm_name or connection.realm_name or "master",
            str(connection.username or connection.client_id),
        )
        kept = None if fresh else self.tokens.get(key)
        if kept is not None:
            connection.token = kept
        else:
            self.tokens.forget(key)
            translate(connection.get_token, "log in")
            self.tokens.put(key, connection.token)
        return KeycloakAdmin(connection=connection)

    def realm_of(self, spec: TenantSpec) -> str:
        return spec.realm if spec.isolated else self.banks_realm

    def issuer(self, realm: str) -> str:
        return f"{self.url}/realms/{realm}"

    def owner_if_realm_exists(self, realm: str, what: str = "read realm") -> KeycloakAdmin | None:
        """``owner(realm)`` when ``realm`` exists, else None."""
        owner = self.owner(realm)
        if translate(lambda: missing(lambda: owner.get_realm(realm)), what) is None:
            return None
        return owner


def connect(**settings: Any) -> KeycloakOpenIDConnection:
    """A python-keycloak connection that verifies TLS like the default one, made without
    the cost of the default one.

    python-keycloak builds an httpx client for async calls with every connection, and with
    it an SSL context that loads the CA bundle: 21 ms of CPU per admin client against
    0.3 ms here (``benchmarks/keycloak_clients.py``), for calls the platform never makes,
    and more than a bank realm's read with a kept token costs. So the connection is built
    without verification, then given the default (verify), which each of its requests
    uses, and the async client is swapped for one shared per process that verifies."""
    connection = KeycloakOpenIDConnection(**settings, verify=False)
    connection.verify = True
    connection.async_s = _async_client()
    return connection


@functools.cache
def _async_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=True)


REALM_CREATOR_SUFFIX = "-realms"


def realm_creator(client_id: str) -> str:
    """The client id of the account that creates and manages the banks' own realms."""
    return f"{client_id}{REALM_CREATOR_SUFFIX}"


def derived_secret(secret: str, purpose: str) -> str:
    """A secret for ``purpose`` derived from the configured one: rotating that (then
    ``taas platform init``) rotates every derived one."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def realm_creator_secret(secret: str) -> str:
    """The secret of the realm creator."""
    return derived_secret(secret, "realm creator")


def local_secret(secret: str, realm: str) -> str:
    """The secret of ``realm``'s local account."""
    return derived_secret(secret, f"local account of realm {realm}")
