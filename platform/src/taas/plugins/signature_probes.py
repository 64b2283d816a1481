"""The signature probes: a plugin trusts only identity headers the gateway signed.

Each operation with an example (a successful one first; never one that expects 401 or
403) is sent that example again with identity headers the gateway did not sign (no
signature, a signature made with another key, and a signed set whose ``X-TaaS-Tenant``
was changed afterwards), and must refuse every one with 401 or 403.
"""

from __future__ import annotations

import secrets

import httpx

from taas.kit import signing
from taas.plugins.contract_calls import ContractCall, HeadersFor
from taas.plugins.validation_report import Check

MAX_PROBED_OPERATIONS = 10
REFUSALS = frozenset({401, 403})
# What each signature probe sends instead of the gateway's signed identity headers.
PROBES = {
    "unsigned": "without X-TaaS-Signature",
    "wrong_key": "signed with a key that is not your signing_secret",
    "tampered": "whose X-TaaS-Tenant was changed after the gateway signed it",
}


def forged_headers(genuine: dict[str, str], kind: str, method: str, path: str) -> dict[str, str]:
    """``genuine`` gateway headers turned into what the probe ``kind`` sends (see PROBES)."""
    by_name = {name.lower(): name for name in genuine}
    forged = {
        name: value
        for name, value in genuine.items()
        if name.lower() not in (signing.SIGNATURE.lower(), signing.STORAGE_GRANT.lower())
    }
    tenant = by_name.get(signing.TENANT.lower(), signing.TENANT)
    if kind == "wrong_key":
        value = {name.lower(): v for name, v in genuine.items()}.get
        canonical = signing.canonical_string(
            timestamp=value(signing.TIMESTAMP.lower(), "0"),
            method=method,
            path=path,
            tenant=value(signing.TENANT.lower(), ""),
            tenant_id=value(signing.TENANT_ID.lower(), ""),
            caller=value(signing.CALLER.lower(), ""),
            scopes=value(signing.SCOPES.lower(), ""),
            module=value(signing.MODULE.lower(), ""),
            version=value(signing.PLUGIN_VERSION.lower(), ""),
            request_id=value(signing.REQUEST_ID.lower(), ""),
        )
        forged[signing.SIGNATURE] = signing.sign(secrets.token_urlsafe(32), canonical)
    elif kind == "tampered":
        forged[signing.SIGNATURE] = genuine[by_name[signing.SIGNATURE.lower()]]
        forged[tenant] = forged.get(tenant, "") + "-other-bank"
    return forged


def probe_targets(calls: list[ContractCall], health_path: str) -> list[ContractCall]:
    """One example call per operation (not the health probe, which is open): a successful
    one if there is, else one whose signed answer is not itself a refusal (a 404 for an
    object the sandbox lacks, say), so that a refusal of the forged call tells."""
    targets: dict[str, ContractCall] = {}
    for call in sorted(calls, key=lambda call: not 200 <= call.expect_status < 300):
        if call.path != health_path and call.expect_status not in REFUSALS:
            targets.setdefault(call.operation, call)
    return list(targets.values())[:MAX_PROBED_OPERATIONS]


def run_probe(
    http: httpx.Client, base: str, call: ContractCall, kind: str, headers: HeadersFor
) -> Check:
    """Send ``call`` with forged identity headers; the plugin must refuse it."""
    name = f"signature.{kind} {call.operation}"
    method = call.method.upper()
    sent = forged_headers(headers(method, call.path), kind, method, call.path)
    body = {} if call.body is None else {"json": call.body}
    try:
        response = http.request(
            call.method, base.rstrip("/") + call.path, params=call.query, headers=sent, **body
        )
    except httpx.HTTPError as exc:
        return Check(name, False, f"no answer to a request {PROBES[kind]}: {exc!r}")
    if response.status_code in REFUSALS:
        return Check(name, True, f"refused a request {PROBES[kind]} ({response.status_code})")
    return Check(
        name,
        False,
        f"answered {response.status_code} to a request {PROBES[kind]}: the plugin must "
        "refuse (401) every call whose X-TaaS-* headers do not carry a valid gateway "
        "signature made with your signing_secret, and trust only signed headers "
        "(vendor guide, section 3)",
    )
