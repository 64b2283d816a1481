"""Signed identity headers. The code lives in ``taas.kit.signing`` (the control plane signs
contract calls with it too); this module names it for the gateway and the module SDK."""

from taas.kit.signing import (
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
    "sign",
    "signer",
    "verify_signature",
]
