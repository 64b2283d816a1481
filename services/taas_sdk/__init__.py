"""The TaaS module SDK: what a plugin needs to run behind the TaaS gateway.

    from taas_sdk import create_app, CurrentCaller, TenantStorageDep

    app = create_app(name="risk", version="1.0.0", capability="risk", summary="...",
                     scopes=["risk.decide"], data={"storage": ["read", "write"]})

    @app.post("/decisions")
    def decide(body: Application, caller: CurrentCaller, storage: TenantStorageDep) -> Decision:
        ...  # caller.tenant, caller.tenant_id, caller.scopes; storage confined to the tenant

It never imports the control plane (``taas``): vendors install it on its own.
"""

from taas_sdk.app import create_app
from taas_sdk.caller import Caller, CurrentCaller, require_scopes
from taas_sdk.info import ModuleInfo
from taas_sdk.manifest import manifest
from taas_sdk.problems import PROBLEM_SCHEMA, problem
from taas_sdk.settings import ModuleSettings
from taas_sdk.storage import TenantStorage, TenantStorageDep

__all__ = [
    "PROBLEM_SCHEMA",
    "Caller",
    "CurrentCaller",
    "ModuleInfo",
    "ModuleSettings",
    "TenantStorage",
    "TenantStorageDep",
    "create_app",
    "manifest",
    "problem",
    "require_scopes",
]
