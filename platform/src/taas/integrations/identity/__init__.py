"""Tenant identity on Keycloak.

``pool`` tenants are organizations in the shared bank realm; ``silo`` and ``dedicated``
tenants get a realm of their own (see docs/adr/0002). Either way the tenant gets the
``bank-admin`` role, a first admin user (temporary password, must change it) and a
confidential client for the bank's systems. Tokens say which tenant they belong to:
the issuer (own realm) or the ``organization`` claim (shared realm).

One module per concern: ``connection`` (admin clients), ``errors`` (retry-aware
failures), ``objects`` (create-or-adopt building blocks), ``platform`` (the platform's
realms and its own client), ``members`` (operators, auditors), ``tenants`` (a bank's
identity space), ``scopes`` (module scopes), ``vendors`` (vendor clients), ``passwords``.
``IdentityTenants`` is all of them in one adapter.
"""

from __future__ import annotations

from taas.integrations.identity.members import PlatformMember, PlatformMembers
from taas.integrations.identity.objects import CONSOLE_CLIENT, REALM_MANAGEMENT_ROLES
from taas.integrations.identity.passwords import new_password
from taas.integrations.identity.platform import (
    BANK_ADMIN_ROLE,
    PLATFORM_ROLES,
    PlatformRealms,
)
from taas.integrations.identity.scopes import ModuleScopes
from taas.integrations.identity.tenants import TENANT_CLAIM, IdentityCredentials, TenantIdentity
from taas.integrations.identity.vendors import VENDOR_CLAIM, VENDOR_CLIENT_PREFIX, VendorClients

__all__ = [
    "BANK_ADMIN_ROLE",
    "CONSOLE_CLIENT",
    "PLATFORM_ROLES",
    "REALM_MANAGEMENT_ROLES",
    "TENANT_CLAIM",
    "VENDOR_CLAIM",
    "VENDOR_CLIENT_PREFIX",
    "IdentityCredentials",
    "IdentityTenants",
    "PlatformMember",
    "new_password",
]


class IdentityTenants(PlatformRealms, PlatformMembers, TenantIdentity, ModuleScopes, VendorClients):
    """Makes each tenant's identity space in Keycloak match the spec, and keeps the
    platform's realms, members and vendor clients."""
