"""The SDK's app: gateway-only routes, the verified caller, storage per tenant, manifest."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from taas_sdk import (
    PROBLEM_SCHEMA,
    CurrentCaller,
    ModuleSettings,
    TenantStorageDep,
    create_app,
    manifest,
    require_scopes,
)
from taas_sdk.testing import ModuleClient

from taas.plugins.manifest import PluginManifest

SECRET = "module-test-secret"


def make_app() -> FastAPI:
    app = create_app(
        name="echo",
        version="1.2.3",
        capability="other",
        summary="Echoes the caller",
        scopes=["echo.use"],
        data={"storage": ["read", "write"], "personal_data": []},
        settings=ModuleSettings(signing_secret=SECRET),
    )

    @app.get("/whoami")
    def whoami(caller: CurrentCaller) -> dict[str, Any]:
        return {"tenant": caller.tenant, "scopes": sorted(caller.scopes), "module": caller.module}

    @app.put("/notes/{name}")
    def write(name: str, body: dict[str, str], storage: TenantStorageDep) -> dict[str, str]:
        storage.put(f"notes/{name}", body["text"].encode(), "text/plain")
        return {"stored": name}

    @app.get("/notes/{name}")
    def read(name: str, storage: TenantStorageDep) -> dict[str, str]:
        return {"text": storage.get(f"notes/{name}").decode()}

    return app


def test_calls_that_bypass_the_gateway_are_refused() -> None:
    app = make_app()
    plain = TestClient(app)
    refused = plain.get("/whoami")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert "gateway" in refused.json()["detail"]
    assert plain.get("/healthz").status_code == 200

    client = ModuleClient(app, tenant="bank-a")
    forged = client.gateway_headers("GET", "/whoami") | {"X-TaaS-Tenant": "bank-b"}
    assert plain.get("/whoami", headers=forged).status_code == 401  # tenant swapped
    wrong_path = client.gateway_headers("GET", "/notes/x")
    assert plain.get("/whoami", headers=wrong_path).status_code == 401  # replayed elsewhere
    old = client.gateway_headers("GET", "/whoami")
    old["X-TaaS-Timestamp"] = str(int(time.time()) - 3600)
    assert plain.get("/whoami", headers=old).status_code == 401  # stale


def test_a_signed_call_sees_the_verified_caller() -> None:
    client = ModuleClient(make_app(), tenant="bank-a")
    body = client.get("/whoami").json()
    assert body == {"tenant": "bank-a", "scopes": ["echo.use"], "module": "echo"}


def test_storage_is_per_tenant() -> None:
    bank_a = ModuleClient(make_app(), tenant="bank-a")
    bank_b = bank_a.as_tenant("bank-b")
    assert bank_a.put("/notes/kyc", json={"text": "only for A"}).status_code == 200
    assert bank_a.get("/notes/kyc").json() == {"text": "only for A"}
    missing = bank_b.get("/notes/kyc")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    for bad in ("../other-module/x", "", "a//b", "./a"):
        with pytest.raises(HTTPException) as refused:
            bank_a.storage().put(bad, b"x")
        assert refused.value.status_code == 422


def test_the_manifest_comes_from_the_app_and_passes_the_platform_schema() -> None:
    app = make_app()
    generated = manifest(app, url="http://127.0.0.1:9000")
    parsed = PluginManifest.model_validate(generated)
    assert parsed.name == "echo"
    assert parsed.scopes == ["echo.use"]
    assert "/whoami" in parsed.openapi["paths"]
    assert isinstance(httpx.URL(str(parsed.upstream.url)), httpx.URL)


def test_a_body_that_is_not_json_is_a_422_problem_like_any_invalid_body() -> None:
    client = ModuleClient(make_app(), tenant="bank-a")
    headers = {"Content-Type": "application/json"}
    for body in (b"\xff\xfe not utf-8", b"{not json", b'{"text": 3}'):
        answer = client.put("/notes/a", content=body, headers=headers)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["hint"]


def test_the_openapi_document_says_validation_errors_are_problems() -> None:
    document = make_app().openapi()
    answer_422 = document["paths"]["/notes/{name}"]["put"]["responses"]["422"]
    assert set(answer_422["content"]) == {"application/problem+json"}
    assert document["components"]["schemas"]["Problem"] == PROBLEM_SCHEMA


def test_operation_scopes_are_checked_by_the_route_that_needs_them() -> None:
    app = create_app(
        name="ledger",
        version="1.0.0",
        capability="other",
        summary="Reads and, for admins, edits",
        scopes=["ledger.read"],
        operation_scopes=["ledger.admin"],
        settings=ModuleSettings(signing_secret=SECRET),
    )

    @app.get("/entries")
    def entries(caller: CurrentCaller) -> dict[str, str]:
        return {"read_by": caller.subject}

    @app.delete("/entries", dependencies=[require_scopes("ledger.admin")])
    def clear() -> dict[str, bool]:
        return {"cleared": True}

    reader = ModuleClient(app, tenant="bank-a", scopes=["ledger.read"])
    assert reader.get("/entries").status_code == 200
    refused = reader.delete("/entries")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["missing_scopes"] == ["ledger.admin"]
    assert "scope=ledger.admin" in refused.json()["hint"]
    admin = ModuleClient(app, tenant="bank-a")  # by default: every scope the module declares
    assert admin.delete("/entries").json() == {"cleared": True}

    described = PluginManifest.model_validate(manifest(app, url="http://127.0.0.1:9"))
    assert (described.scopes, described.operation_scopes) == (["ledger.read"], ["ledger.admin"])
    assert described.all_scopes() == ["ledger.admin", "ledger.read"]
