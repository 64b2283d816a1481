"""The contract check's pretend tenant and its sandbox storage.

Validation calls a plugin as this tenant; a plugin that declares storage access gets
credentials for its own prefix of a sandbox bucket, only while it is being validated.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from sqlalchemy.orm import Session

from taas.integrations.spec import TenantSpec
from taas.integrations.systems import systems
from taas.kit import grants
from taas.kit.errors import Forbidden
from taas.plugins.repository import PluginVersionRepository
from taas.plugins.states import PluginStatus

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


def sandbox_credentials(session: Session, grant: grants.Grant, grant_secret: str) -> dict[str, Any]:
    """Credentials in the sandbox bucket, only for a version being validated right now."""
    validating = PluginVersionRepository(session).find(
        grant.module, grant.version, status=PluginStatus.VALIDATING
    )
    if validating is None:
        raise Forbidden(f"{grant.module} {grant.version} is not being validated")
    secret = sandbox_secret(grant_secret)
    storage = systems().storage
    storage.ensure(SANDBOX, secret)
    return storage.module_credentials(
        SANDBOX, secret, module=grant.module, write=True, duration_s=STS_MIN_DURATION_S
    )


def cut_sandbox_storage(module: str) -> list[str]:
    """End the sandbox credentials of a validation once it is over."""
    return systems().storage.cut_module_access(SANDBOX, [module])
