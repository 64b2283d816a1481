"""Storage grants: the gateway's proof that a module is serving a call of a given tenant.

A module exchanges a grant at the platform for short-lived storage credentials of that
tenant (``POST /v1/storage/credentials``). Grants are signed with a key only the platform
holds (HS256 JWT), never with the vendor's key, so a module cannot make one up for a
tenant that did not call it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from taas.kit.errors import Unauthorized

AUDIENCE = "taas-storage"
ISSUER = "taas-gateway"


@dataclass(frozen=True)
class Grant:
    tenant: str
    tenant_id: str
    module: str
    version: str
    access: frozenset[str]
    expires_at: float


def issue(secret: str, grant: Grant) -> str:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": grant.module,
        "tenant": grant.tenant,
        "tenant_id": grant.tenant_id,
        "version": grant.version,
        "access": sorted(grant.access),
        "iat": int(time.time()),
        "exp": int(grant.expires_at),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify(secret: str, token: str) -> Grant:
    """The grant in ``token``; Unauthorized when it is forged, expired or not a grant."""
    if not secret:
        raise Unauthorized("storage grants are not enabled on this platform")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "aud", "iss"]},
        )
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(
            f"invalid storage grant: {exc}", hint="use the grant of a live call"
        ) from exc
    return Grant(
        tenant=str(claims["tenant"]),
        tenant_id=str(claims["tenant_id"]),
        module=str(claims["sub"]),
        version=str(claims["version"]),
        access=frozenset(claims.get("access", [])),
        expires_at=float(claims["exp"]),
    )
