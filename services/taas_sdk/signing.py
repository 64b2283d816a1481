"""Signed identity headers: how a module knows a call came through the TaaS gateway.

The gateway tells the module who is calling in ``X-TaaS-*`` headers and signs them:
``X-TaaS-Signature: v1=<hex>`` is HMAC-SHA256, keyed with the vendor's signing secret,
over the canonical string, these ten fields joined by ``\\n``:

    timestamp, method, path, tenant, tenant id, caller, scopes, module, version, request id

``timestamp`` is ``X-TaaS-Timestamp`` (unix seconds); ``path`` is the request path after
``/t/{tenant}/{module}``, starting with ``/``, percent-encoded as received, without the
query string; the other fields are the values of the headers below. Standard library only:
the module SDK verifies with this same code.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

VERSION = "v1"
TENANT = "X-TaaS-Tenant"
TENANT_ID = "X-TaaS-Tenant-Id"
CALLER = "X-TaaS-Caller"
CALLER_CLIENT = "X-TaaS-Caller-Client"
SCOPES = "X-TaaS-Scopes"
MODULE = "X-TaaS-Module"
PLUGIN_VERSION = "X-TaaS-Plugin-Version"
REQUEST_ID = "X-TaaS-Request-Id"
TIMESTAMP = "X-TaaS-Timestamp"
SIGNATURE = "X-TaaS-Signature"
# Not signed by the vendor's key: a platform-signed grant a module exchanges for storage
# credentials of the calling tenant (present when the plugin declares storage access).
STORAGE_GRANT = "X-TaaS-Storage-Grant"


def canonical_string(
    *,
    timestamp: int | str,
    method: str,
    path: str,
    tenant: str,
    tenant_id: str,
    caller: str,
    scopes: str,
    module: str,
    version: str,
    request_id: str,
) -> str:
    """The text the signature covers (fields must not contain newlines)."""
    fields = (
        str(timestamp),
        method,
        path,
        tenant,
        tenant_id,
        caller,
        scopes,
        module,
        version,
        request_id,
    )
    if any("\n" in field for field in fields):
        raise ValueError("a signed field contains a newline")
    return "\n".join(fields)


def identity_headers(
    sign: Callable[[str], str],
    *,
    timestamp: str,
    method: str,
    path: str,
    tenant: str,
    tenant_id: str,
    caller: str,
    caller_client: str,
    scopes: str,
    module: str,
    version: str,
    request_id: str,
) -> list[tuple[str, str]]:
    """The identity headers a module receives, signed with ``sign`` (see ``signer``)."""
    canonical = canonical_string(
        timestamp=timestamp,
        method=method,
        path=path,
        tenant=tenant,
        tenant_id=tenant_id,
        caller=caller,
        scopes=scopes,
        module=module,
        version=version,
        request_id=request_id,
    )
    return [
        (TENANT, tenant),
        (TENANT_ID, tenant_id),
        (CALLER, caller),
        (CALLER_CLIENT, caller_client),
        (SCOPES, scopes),
        (MODULE, module),
        (PLUGIN_VERSION, version),
        (REQUEST_ID, request_id),
        (TIMESTAMP, timestamp),
        (SIGNATURE, sign(canonical)),
    ]


def signer(secret: str) -> Callable[[str], str]:
    """A function that signs canonical strings with ``secret`` (the key is set up once)."""
    keyed = hmac.new(secret.encode(), digestmod=hashlib.sha256)

    def sign(canonical: str) -> str:
        mac = keyed.copy()
        mac.update(canonical.encode())
        return f"{VERSION}={mac.hexdigest()}"

    return sign


def sign(secret: str, canonical: str) -> str:
    """``v1=<hex>``: the signature of ``canonical`` with ``secret``."""
    return signer(secret)(canonical)


def verify_signature(
    headers: Mapping[str, str],
    secret: str,
    max_skew_s: float,
    *,
    method: str,
    path: str,
    now: float | None = None,
) -> bool:
    """True if ``headers`` carry a valid gateway signature for this request.

    ``headers`` may use any letter case; ``method`` and ``path`` are the request's own
    (``path`` relative to where the module is mounted, as the gateway signs it). The
    timestamp must be within ``max_skew_s`` seconds of ``now`` (default: the clock).
    """
    lower = {name.lower(): value for name, value in headers.items()}
    try:
        timestamp = lower[TIMESTAMP.lower()]
        received = lower[SIGNATURE.lower()]
        canonical = canonical_string(
            timestamp=timestamp,
            method=method,
            path=path,
            tenant=lower[TENANT.lower()],
            tenant_id=lower[TENANT_ID.lower()],
            caller=lower[CALLER.lower()],
            scopes=lower[SCOPES.lower()],
            module=lower[MODULE.lower()],
            version=lower[PLUGIN_VERSION.lower()],
            request_id=lower[REQUEST_ID.lower()],
        )
        age = (time.time() if now is None else now) - int(timestamp)
    except (KeyError, ValueError):
        return False
    if abs(age) > max_skew_s:
        return False
    return hmac.compare_digest(received.encode(), sign(secret, canonical).encode())
