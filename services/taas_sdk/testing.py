"""Test kit: call a module as the gateway would, for a tenant you name, without a platform.

    from taas_sdk.testing import ModuleClient
    client = ModuleClient(app, tenant="bank-a", scopes=["risk.decide"])
    client.post("/decisions", json={...})             # signed like a real gateway call
    client.as_tenant("bank-b").get("/rules")           # another bank, same app and storage

Storage is in memory, one space per tenant, under the module's prefix as in production.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient

from taas_sdk import signing
from taas_sdk.caller import Caller
from taas_sdk.settings import ModuleSettings
from taas_sdk.storage import TenantStorage, _clean

TEST_SECRET = "taas-test-signing-secret"  # noqa: S105 - only for the in-process test kit


class MemoryStorage:
    """``TenantStorage`` in a dict: one per tenant, shared by the clients of one app."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.content_types: dict[str, str] = {}

    def get(self, key: str) -> bytes:
        from fastapi import HTTPException  # noqa: PLC0415 - keep the kit's imports light

        try:
            return self.objects[_clean(key)]
        except KeyError:
            raise HTTPException(404, f"no object {key!r} in the tenant's storage") from None

    def size(self, key: str) -> int:
        from fastapi import HTTPException  # noqa: PLC0415 - keep the kit's imports light

        try:
            return len(self.objects[_clean(key)])
        except KeyError:
            raise HTTPException(404, f"no object {key!r} in the tenant's storage") from None

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.objects[_clean(key)] = bytes(data)
        self.content_types[_clean(key)] = content_type

    def list(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix.lstrip("/")))

    def delete(self, key: str) -> None:
        self.objects.pop(_clean(key), None)

    def presigned_put(self, key: str, expires_s: int = 900) -> str:
        return f"memory://{_clean(key)}?op=put&expires={expires_s}"

    def presigned_get(self, key: str, expires_s: int = 900) -> str:
        return f"memory://{_clean(key)}?op=get&expires={expires_s}"


class ModuleClient(TestClient):
    """A TestClient whose requests carry gateway-signed identity headers."""

    def __init__(
        self,
        app: FastAPI,
        *,
        tenant: str = "test-bank",
        tenant_id: str | None = None,
        scopes: list[str] | None = None,
        subject: str = "test-caller",
        storages: dict[str, MemoryStorage] | None = None,
    ) -> None:
        super().__init__(app, raise_server_exceptions=False)
        self.tenant = tenant
        self.tenant_id = tenant_id or str(uuid.uuid5(uuid.NAMESPACE_DNS, tenant))
        info = app.state.module
        self.scopes = scopes if scopes is not None else [*info.scopes, *info.operation_scopes]
        self.subject = subject
        self.storages: dict[str, MemoryStorage] = storages if storages is not None else {}
        settings: ModuleSettings = app.state.settings
        if not settings.signing_secret:
            app.state.settings = ModuleSettings(signing_secret=TEST_SECRET)
        self.secret: str = app.state.settings.signing_secret
        app.state.storage_factory = self._storage_for

    def _storage_for(self, caller: Caller) -> TenantStorage:
        return self.storages.setdefault(caller.tenant_id, MemoryStorage())

    def storage(self, tenant_id: str | None = None) -> MemoryStorage:
        """The in-memory storage of a tenant (default: this client's)."""
        return self.storages.setdefault(tenant_id or self.tenant_id, MemoryStorage())

    def as_tenant(self, tenant: str, **kwargs: Any) -> ModuleClient:
        """A client for another tenant of the same app (sharing the in-memory storages)."""
        return ModuleClient(self.app, tenant=tenant, storages=self.storages, **kwargs)  # type: ignore[arg-type]

    def gateway_headers(self, method: str, url: str) -> dict[str, str]:
        info = self.app.state.module  # type: ignore[attr-defined]
        return dict(
            signing.identity_headers(
                signing.signer(self.secret),
                timestamp=str(int(time.time())),
                method=method.upper(),
                path=urlsplit(url).path or "/",
                tenant=self.tenant,
                tenant_id=self.tenant_id,
                caller=self.subject,
                caller_client=f"{self.tenant}-systems",
                scopes=" ".join(self.scopes),
                module=info.name,
                version=info.version,
                request_id=uuid.uuid4().hex,
            )
        )

    def request(  # type: ignore[override]
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> Any:
        signed = {**self.gateway_headers(method, str(url)), **(headers or {})}
        return super().request(method, url, headers=signed, **kwargs)
