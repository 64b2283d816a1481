"""Who is calling a module: what the gateway vouched for in its signed headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

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
