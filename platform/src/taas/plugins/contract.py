"""The contract check's pretend tenant, its identity headers and its sandbox storage.

Validation calls a plugin as this tenant, with the headers a gateway would sign; a plugin
that declares storage access gets a grant for its own prefix of a sandbox bucket, which
is honoured only while the version is being validated.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

from taas.integrations.spec import TenantSpec
from taas.integrations.systems import systems
from taas.kit import grants, signing
from taas.kit.settings import app_settings
from taas.plugins.contract_calls import HeadersFor
from taas.plugins.manifest import requestable_scopes
from taas.plugins.models import PluginVersion

ACTOR = "system:plugin-validator"
CONTRACT_TENANT = "taas-contract-check"
CONTRACT_TENANT_ID = str(uuid.UUID(int=0))
SANDBOX = TenantSpec(id=uuid.UUID(int=0), slug="contract-check", tier="pool", region="sandbox")
# The shortest session STS grants (MinIO refuses less, as AWS does).
STS_MIN_DURATION_S = 900


def is_sandbox(grant: grants.Grant) -> bool:
    """Whether ``grant`` was issued for the contract check's pretend tenant."""
    return uuid.UUID(grant.tenant_id).int == 0


def sandbox_secret(grant_secret: str) -> str:
    """The sandbox identity's key, derived so that no process has to store it."""
    return hmac.new(grant_secret.encode(), b"contract-check sandbox", hashlib.sha256).hexdigest()


def cut_sandbox_storage(module: str) -> list[str]:
    """End the sandbox credentials of a validation once it is over."""
    return systems().storage.cut_module_access(SANDBOX, [module])


def contract_headers(version: PluginVersion, secret: str) -> HeadersFor:
    """The identity headers a gateway would send, for a synthetic contract-check tenant
    (with a storage grant for the sandbox bucket when the plugin declares storage access)."""
    sign = signing.signer(secret)
    settings = app_settings()
    access = frozenset(version.manifest.get("data", {}).get("storage", []))
    grant = None
    if access and settings.storage_grant_secret:
        grant = grants.issue(
            settings.storage_grant_secret,
            grants.Grant(
                tenant=CONTRACT_TENANT,
                tenant_id=CONTRACT_TENANT_ID,
                module=version.name,
                version=version.version,
                access=access,
                expires_at=time.time() + settings.storage_grant_ttl_s,
            ),
        )

    def headers(method: str, path: str) -> dict[str, str]:
        extra = {signing.STORAGE_GRANT: grant} if grant else {}
        return extra | dict(
            signing.identity_headers(
                sign,
                timestamp=str(int(time.time())),
                method=method,
                path=path,
                tenant=CONTRACT_TENANT,
                tenant_id=CONTRACT_TENANT_ID,
                caller=ACTOR,
                caller_client=ACTOR,
                scopes=" ".join(requestable_scopes(version.manifest)),
                module=version.name,
                version=version.version,
                request_id=f"contract-{uuid.uuid4().hex[:16]}",
            )
        )

    return headers
