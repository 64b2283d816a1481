"""Who is calling a module: what the gateway vouched for in its signed headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from taas_sdk import signing


@dataclass(frozen=True)
class Caller:
    """The bank (tenant) and the identity behind one call, as the gateway signed them."""

    tenant: str
    tenant_id: str
    subject: str
    client: str
    scopes: frozenset[str]
    module: str
    version: str
    request_id: str
    storage_grant: str | None = None

    @classmethod
    def from_headers(cls, headers: dict[str, str]) -> Caller:
        """From lower-cased header names (call only after the signature was checked)."""
        return cls(
            tenant=headers[signing.TENANT.lower()],
            tenant_id=headers[signing.TENANT_ID.lower()],
            subject=headers[signing.CALLER.lower()],
            client=headers.get(signing.CALLER_CLIENT.lower(), ""),
            scopes=frozenset(headers[signing.SCOPES.lower()].split()),
            module=headers[signing.MODULE.lower()],
            version=headers[signing.PLUGIN_VERSION.lower()],
            request_id=headers[signing.REQUEST_ID.lower()],
            storage_grant=headers.get(signing.STORAGE_GRANT.lower()),
        )


def current_caller(request: Request) -> Caller:
    caller = getattr(request.state, "caller", None)
    if caller is None:  # only health routes skip the check, and they do not ask for a caller
        raise HTTPException(401, "not called through the TaaS gateway")
    return caller  # type: ignore[no-any-return]


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def require_scopes(*scopes: str) -> Any:
    """A route dependency: the call's token must carry every one of ``scopes`` (403
    otherwise). Use it for the module's ``operation_scopes``, which the gateway does not
    check: ``@app.put("/rules", dependencies=[require_scopes("risk.admin")])``."""
    needed = frozenset(scopes)

    def check(caller: CurrentCaller) -> None:
        missing = sorted(needed - caller.scopes)
        if missing:
            raise MissingScopes(missing)

    return Depends(check)


class MissingScopes(HTTPException):
    """403: the token lacks scopes this operation needs (answered as problem+json)."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            403,
            f"this operation needs the scope(s) {' '.join(missing)}, "
            "which the caller's token does not carry",
        )
        self.hint = f"ask for a token with scope={' '.join(missing)} (and the module's scopes)"
        self.missing_scopes = missing
