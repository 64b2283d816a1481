"""Request-scoped dependencies shared by every endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from sqlalchemy.orm import Session

from taas.kit.auth import Principal, TokenVerifier
from taas.kit.db import new_session
from taas.kit.errors import Unauthorized
from taas.kit.settings import app_settings

_bearer = HTTPBearer(auto_error=False, description="An access token from TaaS's Keycloak.")


def tenant_realm_in_use(slug: str) -> bool:
    """Whether a tenant that is not offboarded has ``slug`` (so ``bank-<slug>`` may issue
    tokens the API trusts)."""
    with new_session() as session:
        found = session.execute(
            text("SELECT 1 FROM tenants WHERE slug = :slug AND status <> 'offboarded'"),
            {"slug": slug},
        ).first()
    return found is not None


@lru_cache
def verifier() -> TokenVerifier:
    return TokenVerifier(app_settings(), realm_in_use=tenant_realm_in_use)


def db_session() -> Iterator[Session]:
    """A session for one request; the endpoint commits, anything uncommitted is rolled back."""
    session = new_session()
    try:
        yield session
    finally:
        session.close()


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required", hint="log in: taas login")
    principal = verifier().verify(credentials.credentials)
    request.state.principal = principal
    return principal


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


DbSession = Annotated[Session, Depends(db_session)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
RequestId = Annotated[str, Depends(request_id)]
