"""Signed identity headers. The algorithm lives in the module SDK (``taas_sdk.signing``),
which vendors' modules verify with; the gateway and the contract check sign with it here."""

from taas_sdk.signing import (
    CALLER,
    CALLER_CLIENT,
    MODULE,
    PLUGIN_VERSION,
    REQUEST_ID,
    SCOPES,
    SIGNATURE,
    TENANT,
    TENANT_ID,
    TIMESTAMP,
    canonical_string,
    identity_headers,
    sign,
    signer,
    verify_signature,
)

__all__ = [
    "CALLER",
    "CALLER_CLIENT",
    "MODULE",
    "PLUGIN_VERSION",
    "REQUEST_ID",
    "SCOPES",
    "SIGNATURE",
    "TENANT",
    "TENANT_ID",
    "TIMESTAMP",
    "canonical_string",
    "identity_headers",
    "sign",
    "signer",
    "verify_signature",
]
