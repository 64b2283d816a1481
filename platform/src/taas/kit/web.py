"""Request-scoped dependencies shared by every endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.base import SecurityBase
from sqlalchemy.orm import Session

from taas.kit.auth import Principal, RealmInUse, TokenVerifier
from taas.kit.db import new_session
from taas.kit.errors import Unauthorized
from taas.kit.settings import app_settings

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="KeycloakToken",
    description="An access token from TaaS's Keycloak: a platform operator's or auditor's "
    "(the platform realm), a bank admin's (the bank's own realm, or its organization in the "
    "shared bank realm), or a vendor client's (the vendors realm, client credentials).",
)
LOGIN_HINT = "log in: taas login"


_tenant_realms: list[RealmInUse] = []


def trust_tenant_realms(realm_in_use: RealmInUse) -> None:
    """Called at start (``taas.wiring``) with the tenants domain's answer to "does a tenant
    that is not offboarded have this slug?", so that ``bank-<slug>`` may issue tokens the
    API trusts. Until then no tenant's own realm is trusted."""
    _tenant_realms[:] = [realm_in_use]


def _tenant_realm_in_use(slug: str) -> bool:
    return any(realm_in_use(slug) for realm_in_use in _tenant_realms)


@lru_cache
def verifier() -> TokenVerifier:
    return TokenVerifier(app_settings(), realm_in_use=_tenant_realm_in_use)


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
        raise Unauthorized("a bearer token is required", hint=LOGIN_HINT)
    principal = verifier().verify(credentials.credentials)
    request.state.principal = principal
    return principal


def _needs(dependant: Dependant) -> tuple[bool, bool]:
    """Whether an endpoint needs a principal, and whether it needs any bearer credential."""
    principal = bearer = False
    for sub in dependant.dependencies:
        if sub.call is current_principal:
            principal = True
        call: object = sub.call  # a security scheme is a callable instance
        if isinstance(call, SecurityBase):
            bearer = True
        sub_principal, sub_bearer = _needs(sub)
        principal, bearer = principal or sub_principal, bearer or sub_bearer
    return principal, principal or bearer


def authentication_failure(request: Request) -> Unauthorized | None:
    """Why this request is unauthenticated, if its endpoint needs credentials it lacks.

    FastAPI decodes and validates a body before it runs an endpoint's dependencies, so an
    anonymous caller with a malformed body would learn about the body (400/422) instead of
    being told to authenticate. The error handlers ask this first: authentication comes
    before anything about the request is judged.
    """
    if getattr(request.state, "principal", None) is not None:
        return None
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if not isinstance(dependant, Dependant):
        return None
    needs_principal, needs_bearer = _needs(dependant)
    if not needs_bearer:
        return None
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return Unauthorized("a bearer token is required", hint=LOGIN_HINT)
    if needs_principal:
        try:
            request.state.principal = verifier().verify(token.strip())
        except Unauthorized as exc:
            return exc
    return None


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


DbSession = Annotated[Session, Depends(db_session)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
RequestId = Annotated[str, Depends(request_id)]
IdempotencyKey = Annotated[
    str | None,
    Header(max_length=200, description="Retrying with the same key does the same thing once."),
]

Service = TypeVar("Service")
Answer = TypeVar("Answer")


def service_of(
    service: Callable[[Session, Principal, str | None], Service],
) -> Callable[[Session, Principal, str], Service]:
    """A dependency building ``service`` for this request's session, caller and request id,
    for an alias such as ``Tenants = Annotated[TenantService, Depends(service_of(...))]``:
    an endpoint then names the service alone, and commits through ``service.session``."""

    def build(session: DbSession, principal: CurrentPrincipal, request_id: RequestId) -> Service:
        return service(session, principal, request_id)

    return build


def committed(session: Session, answer: Answer) -> Answer:
    """Commit the request's work, then answer ``answer``: the request owns the transaction,
    and the outbox hands what it started to the workers once it is committed."""
    session.commit()
    return answer
